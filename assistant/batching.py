"""Dialogue contexts and replies as generator tensors: capping, match flags, out-of-vocabulary ids, padding.

A context is a sequence of `lines.Line`s (user and bot turns, knowledge-base or stored facts),
oldest first; its last lines are the newest. Encoding happens once per example (`encode_context`,
`encode_reply`); `collate` pads a batch of them into a `generator.ContextBatch`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .generator import EOS, GO, SPEAKERS, ContextBatch, Generator, State
from .lines import Line
from .text import tokenize
from .vocab import Vocab

SILENCE = "<silence>"  # the one word of an empty context, so every context has a line to read
MAX_LINE = 48  # words kept of one line
MAX_HISTORY = 64  # older lines re-read in training for the carried state (the assistant carries all of them)


@dataclass(frozen=True)
class EncodedContext:
    words: tuple[tuple[str, ...], ...]  # each kept line's tokens, oldest line first
    speakers: tuple[int, ...]  # SPEAKERS id per kept line
    flags: tuple[tuple[int, ...], ...]  # per word: 1 the user said it, 2 the bot did, 3 both
    history: EncodedContext | None = None  # older lines for the dialogue LSTM's carried state (`encode_history`)


@dataclass(frozen=True)
class TargetBatch:
    inputs: torch.Tensor  # (B, T) the decoder's input at each step: <go>, then the reply's words
    targets: torch.Tensor  # (B, T) vocabulary ids of the reply's words and <eos>; 0 = padding; OOV = <unk>
    target_ids: torch.Tensor  # (B, T) extended ids: an OOV word that is in memory gets its V + j id


def special_words() -> tuple[str, ...]:
    return (GO, EOS, SILENCE)


def vocabulary(texts: Iterable[str]) -> Vocab:
    """The generator's vocabulary: every token of `texts` plus <go>, <eos> and <silence>."""
    return Vocab.build([*special_words(), *(t for text in texts for t in tokenize(text))])


def encode_context(lines: Sequence[Line], memory_tokens: int, history: Sequence[Line] = ()) -> EncodedContext:
    """Tokenise a context, keeping its newest lines up to `memory_tokens` words in all; `history`: the
    dialogue lines before it (see `encode_history`)."""
    tokenised = [(line.speaker, tokenize(line.text)[:MAX_LINE]) for line in lines]
    tokenised = [(s, w) for s, w in tokenised if w]
    said = {"user": set(), "bot": set()}
    for speaker, words in tokenised:
        if speaker in said:
            said[speaker].update(words)
    kept, total = [], 0
    for speaker, words in reversed(tokenised):
        if kept and total + len(words) > memory_tokens:
            break
        kept.append((speaker, words))
        total += len(words)
    kept.reverse()
    if not kept:
        kept = [("user", [SILENCE])]
    flags = tuple(tuple((w in said["user"]) + 2 * (w in said["bot"]) for w in words) for _, words in kept)
    return EncodedContext(
        words=tuple(tuple(words) for _, words in kept), speakers=tuple(SPEAKERS[s] for s, _ in kept), flags=flags,
        history=encode_history(history),
    )


def encode_history(lines: Sequence[Line]) -> EncodedContext | None:
    """Dialogue lines that fell out of the window, for the dialogue LSTM's carried state (None: none).
    Each line is read on its own (its words flagged by its own speaker only), so the state after reading
    them is the same whenever it is computed: carried turn by turn, or re-read in training."""
    tokenised = [(line.speaker, tokenize(line.text)[:MAX_LINE]) for line in lines[-MAX_HISTORY:]]
    tokenised = [(s, w) for s, w in tokenised if w]
    if not tokenised:
        return None
    own = {"user": 1, "bot": 2}
    return EncodedContext(
        words=tuple(tuple(w) for _, w in tokenised), speakers=tuple(SPEAKERS[s] for s, _ in tokenised),
        flags=tuple(tuple(own.get(s, 0) for _ in w) for s, w in tokenised),
    )


def reply_tokens(text: str) -> list[str]:
    return [*tokenize(text), EOS]


def oov_words(context: EncodedContext, vocab: Vocab) -> tuple[str, ...]:
    """The context's words missing from the vocabulary, in order of first appearance: OOV word j has the
    extended id len(vocab) + j."""
    seen: dict[str, None] = {}
    for words in context.words:
        for w in words:
            if w not in vocab:
                seen.setdefault(w, None)
    return tuple(seen)


def facts(context: EncodedContext) -> list[tuple[int, tuple[str, ...], tuple[int, ...]]]:
    """The context's knowledge-base facts of three words (subject, relation, object), oldest first: (line
    index, words, flags) each, e.g. "resto_rome_cheap_thai_6stars r_rating 6"."""
    kb = SPEAKERS["kb"]
    return [(i, words, flags) for i, (words, flags, speaker) in
            enumerate(zip(context.words, context.flags, context.speakers)) if speaker == kb and len(words) == 3]


def collate(contexts: Sequence[EncodedContext], vocab: Vocab, kb_triples: bool = False) -> ContextBatch:
    """Pad B encoded contexts into one ContextBatch; `kb_triples`: also each context's 3-word KB facts
    as triples (for a generator with `GeneratorConfig.kb_triples`)."""
    V = len(vocab)
    B = len(contexts)
    N = sum(len(c.words) for c in contexts)
    L = max(len(w) for c in contexts for w in c.words)
    T = max(len(c.words) for c in contexts)
    M = max(sum(len(w) for w in c.words) for c in contexts)
    line_tokens = torch.zeros(N, L, dtype=torch.long)
    line_flags = torch.zeros(N, L, dtype=torch.long)
    line_speaker = torch.zeros(N, dtype=torch.long)
    line_age = torch.zeros(N, dtype=torch.long)
    lines = torch.zeros(B, T, dtype=torch.long)
    line_count = torch.zeros(B, dtype=torch.long)
    slot_index = torch.zeros(B, M, dtype=torch.long)
    slot_mask = torch.zeros(B, M, dtype=torch.bool)
    slot_ids = torch.zeros(B, M, dtype=torch.long)
    oov = []
    n = 0
    for b, context in enumerate(contexts):
        extra = oov_words(context, vocab)
        extended = {w: V + j for j, w in enumerate(extra)}
        oov.append(extra)
        m = 0
        count = len(context.words)
        for i, (words, flags) in enumerate(zip(context.words, context.flags)):
            ids = vocab.encode(words)
            line_tokens[n, : len(ids)] = torch.tensor(ids)
            line_flags[n, : len(ids)] = torch.tensor(flags)
            line_speaker[n] = context.speakers[i]
            line_age[n] = count - 1 - i
            lines[b, i] = n
            k = len(ids)
            slot_index[b, m : m + k] = torch.arange(n * L, n * L + k)
            slot_ids[b, m : m + k] = torch.tensor([extended.get(w, i) for w, i in zip(words, ids)])
            slot_mask[b, m : m + k] = True
            m += k
            n += 1
        line_count[b] = count
    batch = ContextBatch(
        line_tokens, line_flags, line_speaker, line_age, lines, line_count, slot_index, slot_mask, slot_ids, tuple(oov)
    )
    return _with_triples(batch, contexts, vocab) if kb_triples else batch


def _with_triples(batch: ContextBatch, contexts: Sequence[EncodedContext], vocab: Vocab) -> ContextBatch:
    """`batch` with its contexts' KB facts as triples; each fact's slot copies its subject."""
    V = len(vocab)
    found = [facts(c) for c in contexts]
    B, R = len(contexts), max((len(f) for f in found), default=0)
    tokens = torch.zeros(B, R, 3, dtype=torch.long)
    flags = torch.zeros(B, R, 3, dtype=torch.long)
    age = torch.zeros(B, R, dtype=torch.long)
    mask = torch.zeros(B, R, dtype=torch.bool)
    ids = torch.zeros(B, R, dtype=torch.long)
    for b, (context, rows) in enumerate(zip(contexts, found)):
        extended = {w: V + j for j, w in enumerate(batch.oov[b])}
        for r, (line, words, word_flags) in enumerate(rows):
            encoded = vocab.encode(words)
            tokens[b, r] = torch.tensor(encoded)
            flags[b, r] = torch.tensor(word_flags)
            age[b, r] = len(context.words) - 1 - line
            mask[b, r] = True
            ids[b, r] = extended.get(words[0], encoded[0])
    return dataclasses.replace(batch, triple_tokens=tokens, triple_flags=flags, triple_age=age, triple_mask=mask,
                               triple_ids=ids)


def carried_state(model: Generator, contexts: Sequence[EncodedContext], vocab: Vocab) -> State | None:
    """The dialogue LSTM's state over each context's history (zeros for a context without one); None
    when the model does not read history or no context has any."""
    rows = [b for b, c in enumerate(contexts) if c.history is not None]
    if not model.config.reads_history or not rows:
        return None
    read = model.carry(collate([contexts[b].history for b in rows], vocab))
    index = torch.tensor(rows)
    zeros = read.h.new_zeros(len(contexts), read.h.shape[1])
    return State(zeros.index_copy(0, index, read.h), zeros.index_copy(0, index, read.c))


def collate_replies(replies: Sequence[Sequence[str]], oov: Sequence[tuple[str, ...]], vocab: Vocab) -> TargetBatch:
    """Pad B replies (tokens ending in <eos>, from `reply_tokens`) against their contexts' OOV words
    (`ContextBatch.oov`, row by row: several replies may share one context's)."""
    V = len(vocab)
    T = max(len(r) for r in replies)
    inputs = torch.zeros(len(replies), T, dtype=torch.long)
    targets = torch.zeros(len(replies), T, dtype=torch.long)
    target_ids = torch.zeros(len(replies), T, dtype=torch.long)
    go = vocab.id(GO)
    for b, reply in enumerate(replies):
        ids = vocab.encode(reply)
        extended = {w: V + j for j, w in enumerate(oov[b])}
        inputs[b, : len(ids)] = torch.tensor([go, *ids[:-1]])
        targets[b, : len(ids)] = torch.tensor(ids)
        target_ids[b, : len(ids)] = torch.tensor([extended.get(w, i) for w, i in zip(reply, ids)])
    return TargetBatch(inputs, targets, target_ids)
