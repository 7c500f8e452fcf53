"""Versions of one memory: a statement stored as a newer version of an older memory (`Fact.follows`, linked by
`assistant/remembering.py` when the reader reads it as news on that memory), both kept. The newest answers
what they answer (`assistant/answering.py`), and a forget request that names one takes all
(`assistant/forgetting.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from memory_store import Fact


def newest_version(chosen: int, facts: Sequence[Fact]) -> int:
    """Of `facts`, the newest told as a newer version of `facts[chosen]` (`Fact.follows`, through the others
    too: the link the reader found when it was stored), or `chosen` itself when none is."""
    index = {f.id: i for i, f in enumerate(facts)}
    newer: dict[int, list[int]] = {}
    for i, f in enumerate(facts):
        older = f.follows
        if older in index and f.created_at >= facts[index[older]].created_at:
            newer.setdefault(index[older], []).append(i)
    seen, frontier, best = {chosen}, [chosen], chosen
    while frontier:
        for i in newer.get(frontier.pop(), []):
            if i not in seen:
                seen.add(i)
                frontier.append(i)
                best = max(best, i, key=lambda j: (facts[j].created_at, facts[j].id))
    return best


def linked_versions(chosen: int, facts: Sequence[Fact]) -> list[int]:
    """The others of `facts` that are versions of `facts[chosen]` by the links `Fact.follows`, either way and
    through one another (an old value, its correction, the correction's correction), in the order given."""
    index = {f.id: i for i, f in enumerate(facts)}
    links = [(i, index[f.follows]) for i, f in enumerate(facts) if f.follows in index]
    found, frontier = {chosen}, [chosen]
    while frontier:
        at = frontier.pop()
        for other in [b for a, b in links if a == at] + [a for a, b in links if b == at]:
            if other not in found:
                found.add(other)
                frontier.append(other)
    return sorted(found - {chosen})
