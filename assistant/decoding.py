"""Writing a reply with the generator: greedy decoding for batches, beam search for one context.

Both decode over the extended vocabulary, so a word copied from memory comes out as itself even when
the vocabulary has never seen it; <unk>, padding and <go> are never emitted. A reply ends at <eos> or
after `max_len` words. Greedy decoding can also refuse to say any n-gram twice in one reply (`no_repeat`:
the trigram avoidance of Paulus, Xiong & Socher 2018, section 2.5, which ParlAI's dialogue models use as
beam_block_ngram), which ends the loops a small model falls into ("I don't know. I know. I don't know.").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .generator import EOS, GO, ContextBatch, Generator, Memory, State
from .vocab import Vocab


@dataclass(frozen=True)
class Decoded:
    tokens: tuple[str, ...]  # the reply's words, without <eos>
    pointer: torch.Tensor  # (steps, M+1) the copy pointer at each step over the slots and the sentinel
    log_prob: float  # of the whole reply under the model, <eos> included


def _blocked(vocab: Vocab) -> list[int]:
    return [vocab.pad_id, vocab.unk_id, vocab.id(GO)]


def _word(vocab: Vocab, oov: tuple[str, ...], index: int) -> str:
    return vocab.words[index] if index < len(vocab) else oov[index - len(vocab)]


def _repeats(ids: list[int], n: int) -> list[int]:
    """The words that would complete an n-gram `ids` already holds (none while it is shorter than n - 1)."""
    if n < 1 or len(ids) < n - 1:
        return []
    last = ids[len(ids) - n + 1:] if n > 1 else []
    return [ids[i + n - 1] for i in range(len(ids) - n + 1) if ids[i : i + n - 1] == last]


@torch.no_grad()
def greedy(model: Generator, batch: ContextBatch, vocab: Vocab, max_len: int | None = None,
           carried: State | None = None, no_repeat: int = 0) -> list[Decoded]:
    """The most likely word at each step, for every context of the batch at once (`carried`: see
    `Generator.encode`); with `no_repeat` n > 0, never a word that would say an n-gram of the reply again."""
    model.eval()
    max_len = max_len or model.config.max_reply
    memory, state = model.encode(batch, carried)
    B, V, eos = batch.slot_index.shape[0], len(vocab), vocab.id(EOS)
    inputs = torch.full((B, 1), vocab.id(GO), dtype=torch.long)
    chosen, pointers, scores = [], [], torch.zeros(B)
    done = torch.zeros(B, dtype=torch.bool)
    for _ in range(max_len):
        output, state = model(inputs, state, memory)
        log_probs = output.log_probs[:, 0]
        log_probs[:, _blocked(vocab)] = torch.finfo(log_probs.dtype).min
        if no_repeat and chosen:
            said = torch.stack(chosen, 1).tolist()  # (B, steps so far)
            for b in range(B):
                log_probs[b, _repeats(said[b], no_repeat)] = torch.finfo(log_probs.dtype).min
        best, index = log_probs.max(dim=-1)  # (B,)
        scores += torch.where(done, 0.0, best)
        chosen.append(index)
        pointers.append(output.pointer[:, 0])
        done |= index == eos
        if done.all():
            break
        inputs = torch.where(index < V, index, vocab.unk_id)[:, None]
    ids = torch.stack(chosen, 1).tolist()  # (B, steps)
    pointer = torch.stack(pointers, 1)  # (B, steps, M+1)
    out = []
    for b in range(B):
        length = ids[b].index(eos) if eos in ids[b] else len(ids[b])
        words = tuple(_word(vocab, batch.oov[b], i) for i in ids[b][:length])
        out.append(Decoded(words, pointer[b, : length + 1], float(scores[b])))
    return out


@dataclass
class _Hypothesis:
    ids: list[int]
    log_prob: float
    state: State
    pointers: list[torch.Tensor]


def _select(memory: Memory, rows: list[int]) -> Memory:
    return Memory(memory.keys[rows], memory.values[rows], memory.mask[rows], memory.slot_ids[rows], memory.extended_size)


@torch.no_grad()
def beam_search(
    model: Generator, batch: ContextBatch, vocab: Vocab, beam: int = 4, max_len: int | None = None, alpha: float = 0.0,
    carried: State | None = None,
) -> Decoded:
    """The best reply for the batch's single context by beam search; hypotheses are ranked by
    log P / length**alpha (alpha 0: plain log-probability). beam=1 is greedy decoding."""
    if batch.slot_index.shape[0] != 1:
        raise ValueError("beam_search decodes one context at a time")
    model.eval()
    max_len = max_len or model.config.max_reply
    memory, start = model.encode(batch, carried)
    V, eos = len(vocab), vocab.id(EOS)
    live = [_Hypothesis([], 0.0, start, [])]
    finished: list[_Hypothesis] = []
    for _ in range(max_len):
        rows = [0] * len(live)
        state = State(*(torch.cat([getattr(h.state, f) for h in live]) for f in ("h", "c")))
        last = [h.ids[-1] if h.ids else vocab.id(GO) for h in live]
        inputs = torch.tensor([[i if i < V else vocab.unk_id] for i in last])
        output, state = model(inputs, state, _select(memory, rows))
        log_probs = output.log_probs[:, 0]
        log_probs[:, _blocked(vocab)] = torch.finfo(log_probs.dtype).min
        totals = torch.tensor([h.log_prob for h in live])[:, None] + log_probs  # (H, V_ext)
        top, flat = totals.flatten().topk(min(beam, totals.numel()))
        candidates = []
        for score, index in zip(top.tolist(), flat.tolist()):
            parent, word = divmod(index, totals.shape[1])
            step = State(state.h[parent : parent + 1], state.c[parent : parent + 1])
            hyp = _Hypothesis(live[parent].ids + [word], score, step, live[parent].pointers + [output.pointer[parent, 0]])
            (finished if word == eos else candidates).append(hyp)
        live = candidates
        if not live or len(finished) >= beam:
            break
    pool = finished or live

    def rank(h: _Hypothesis) -> float:
        return h.log_prob / (len(h.ids) ** alpha if alpha else 1.0)

    best = max(pool, key=rank)
    ids = best.ids[:-1] if best.ids and best.ids[-1] == eos else best.ids
    return Decoded(tuple(_word(vocab, batch.oov[0], i) for i in ids), torch.stack(best.pointers), best.log_prob)
