"""Cued recall: a faded memory that a question clearly asks about is recalled, with a hedge, and recalling
it strengthens it.

Human memory is the model (the store's decay policy): a memory that faded out of free recall (dormant: out
of search and of "what do you know about me?") can still be brought back by a strong cue, and recalling it
strengthens it most when it was faintest (the spacing effect). When a question finds no active memory that
answers it, its nearest dormant memories (`MemoryStore.search_dormant`) are read by the same memory reader
that answers questions (or, without one, the answer finder); the one it finds answering, at least as
surely as an active memory must, is recalled (`MemoryStore.recall_dormant`: a recall, and active again)
and said with a hedge, since it is an old memory. So the assistant never says it was not told what it was
told and still holds; only a purge or a forget request erases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from memory_store import Fact, MemoryStore

from .answers import AnswerFinder
from .reading import Reader, told_order
from .text import second_person
from .wording import lower_first

HEDGE = "I think you told me a while ago that {}."


@dataclass(frozen=True)
class CuedConfig:
    candidates: int = 8  # dormant memories read against the question (the reader reads up to 8)
    min_similarity: float = 0.2  # a dormant memory less similar to the question than this is no cue
    # The reader's probability a dormant memory must reach to be recalled; None: the reader's own threshold
    # (what an active memory must reach to answer).
    reader_above: float | None = None
    finder_above: float = 0.9  # without a reader: the answer finder's probability it must reach


@dataclass(frozen=True)
class Cued:
    """A dormant memory a question brought back."""

    fact: Fact  # as it is now: active again, strengthened
    similarity: float  # to the question
    retention: float  # when the question cued it (below the dormant threshold)
    chance: float  # the reader's (or finder's) probability that it answers the question
    answer: str  # the words of it that answer ("" when the finder chose it)
    text: str  # the hedged reply


def recall_by_cue(store: MemoryStore, reader: Reader | None, answers: AnswerFinder | None, user: str, question: str,
                  vector: np.ndarray, now: datetime | None, config: CuedConfig = CuedConfig()) -> Cued | None:
    """The dormant memory `question` (embedded: `vector`) clearly asks about, recalled; None if none does."""
    hits = [h for h in store.search_dormant(vector, k=config.candidates, user=user, now=now)
            if h.similarity >= config.min_similarity]
    if not hits or (reader is None and answers is None):
        return None
    answer = ""
    if reader is not None:
        _, words = store.embed_words([question, *(h.fact.text for h in hits)])
        above = reader.threshold if config.reader_above is None else config.reader_above
        reading = reader.read(words[0], words[1:], above, ages=told_order([h.fact for h in hits]))
        if reading.chosen is None:
            return None
        chosen, chance, answer = reading.chosen, float(reading.chances[reading.chosen]), reading.answer
    else:
        chances = answers.probabilities(vector, store.vectors([h.fact.id for h in hits]))
        chosen = max(range(len(hits)), key=lambda i: chances[i])
        chance = float(chances[chosen])
        if chance < config.finder_above:
            return None
    hit = hits[chosen]
    [fact] = store.recall_dormant([hit.fact.id], now=now)
    said = lower_first(second_person(fact.text).rstrip(".!"))
    return Cued(fact, hit.similarity, hit.retention, chance, answer, HEDGE.format(said))
