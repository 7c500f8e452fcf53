"""`memchat eval convai2`: the chat model on ConvAI2's validation file, an out-of-domain probe.

Each exchange is put to the model as memchat puts a chat turn: the persona sentences as stored facts (kb
lines), the last `window` lines of the dialogue (the older ones as the carried dialogue state, for a model
that reads it), and the partner's line as the user's. Scored as on the
ConvAI2 leaderboard, with memchat's tokenizer and vocabulary:
- perplexity of the true reply, over its tokens the model can produce at all (in the vocabulary, or in
  the context to copy); the others are counted and reported apart (a word the model cannot produce
  would have probability zero, and the leaderboard's models had a vocabulary built on Persona-Chat);
- F1: unigram overlap of the greedy reply with the true one, normalised as ParlAI does (lower case, no
  punctuation, no articles);
- hits@1 of 20: the true reply ranked first among the 20 candidates by mean log-probability per token.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from assistant.batching import EncodedContext, carried_state, collate, collate_replies, encode_context, reply_tokens
from assistant.decoding import greedy
from assistant.errors import ConfigError
from assistant.generator import Generator, Memory, State
from assistant.settings import AssistantConfig
from assistant.lines import Line
from assistant.text import detokenize
from assistant.vocab import Vocab

from .convai2 import Dialogue
from .training import Progress

# Official ConvAI2 leaderboard baselines on this file: perplexity, hits@1 (of 20) %, F1 %
BASELINES = {"Seq2Seq + Attention": (35.07, 12.5, 16.82), "KV Profile Memory": (None, 55.1, 11.72)}


@dataclass(frozen=True)
class ProbeExample:
    context: EncodedContext
    label: str
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class ProbeResult:
    examples: int
    dialogues: int
    perplexity: float  # over the producible tokens of the true replies
    unproducible: float  # % of true-reply tokens outside the vocabulary and the context
    f1: float  # %
    hits_at_1: float  # % of examples (those with candidates)
    candidates: int  # per example (20 in the official file)
    seconds: float


def probe_examples(dialogues: Sequence[Dialogue], window: int, memory_tokens: int) -> list[ProbeExample]:
    out = []
    for dialogue in dialogues:
        said: list[Line] = []
        persona = [Line("kb", sentence) for sentence in dialogue.persona]
        for exchange in dialogue.exchanges:
            cut = max(0, len(said) - window)
            context = encode_context([*persona, *said[cut:], Line("user", exchange.partner)], memory_tokens, said[:cut])
            out.append(ProbeExample(context, exchange.label, exchange.candidates))
            said += [Line("user", exchange.partner), Line("bot", exchange.label)]
    return out


def run_probe(model: Generator, vocab: Vocab, dialogues: Sequence[Dialogue], *, window: int = 6,
              batch_examples: int = 8, progress: Progress | None = None,
              no_repeat: int = AssistantConfig().no_repeat) -> ProbeResult:
    """Score the model on `dialogues`; its replies decoded greedily as the chat decodes them (`no_repeat`)."""
    if window < 0 or batch_examples < 1:
        raise ConfigError(f"window must be 0 or more and batch_examples 1 or more, not {window}, {batch_examples}")
    examples = probe_examples(dialogues, window, model.config.memory_tokens)
    if not examples:
        raise ConfigError("no exchanges to score")
    model.eval()
    start = time.perf_counter()
    log_prob_sum, counted, unproducible, total_tokens = 0.0, 0, 0, 0
    f1s: list[float] = []
    hits: list[bool] = []
    chunks = [examples[i : i + batch_examples] for i in range(0, len(examples), batch_examples)]
    with torch.no_grad():
        for n, chunk in enumerate(chunks, start=1):
            batch = collate([e.context for e in chunk], vocab)
            scores, producible = reply_log_probs(model, vocab, [e.context for e in chunk], [e.label for e in chunk],
                                                 list(range(len(chunk))))
            for s, p in zip(scores, producible):
                log_prob_sum += float(s[p].sum())
                counted += int(p.sum())
                unproducible += int((~p).sum())
                total_tokens += len(p)
            carried = carried_state(model, [e.context for e in chunk], vocab)
            for e, d in zip(chunk, greedy(model, batch, vocab, carried=carried, no_repeat=no_repeat)):
                f1s.append(f1_score(detokenize(d.tokens), e.label))
            ranked = [e for e in chunk if e.candidates]
            if ranked:
                owners = [i for i, e in enumerate(ranked) for _ in e.candidates]
                replies = [c for e in ranked for c in e.candidates]
                scored, _ = reply_log_probs(model, vocab, [e.context for e in ranked], replies, owners)
                means = [float(s.mean()) for s in scored]
                at = 0
                for e in ranked:
                    mine = means[at : at + len(e.candidates)]
                    best = max(range(len(mine)), key=mine.__getitem__)
                    hits.append(e.candidates[best] == e.label)
                    at += len(e.candidates)
            if progress is not None:
                progress("ConvAI2 exchanges", n, len(chunks))
    return ProbeResult(
        examples=len(examples), dialogues=len(dialogues),
        perplexity=math.exp(-log_prob_sum / counted) if counted else float("nan"),
        unproducible=100.0 * unproducible / total_tokens if total_tokens else 0.0,
        f1=100.0 * sum(f1s) / len(f1s), hits_at_1=100.0 * sum(hits) / len(hits) if hits else float("nan"),
        candidates=max((len(e.candidates) for e in examples), default=0), seconds=time.perf_counter() - start,
    )


def reply_log_probs(model: Generator, vocab: Vocab, contexts: Sequence[EncodedContext], replies: Sequence[str],
                    owners: Sequence[int]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per reply: log P of each of its tokens (<eos> included) given its context (`contexts[owners[i]]`:
    each context is read once however many replies it has), teacher-forced; and which of those tokens
    the model can produce (in the vocabulary or copyable from the context)."""
    batch = collate(contexts, vocab)
    memory, state = model.encode(batch, carried_state(model, contexts, vocab))
    rows = torch.tensor(list(owners))
    memory = Memory(memory.keys[rows], memory.values[rows], memory.mask[rows], memory.slot_ids[rows],
                    memory.extended_size)
    state = State(state.h[rows], state.c[rows])
    tokens = [reply_tokens(r) for r in replies]
    target = collate_replies(tokens, [batch.oov[i] for i in owners], vocab)
    output, _ = model(target.inputs, state, memory)
    log_probs = output.log_probs.gather(2, target.target_ids[..., None]).squeeze(-1)  # (B, T)
    producible = target.target_ids != vocab.unk_id
    return ([log_probs[b, : len(t)] for b, t in enumerate(tokens)],
            [producible[b, : len(t)] for b, t in enumerate(tokens)])


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """ParlAI's normalisation for F1: lower case, punctuation and articles removed, spaces collapsed."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def f1_score(guess: str, answer: str) -> float:
    """Unigram F1 between two texts after `normalize_answer` (0 when either is empty)."""
    g, a = normalize_answer(guess).split(), normalize_answer(answer).split()
    common = sum((Counter(g) & Counter(a)).values())
    if not g or not a or common == 0:
        return 0.0
    precision, recall = common / len(g), common / len(a)
    return 2 * precision * recall / (precision + recall)


def probe_markdown(payload: dict) -> str:
    """results/convai2.md from the JSON payload `memchat eval convai2` writes."""
    lines = [
        "# ConvAI2 validation: an out-of-domain probe of the chat model",
        "",
        f"Model `{payload['model']}` on `{payload['file']}` ({payload['examples']:,} exchanges, "
        f"{payload['dialogues']:,} dialogues), {payload['seconds'] / 60:.1f} min. Command: `{payload['command']}`",
        "",
        "| model | perplexity | hits@1/20 % | F1 % |",
        "|---|---|---|---|",
        f"| memchat (this model) | {payload['perplexity']:.2f}* | {payload['hits_at_1']:.1f} | {payload['f1']:.2f} |",
    ]
    for name, (ppl, hits, f1) in BASELINES.items():
        lines.append(f"| {name} (leaderboard) | {'—' if ppl is None else f'{ppl:.2f}'} | {hits} | {f1} |")
    lines += [
        "",
        f"\\* over the true replies' tokens memchat can produce; {payload['unproducible']:.1f} % of them are "
        "neither in its vocabulary nor in the context, and are left out. The leaderboard's models were trained "
        "on Persona-Chat; memchat never saw this file's personas or dialogues (it is used for evaluation only; "
        "since issue 16 the chat model trains on Synthetic-Persona-Chat's test split, whose conversations were "
        "written by a language model on Persona-Chat's test personas), so this measures how its dialogue "
        "skills carry to open conversation, not a like-for-like ranking.",
        "",
    ]
    return "\n".join(lines)
