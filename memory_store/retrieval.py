"""Hybrid retrieval: the lexical and dense candidate lists fused by weighted reciprocal rank, and time windows.

Reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): a candidate's fused relevance is the sum, over
the lists that hold it, of weight / (rrf_k + rank), ranks from 1. Here it is divided by its largest
possible value (first in every list searched), so relevance lies in (0, 1] like a similarity and the
store weighs it by retention the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from memory_store.config import SearchConfig
from memory_store.errors import InvalidInput

SIGNALS = ("lexical", "dense")
MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Fused:
    """Candidates of one search: fused relevance and the signals that found each, best first."""

    relevance: dict[int, float]  # fact id -> relevance in (0, 1]
    found_by: dict[int, tuple[str, ...]]  # fact id -> the signals whose lists held it, in SIGNALS order


def fuse(lists: dict[str, list[int]], config: SearchConfig) -> Fused:
    """Fuse ranked id lists ({"lexical": [...], "dense": [...]}, best first) by weighted reciprocal rank."""
    weights = {"lexical": config.lexical_weight, "dense": config.dense_weight}
    best = sum(weights[s] for s in lists) / (config.rrf_k + 1.0)
    scores: dict[int, float] = {}
    found_by: dict[int, tuple[str, ...]] = {}
    for signal in SIGNALS:
        for rank, fact_id in enumerate(lists.get(signal, ()), start=1):
            scores[fact_id] = scores.get(fact_id, 0.0) + weights[signal] / (config.rrf_k + rank)
            found_by[fact_id] = found_by.get(fact_id, ()) + (signal,)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return Fused(relevance={i: scores[i] / best if best > 0 else 0.0 for i in order},
                 found_by={i: found_by[i] for i in order})


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
