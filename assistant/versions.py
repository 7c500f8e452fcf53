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
    later = [(older, newer) for older, newer in _links(facts) if facts[newer].created_at >= facts[older].created_at]
    return max([chosen, *_reached(chosen, later)], key=lambda i: (facts[i].created_at, facts[i].id))


def linked_versions(chosen: int, facts: Sequence[Fact]) -> list[int]:
    """The others of `facts` that are versions of `facts[chosen]` by the links `Fact.follows`, either way and
    through one another (an old value, its correction, the correction's correction), in the order given."""
    links = _links(facts)
    return sorted(_reached(chosen, links + [(newer, older) for older, newer in links]))


def _links(facts: Sequence[Fact]) -> list[tuple[int, int]]:
    """(older, newer) for every link `Fact.follows` between two of `facts`, by their places."""
    index = {f.id: i for i, f in enumerate(facts)}
    return [(index[f.follows], i) for i, f in enumerate(facts) if f.follows in index]


def _reached(start: int, links: list[tuple[int, int]]) -> set[int]:
    """The places reached from `start` along `links` (from, to), itself left out."""
    found, frontier = {start}, [start]
    while frontier:
        at = frontier.pop()
        for nxt in (b for a, b in links if a == at and b not in found):
            found.add(nxt)
            frontier.append(nxt)
    return found - {start}
