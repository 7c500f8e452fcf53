"""Understand stage of a chat turn: what a line asks of memory (the turn model; without one, the word
rules) and what it tells, with the vectors it was read with."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from memory_store import MemoryStore, Words

from .intents import Intent, classify
from .settings import AssistantConfig
from .text import as_sentence
from .turns import TELLING, Turn, TurnReader


@dataclass(frozen=True)
class Understood:
    """A line as the turn model understood it, with the vectors it was read with (so a turn embeds its
    line once)."""

    turn: Turn
    intent: Intent  # what the memory operations take from it
    vector: np.ndarray | None = None  # the line's sentence embedding
    words: Words | None = None  # its contextual word vectors


def understand(store: MemoryStore, turns: TurnReader | None, config: AssistantConfig, text: str) -> Understood:
    """What the line asks (the turn model; without one, the word rules) and what it tells."""
    if turns is None or not text:
        intent = classify(text)
        return Understood(Turn(text, intent.kind, 1.0), intent)
    vectors, words = store.embed_words([text])
    turn = turns.understand(words[0], vectors[0], config.drop_filler_above, config.split_facts_above)
    if words[0].spans and words[0].spans[-1][1] < len(text.rstrip(" .!?")):  # longer than MiniLM reads
        turn = _understand_in_parts(store, turns, config, text, turn)
    if turn.kind == "exit" and turn.confidence < config.sure_to_act:
        # not sure enough to end the chat: the model's next guess, the line as its fact
        turn = dataclasses.replace(turn, kind=turn.runner_up, facts=(turn.text,))
    return Understood(turn, intent_of(turn), vectors[0], words[0])


def _understand_in_parts(store: MemoryStore, turns: TurnReader, config: AssistantConfig, text: str,
                         first: Turn) -> Turn:
    """A line longer than the embedding model reads (256 word pieces), understood sentence by sentence:
    its kind is the first part's, its facts every part's, so nothing told at its end is lost."""
    if first.kind not in TELLING:
        return first
    parts = [p for p in re.split(r"(?<=[.!?;])\s+", text) if p.strip()]
    vectors, words = store.embed_words(parts)
    read = [turns.understand(w, v, config.drop_filler_above, config.split_facts_above) for w, v in zip(words, vectors)]
    return dataclasses.replace(first, facts=tuple(f for t in read for f in (t.facts or (t.text,))))


def intent_of(turn: Turn) -> Intent:
    """The turn as the memory operations take it: what to store, ask, or forget."""
    if turn.kind in TELLING:
        return Intent(turn.kind, " ".join(as_sentence(f) for f in turn.facts) if turn.facts else turn.text,
                      facts=tuple(as_sentence(f) for f in turn.facts))
    if turn.kind == "forget":
        return Intent("forget", turn.facts[0] if turn.facts else turn.text)
    return Intent(turn.kind, turn.text)
