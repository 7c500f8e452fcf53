"""Generate stage of a chat turn: the generator writes the reply from the memories it reads, the recent
lines and the turn, copying from them; and how much of each memory the reply used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from memory_store import Hit

from .batching import collate, encode_context
from .decoding import Decoded, beam_search, greedy
from .generator import Generator, State
from .lines import Line
from .replies import Recalled
from .settings import AssistantConfig
from .text import complete_names, detokenize, names, spellings, tokenize, without_repeats
from .vocab import Vocab


@dataclass(frozen=True)
class Generated:
    """A reply as the generator decoded it."""

    decoded: Decoded
    owners: tuple[int, ...]  # for each memory slot, the index of the fact it belongs to (-1: dialogue words)
    context: tuple[Line, ...]  # the lines it read: the facts (kb), the recent lines, the turn


def generate(model: Generator, vocab: Vocab, config: AssistantConfig, hits: Sequence[Hit], lines: Sequence[Line],
             carried: State | None, text: str) -> Generated:
    """The reply from the facts (kb lines), the recent lines and this turn, with the dialogue LSTM's
    `carried` state over the lines that left the window."""
    context = [Line("kb", h.fact.text) for h in hits] + list(lines) + [Line("user", text)]
    encoded = encode_context(context, model.config.memory_tokens)
    batch = collate([encoded], vocab)
    with torch.no_grad():
        decoded = (greedy(model, batch, vocab, carried=carried, no_repeat=config.no_repeat)[0] if config.beam <= 1
                   else beam_search(model, batch, vocab, beam=config.beam, carried=carried))
    kept = len(encoded.words)
    first = len(context) - kept  # lines dropped from the front for length
    owners = [i + first if i + first < len(hits) else -1 for i, words in enumerate(encoded.words) for _ in words]
    return Generated(decoded, tuple(owners), tuple(context))


def worded(generated: Generated, hits: Sequence[Hit], lines: Sequence[Line], text: str) -> str:
    """The reply's text: its tokens with the names of the facts completed, no words repeated from them or
    from the turn, spelled as the facts, the recent lines and the turn spell them."""
    spelled = spellings([*(h.fact.text for h in hits), *(line.text for line in lines), text])
    tokens = without_repeats(complete_names(generated.decoded.tokens, [n for h in hits for n in names(h.fact.text)]),
                             [*(h.fact.text for h in hits), text])
    return detokenize(tokens, spelled, capitalize=True)


def recalled(config: AssistantConfig, hits: Sequence[Hit], generated: Generated,
             probability: Mapping[int, float]) -> list[Recalled]:
    """Each fact the reply read, with the copy-pointer attention its words got and whether the reply used
    it (attention at `used_attention`, or a word copied from it that the turn did not say)."""
    decoded, owners = generated.decoded, generated.owners
    pointer = decoded.pointer[:, : len(owners)]  # (steps, M) without the sentinel
    owner = torch.tensor(owners)
    reply_words = set(decoded.tokens)
    asked = set(tokenize(generated.context[-1].text))
    out = []
    for i, hit in enumerate(hits):
        mass = pointer[:, owner == i].sum(dim=1)  # (steps,)
        attention = float(mass.max()) if mass.numel() else 0.0
        copied = {w for w in tokenize(hit.fact.text) if w.isalnum() and len(w) > 2} & reply_words - asked
        used = attention >= config.used_attention or bool(copied)
        out.append(Recalled(hit.fact, hit.similarity, hit.retention, attention, used, probability.get(hit.fact.id),
                            hit.found_by))
    return out
