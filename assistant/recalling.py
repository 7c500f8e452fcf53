"""Recall stage of a chat turn: the ONE read of long-term memory (hybrid search, rows with their
history), with the query as meant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from memory_store import Hit, MemoryStore

from .answers import AnswerFinder
from .kin import may_name_someone, names_given, with_kin
from .reading import Reader
from .settings import AssistantConfig


@dataclass(frozen=True)
class Recall:
    """What a turn read of long-term memory."""

    query: str  # the turn's words as meant ("Ana moved." -> "My sister Ana moved.")
    vector: np.ndarray  # its embedding
    nearest: tuple[Hit, ...]  # its nearest facts, by words and meaning


def update_reach(config: AssistantConfig, answers: AnswerFinder | None) -> int:
    """How many of a statement's nearest facts are weighed for being updated by it."""
    finder = config.same_relation_candidates if answers is not None else 0
    return max(config.update_candidates, finder)


def recall(store: MemoryStore, config: AssistantConfig, user: str, reader: Reader | None,
           answers: AnswerFinder | None, query: str, now: datetime | None, vector: np.ndarray | None = None
           ) -> Recall:
    """The turn's read of long-term memory: the query as meant, its embedding and its nearest facts. A
    relative named by name alone gets the kin word the nearest facts give that name ("Ana moved." ->
    "My sister Ana moved."), and memory is read again for that. `vector`: the query's embedding, when
    already made."""
    k = max(config.memory_k, config.reader_k if reader is not None else 0, update_reach(config, answers))
    vector = store.embed_query(query) if vector is None else vector
    nearest = store.search(query, k=k, user=user, now=now, vector=vector)  # words and meaning
    facts = [h.fact.text for h in nearest]
    resolved = with_kin(query, names_given(facts))
    if resolved == query and may_name_someone(query):  # a name an update left behind?
        older = store.replaced([h.fact.id for h in nearest])
        pairs = [(h.fact.text, old.text) for h in nearest for o in older[h.fact.id]
                 if (old := store.get(o)).status != "forgotten"]  # a forgotten name stays forgotten
        resolved = with_kin(query, names_given(facts, pairs)) if pairs else query
    if resolved == query:
        return Recall(query, vector, tuple(nearest))
    vector = store.embed_query(resolved)
    return Recall(resolved, vector, tuple(store.search(resolved, k=k, user=user, now=now, vector=vector)))
