"""Hybrid retrieval: the lexical and dense candidate lists fused by weighted reciprocal rank, and time windows.

Reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): a candidate's fused relevance is the sum, over
the lists that hold it, of weight / (rrf_k + rank), ranks from 1. A lexical candidate's weight is scaled by
how strongly its words match (`match_weight`): rank alone would let a fact that shares only a word most
facts hold ("I") outrank the nearest in meaning. The sum is divided by its largest possible value (first in
every list searched), so relevance lies in (0, 1] like a similarity and the store weighs it by retention
the same way.

Context: a memory said right after a relevant one, in the same conversation, is often what answers
(a question, then its reply; a sentence, then the next). `add_context` adds part of a memory's relevance
to the one that follows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from memory_store.config import SearchConfig
from memory_store.errors import InvalidInput

SIGNALS = ("lexical", "dense", "context")
MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Fused:
    """Candidates of one search: fused relevance and the signals that found each, best first."""

    relevance: dict[int, float]  # fact id -> relevance in (0, 1]
    found_by: dict[int, tuple[str, ...]]  # fact id -> the signals whose lists held it, in SIGNALS order


def fuse(lists: dict[str, list[int]], config: SearchConfig, strength: dict[int, float] | None = None,
         similarity: dict[int, float] | None = None) -> Fused:
    """Fuse ranked id lists ({"lexical": [...], "dense": [...]}, best first) by weighted reciprocal rank.
    `strength`: each lexical candidate's match strength (`LexicalIndex.search`); `similarity`: each dense
    candidate's cosine. Either missing: ranks alone count."""
    weights = {"lexical": config.lexical_weight, "dense": config.dense_weight}
    best = sum(weights[s] for s in lists) / (config.rrf_k + 1.0)
    scale = {"lexical": match_weights(strength or {}, config), "dense": closeness(similarity or {}, config)}
    scores: dict[int, float] = {}
    found_by: dict[int, tuple[str, ...]] = {}
    for signal in SIGNALS:
        for rank, fact_id in enumerate(lists.get(signal, ()), start=1):
            w = weights[signal] * scale[signal].get(fact_id, 1.0)
            scores[fact_id] = scores.get(fact_id, 0.0) + w / (config.rrf_k + rank)
            found_by[fact_id] = found_by.get(fact_id, ()) + (signal,)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return Fused(relevance={i: scores[i] / best if best > 0 else 0.0 for i in order},
                 found_by={i: found_by[i] for i in order})


def match_weights(strength: dict[int, float], config: SearchConfig) -> dict[int, float]:
    """How much each lexical candidate's rank counts, in [0, 1]: min(1, match_scale * strength) ** match_power."""
    return {i: min(1.0, config.match_scale * max(s, 0.0)) ** config.match_power for i, s in strength.items()}


def closeness(similarity: dict[int, float], config: SearchConfig) -> dict[int, float]:
    """How much each dense candidate's rank counts, in [0, 1]: (its cosine / the best cosine) ** dense_power,
    so that the second nearest counts little when it is far less near than the first."""
    top = max(similarity.values(), default=0.0)
    if top <= 0:
        return {}
    return {i: (max(s, 0.0) / top) ** config.dense_power for i, s in similarity.items()}


def add_context(fused: Fused, follower: dict[int, int], weight: float) -> Fused:
    """Add `weight` times each candidate's relevance to the memory said right after it (`follower`: candidate
    id -> the next memory's id), which is also found by "context" when that adds more than its own relevance;
    relevance is divided by 1 + weight, its largest possible value now, so it stays in (0, 1]."""
    relevance = dict(fused.relevance)
    found_by = dict(fused.found_by)
    for fact_id, rel in fused.relevance.items():
        nxt = follower.get(fact_id)
        if nxt is None or rel <= 0:
            continue
        relevance[nxt] = relevance.get(nxt, 0.0) + weight * rel
        if weight * rel > fused.relevance.get(nxt, 0.0):  # found by context: it gave more than the other signals
            found_by[nxt] = found_by.get(nxt, ()) + ("context",)
    order = sorted(relevance, key=lambda i: (-relevance[i], i))
    return Fused(relevance={i: relevance[i] / (1.0 + weight) for i in order}, found_by={i: found_by[i] for i in order})


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise InvalidInput(f"search mode must be one of {', '.join(MODES)}, not {mode!r}")
    return str(mode)


def time_window(since: datetime | None, until: datetime | None) -> tuple[float, float] | None:
    """(from, to) in epoch seconds for facts said between `since` and `until` (either may be None), or None
    when neither is given. Both must be timezone-aware; `since` after `until` is refused."""
    if since is None and until is None:
        return None
    for name, value in (("since", since), ("until", until)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise InvalidInput(f"`{name}` must be a timezone-aware datetime (e.g. datetime(2026, 1, 1, tzinfo=timezone.utc))")
    start = since.timestamp() if since is not None else float("-inf")
    end = until.timestamp() if until is not None else float("inf")
    if start > end:
        raise InvalidInput(f"`since` ({since.isoformat()}) is after `until` ({until.isoformat()})")
    return start, end
