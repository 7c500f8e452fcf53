"""`memchat eval dailydialog` and `memchat eval msc`: the chat model on real conversation it never trained on.

Each reply of a test dialogue is put to the model as a chat turn is (`chat_data.examples`: the replying
speaker is the bot, the last `window` turns the context, older ones the carried dialogue state, memories
as kb lines) and scored as `convai2_eval` scores ConvAI2:
- perplexity of the true reply over its tokens the model can produce at all (in the vocabulary or in
  the context to copy); the share it cannot produce is reported beside it;
- F1: unigram overlap of the greedy reply with the true one, normalised as ParlAI does;
- distinct-1/2 (Li et al. 2016): distinct unigrams and bigrams over all unigrams and bigrams of the
  greedy replies, all replies of the test set together (the true replies' own figures beside them).

DailyDialog test is read without memories; MSC sessions 2-3 test twice, with each speaker's persona
summary of the earlier sessions as memories and without, so the gap says what memory adds.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from assistant.batching import carried_state, collate, encode_context
from assistant.decoding import greedy
from assistant.errors import ConfigError
from assistant.generator import Generator
from assistant.settings import AssistantConfig
from assistant.text import detokenize, tokenize
from assistant.vocab import Vocab

from . import chat_data
from .convai2_eval import f1_score, reply_log_probs
from .dialog_babi import Example
from .training import Progress

# Published anchors on DailyDialog's test split. PLATO (Bao et al., ACL 2020, arXiv:1910.07931), Table 2, its
# Seq2Seq baseline, as the authors' repository (PaddlePaddle/Research, PLATO README) lists it: distinct-1/2
# 0.030 / 0.128 (BLEU-1/2 0.336 / 0.268, which memchat does not measure). No perplexity or F1 is given there.
DAILYDIALOG_BASELINES: dict[str, dict[str, float]] = {
    "Seq2Seq (PLATO, Bao et al. 2020, Table 2)": {"distinct_1": 0.030, "distinct_2": 0.128},
}


@dataclass(frozen=True)
class ReplyScores:
    examples: int
    perplexity: float  # over the producible tokens of the true replies
    unproducible: float  # % of true-reply tokens outside the vocabulary and the context
    f1: float  # %, greedy reply against the true one
    distinct_1: float  # distinct unigrams / unigrams of all greedy replies
    distinct_2: float
    reference_distinct_1: float  # the same of the true replies
    reference_distinct_2: float
    seconds: float
    samples: tuple[tuple[str, str, str], ...] = ()  # (last line of the context, true reply, greedy reply), a few


def score_replies(model: Generator, vocab: Vocab, examples: Sequence[Example], *, batch_examples: int = 32,
                  progress: Progress | None = None, description: str = "replies", samples: int = 12,
                  no_repeat: int = AssistantConfig().no_repeat) -> ReplyScores:
    """Perplexity, F1 and distinct-1/2 of the model's replies to `examples` (batched by context size),
    decoded greedily as the chat decodes (`no_repeat`)."""
    if not examples:
        raise ConfigError("no replies to score")
    if batch_examples < 1:
        raise ConfigError(f"batch_examples must be 1 or more, not {batch_examples}")
    model.eval()
    start = time.perf_counter()
    contexts = [encode_context(e.context, model.config.memory_tokens, e.history) for e in examples]
    order = sorted(range(len(examples)), key=lambda i: sum(len(w) for w in contexts[i].words))
    chunks = [order[i : i + batch_examples] for i in range(0, len(order), batch_examples)]
    log_prob_sum, counted, unproducible, total = 0.0, 0, 0, 0
    replies: list[str] = [""] * len(examples)
    with torch.no_grad():
        for n, rows in enumerate(chunks, start=1):
            chosen = [contexts[i] for i in rows]
            scores, producible = reply_log_probs(model, vocab, chosen, [examples[i].reply for i in rows],
                                                 list(range(len(rows))))
            for s, p in zip(scores, producible):
                log_prob_sum += float(s[p].sum())
                counted += int(p.sum())
                unproducible += int((~p).sum())
                total += len(p)
            decoded = greedy(model, collate(chosen, vocab), vocab, carried=carried_state(model, chosen, vocab),
                             no_repeat=no_repeat)
            for i, d in zip(rows, decoded):
                replies[i] = detokenize(d.tokens)
            if progress is not None:
                progress(description, n, len(chunks))
    truths = [e.reply for e in examples]
    d1, d2 = distinct(replies)
    r1, r2 = distinct(truths)
    step = max(1, len(examples) // samples) if samples else 0
    shown = tuple((examples[i].context[-1].text, truths[i], replies[i]) for i in range(0, len(examples), step)
                  )[:samples] if step else ()
    return ReplyScores(
        examples=len(examples), perplexity=math.exp(-log_prob_sum / counted) if counted else float("nan"),
        unproducible=100.0 * unproducible / total if total else 0.0,
        f1=100.0 * sum(f1_score(g, t) for g, t in zip(replies, truths)) / len(examples),
        distinct_1=d1, distinct_2=d2, reference_distinct_1=r1, reference_distinct_2=r2,
        seconds=time.perf_counter() - start, samples=shown,
    )


def distinct(texts: Sequence[str]) -> tuple[float, float]:
    """Distinct-1 and distinct-2 (Li et al. 2016): distinct n-grams over all n-grams of `texts` together,
    words lower-cased, punctuation left out (0 when there are none)."""
    grams: tuple[list, list] = ([], [])
    for text in texts:
        words = [w.lower() for w in tokenize(text) if any(c.isalnum() for c in w)]
        grams[0].extend(words)
        grams[1].extend(zip(words, words[1:]))
    return tuple(len(set(g)) / len(g) if g else 0.0 for g in grams)  # type: ignore[return-value]


def dailydialog_examples(data: Path, window: int, dialogues: int | None = None) -> list[Example]:
    """Every reply of DailyDialog's test dialogues (the first `dialogues` of them), without memories."""
    return chat_data.examples(chat_data.dailydialog(Path(data), "test")[:dialogues], window=window)


def msc_examples(data: Path, window: int, memories: bool, dialogues: int | None = None) -> list[Example]:
    """Every reply of MSC's session 2 and 3 test dialogues (the first `dialogues` of each session), with
    the replying speaker's persona summary of the earlier sessions as memories, or without."""
    return [e for session in (2, 3)
            for e in chat_data.examples(chat_data.msc(Path(data), session, "test")[:dialogues], window=window,
                                        memories=memories)]


def scores_json(scores: ReplyScores) -> dict:
    out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in dataclasses.asdict(scores).items()}
    out["samples"] = [{"said": s, "true": t, "model": m} for s, t, m in scores.samples]
    return out


def dailydialog_markdown(payload: dict) -> str:
    """results/dailydialog.md from the JSON payload `memchat eval dailydialog` writes."""
    s = payload["scores"]
    lines = [
        "# DailyDialog test: the chat model on everyday conversation it never trained on",
        "",
        f"Model `{payload['model']}`, {s['examples']:,} replies of {payload['dialogues']:,} test dialogues "
        f"(window {payload['window']} turns, older ones carried), {s['seconds'] / 60:.1f} min. "
        f"Command: `{payload['command']}`",
        "",
        "| model | perplexity | F1 % | distinct-1 | distinct-2 |",
        "|---|---|---|---|---|",
        f"| memchat (this model, greedy) | {s['perplexity']:.2f}* | {s['f1']:.2f} | {s['distinct_1']:.4f} | "
        f"{s['distinct_2']:.4f} |",
        f"| the true replies | — | — | {s['reference_distinct_1']:.4f} | {s['reference_distinct_2']:.4f} |",
    ]
    for name, row in DAILYDIALOG_BASELINES.items():
        lines.append(f"| {name} | {_cell(row, 'perplexity')} | {_cell(row, 'f1')} | {_cell(row, 'distinct_1')} | "
                     f"{_cell(row, 'distinct_2')} |")
    lines += ["", f"\\* over the true replies' tokens memchat can produce; {s['unproducible']:.1f} % of them are "
              "neither in its vocabulary nor in the context, and are left out.", "", *_samples(s)]
    return "\n".join(lines)


def msc_markdown(payload: dict) -> str:
    """results/msc.md from the JSON payload `memchat eval msc` writes."""
    with_memory, without = payload["with_memory"], payload["without_memory"]
    gap = with_memory["f1"] - without["f1"]
    lines = [
        "# MSC sessions 2-3 test: what the earlier sessions' memories add",
        "",
        f"Model `{payload['model']}`, {with_memory['examples']:,} replies of {payload['dialogues']:,} test "
        f"dialogues (sessions 2 and 3). With memory: the replying speaker's persona summary of the earlier "
        f"sessions as stored memories (kb lines); without: none. Command: `{payload['command']}`",
        "",
        "| memories | perplexity | F1 % | distinct-1 | distinct-2 |",
        "|---|---|---|---|---|",
    ]
    for name, s in (("persona summaries stored", with_memory), ("none", without)):
        lines.append(f"| {name} | {s['perplexity']:.2f}* | {s['f1']:.2f} | {s['distinct_1']:.4f} | {s['distinct_2']:.4f} |")
    lines += ["", f"F1 gap (with - without memory): **{gap:+.2f}** points; perplexity "
              f"{with_memory['perplexity']:.2f} with, {without['perplexity']:.2f} without.", "",
              f"\\* over the true replies' tokens memchat can produce ({with_memory['unproducible']:.1f} % / "
              f"{without['unproducible']:.1f} % are not, and are left out).", "", *_samples(with_memory)]
    return "\n".join(lines)


def _cell(row: dict[str, float], key: str) -> str:
    return "—" if key not in row else f"{row[key]:g}"


def _samples(scores: dict) -> list[str]:
    if not scores.get("samples"):
        return []
    out = ["Some replies (the line before, the true reply, memchat's):", ""]
    for s in scores["samples"]:
        out.append(f"- {s['said']!r} -> true: {s['true']!r}; memchat: {s['model']!r}")
    return [*out, ""]
