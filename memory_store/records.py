"""The store's results: small frozen dataclasses for facts, search hits, events, explanations and stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["active", "dormant", "forgotten"]


# The key of a fact's `source` that names, by id, the older fact it tells a newer version of ("the plumber moved
# to friday" after "the plumber comes thursday"): the assistant links them when storing one, and both stay.
FOLLOWS = "follows"


@dataclass(frozen=True)
class Fact:
    """One remembered statement and its memory state. Times are timezone-aware UTC datetimes."""

    id: int
    user: str
    text: str
    created_at: datetime
    importance: float  # in [0, 1]; sets the initial stability
    pinned: bool  # pinned facts never fade
    stability: float  # days; how slowly retention falls
    last_review: datetime  # when the fact was stored or last recalled
    recall_count: int
    status: Status  # active: searchable; dormant: faded; forgotten: forgotten by the user
    status_at: datetime  # when the status last changed
    superseded_by: int | None = None  # the fact that replaced this one, if any
    source: dict[str, Any] | None = None  # provenance, e.g. {"session": "...", "turn": 3}
    reinforced: bool = False  # set on what add() returns when it reinforced this existing fact
    hold_until: datetime | None = None  # the end of the dated event's day it is about: no fading before

    @property
    def follows(self) -> int | None:
        """The older memory this one was told as a newer version of (`source[FOLLOWS]`), both kept; None: none."""
        return (self.source or {}).get(FOLLOWS)


@dataclass(frozen=True)
class Hit:
    """A search result: ranked by score = relevance * (1 - w + w * retention), where relevance is the cosine
    similarity (dense search) or the fused rank of the lexical and dense lists (hybrid, lexical)."""

    fact: Fact
    similarity: float  # cosine similarity of the query and the fact, in [-1, 1] (whichever signal found it)
    retention: float  # the fact's retention at the time of the search, in [0, 1]
    score: float
    # the signals whose candidates held it: "lexical", "dense", "context" (said right after a fact they found)
    found_by: tuple[str, ...] = ("dense",)


@dataclass(frozen=True)
class Event:
    """One entry of the append-only event log. The log never stores a fact's text: an edit's earlier text
    is kept with the fact (erased with it) and shown here as `replaced_text`."""

    id: int
    fact_id: int | None
    user: str
    kind: str  # add, reinforce, recall, decay, forget, restore, purge, erase, supersede, import, pin, edit
    at: datetime
    retention: float | None  # the fact's retention at that moment, where it applies
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
    replaced_text: str | None = None  # an edit: the text it replaced (None once the fact is erased)


@dataclass(frozen=True)
class Explanation:
    """Why a fact is where it is: retention now, stability, its history and when it will fade."""

    fact: Fact
    now: datetime
    retention: float
    fades_at: datetime | None  # when retention falls below the dormant threshold; None if never
    purge_at: datetime | None  # when a dormant or forgotten fact will be erased
    forecast: list[tuple[float, float]]  # (days from now, retention) points
    events: list[Event]
    status: Status = "active"  # the fact's status at `now`: dormant once it has faded, even before `decay`
    # writes it (fact.status is what the store holds)


@dataclass(frozen=True)
class DecayReport:
    """What one pass of forgetting did (or, in a dry run, would do)."""

    now: datetime
    dormant: list[tuple[Fact, float]]  # facts that became dormant, with their retention
    purged: list[Fact]  # facts erased after their grace period
    checked: int  # facts examined: the active ones that may fade and the inactive ones that may be purged
    dry_run: bool = False


@dataclass(frozen=True)
class UserStats:
    user: str
    active: int
    dormant: int
    forgotten: int
    index_kind: str  # "flat", "hnsw", or "none" before the first search


@dataclass(frozen=True)
class Stats:
    path: str
    embedder: str
    dim: int
    schema_version: int
    users: list[UserStats]
    events: int
    db_bytes: int
    index_bytes: int

    @property
    def facts(self) -> int:
        return sum(u.active + u.dormant + u.forgotten for u in self.users)
