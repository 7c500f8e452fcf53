"""The decay policy: retention as a pure function of a fact's memory state and `now`.

Two forgetting curves are offered (`DecayConfig.model`):

- "fsrs" (default): the power law of FSRS (Ye et al., the Free Spaced Repetition Scheduler),
  R(t, S) = (1 + F * t / S) ** -c, with t the days since the last review and S the stability in
  days. With F = 19/81 and c = 0.5, R(S) = 0.9: stability is the time to fall to 90 %.
- "actr": the ACT-R base-level activation (Anderson & Schooler 1991) in Petrov's (2006) hybrid
  approximation, which needs only the number of presentations, the age and the time since the
  last one, squashed to a probability by the logistic retrieval function.

A recall strengthens a fact (`reinforce`), more when it was close to being forgotten: the spacing
effect. Importance sets the initial stability; pinned facts never fade, and a fact about a dated event
(`hold_until`, the end of its day) keeps retention 1 until then and fades from then on. A fact whose
retention fell below `dormant_below` is dormant from that moment (`status_at`), whether or not a pass of
`MemoryStore.decay` has written it yet. The array functions accept
numpy arrays as well as floats so that one pass of forgetting over a million facts is vectorised.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from memory_store.config import DAY, DecayConfig
from memory_store.records import Fact

ArrayLike = float | np.ndarray


def initial_stability(importance: ArrayLike, config: DecayConfig) -> ArrayLike:
    """Days of stability a new fact starts with: geometric between min and max by importance."""
    low, high = math.log(config.min_stability), math.log(config.max_stability)
    return np.exp(low + (high - low) * np.clip(importance, 0.0, 1.0))


def fsrs_retention(elapsed_days: ArrayLike, stability: ArrayLike, config: DecayConfig) -> ArrayLike:
    """FSRS power-law forgetting curve R(t, S) = (1 + F t / S) ** -c, for t >= 0."""
    t = np.maximum(elapsed_days, 0.0)
    return (1.0 + config.factor * t / stability) ** -config.exponent


def actr_retention(
    age_days: ArrayLike,
    since_last_days: ArrayLike,
    presentations: ArrayLike,
    importance: ArrayLike,
    config: DecayConfig,
) -> ArrayLike:
    """ACT-R base level B (Petrov 2006, hybrid approximation) through the logistic retrieval curve."""
    d = config.actr_decay
    # A presentation less than a minute old counts as a minute old: B stays finite at t = 0.
    last = np.maximum(since_last_days, 1.0 / 1440.0)
    life = np.maximum(age_days, last + 1e-9)
    older = np.maximum(presentations - 1, 0)
    gap = life - last
    # Where the gap vanishes, the difference quotient is replaced by its limit, last**-d.
    spread = np.where(gap > 1e-4, (life ** (1 - d) - last ** (1 - d)) / ((1 - d) * gap), last**-d)
    tail = older * spread
    base = np.log(last**-d + tail) + config.actr_importance_boost * importance
    return 1.0 / (1.0 + np.exp((config.actr_tau - base) / config.actr_noise))


def retention_of(
    *,
    created_at: ArrayLike,
    last_review: ArrayLike,
    stability: ArrayLike,
    recall_count: ArrayLike,
    importance: ArrayLike,
    pinned: ArrayLike,
    now: float,
    config: DecayConfig,
    hold_until: ArrayLike = 0.0,
) -> ArrayLike:
    """Retention in [0, 1] at `now` (epoch seconds) of one fact or of arrays of facts' fields. `hold_until`
    (epoch seconds; 0 or NaN: none): retention is 1 before it, and the FSRS curve starts from it."""
    hold = np.nan_to_num(np.asarray(hold_until, dtype=np.float64), nan=0.0)
    since_last = (now - np.maximum(np.asarray(last_review), hold)) / DAY
    if config.model == "fsrs":
        r = fsrs_retention(since_last, stability, config)
    else:
        age = (now - np.asarray(created_at)) / DAY
        r = actr_retention(age, since_last, np.asarray(recall_count) + 1, importance, config)
    r = np.where(np.asarray(pinned, dtype=bool) | (now < hold), 1.0, r)
    return float(r) if np.ndim(r) == 0 else r


def retention(fact: Fact, now: datetime, config: DecayConfig) -> float:
    """The retention of `fact` at `now`: 1.0 for pinned facts, else falling with time."""
    return retention_at(
        created_at=fact.created_at.timestamp(), last_review=fact.last_review.timestamp(), stability=fact.stability,
        recall_count=fact.recall_count, importance=fact.importance, pinned=fact.pinned, now=now.timestamp(),
        config=config, hold_until=_hold(fact),
    )


def status_at(fact: Fact, now: datetime, config: DecayConfig) -> str:
    """The fact's status at `now`: an active fact whose retention has fallen below the threshold is dormant
    (faded) from that moment; written or not, every view of the store agrees on it."""
    if fact.status == "active" and retention(fact, now, config) < config.dormant_below:
        return "dormant"
    return fact.status


def _hold(fact: Fact) -> float | None:
    return None if fact.hold_until is None else fact.hold_until.timestamp()


def retention_at(
    *, created_at: float, last_review: float, stability: float, recall_count: int, importance: float,
    pinned: bool, now: float, config: DecayConfig, hold_until: float | None = None,
) -> float:
    """`retention_of` for one fact's fields (epoch seconds), in scalar arithmetic: search calls it for
    every candidate, and numpy's per-call overhead on scalars would dominate a sub-millisecond query."""
    if pinned or (hold_until is not None and now < hold_until):
        return 1.0
    since_last = max((now - max(last_review, hold_until or 0.0)) / DAY, 0.0)
    if config.model == "fsrs":
        return (1.0 + config.factor * since_last / stability) ** -config.exponent
    d = config.actr_decay
    last = max(since_last, 1.0 / 1440.0)
    life = max((now - created_at) / DAY, last + 1e-9)
    gap = life - last
    spread = (life ** (1 - d) - last ** (1 - d)) / ((1 - d) * gap) if gap > 1e-4 else last**-d
    base = math.log(last**-d + recall_count * spread) + config.actr_importance_boost * importance
    z = (config.actr_tau - base) / config.actr_noise
    return 0.0 if z > 700 else 1.0 / (1.0 + math.exp(z))


def reinforce(stability: float, retention_at_recall: float, config: DecayConfig) -> float:
    """New stability after a recall at the given retention (FSRS-style growth, spacing effect).

    S' = S * (1 + gain * S**-saturation * (exp(spacing * (1 - R)) - 1)), capped. Recalling at R = 1
    teaches nothing new; recalling when the fact was nearly gone strengthens it most.
    """
    r = min(max(retention_at_recall, 0.0), 1.0)
    growth = config.gain * stability**-config.saturation * math.expm1(config.spacing * (1.0 - r))
    return min(stability * (1.0 + growth), config.max_stability_cap)


def fades_in_days(fact: Fact, now: datetime, config: DecayConfig) -> float | None:
    """Days from `now` until retention falls below `config.dormant_below`; None if it never does.

    Zero when it is already below. FSRS has a closed form; ACT-R is solved by bisection.
    """
    if fact.pinned:
        return None
    if retention(fact, now, config) < config.dormant_below:
        return 0.0
    since_last = (now.timestamp() - max(fact.last_review.timestamp(), _hold(fact) or 0.0)) / DAY
    if config.model == "fsrs":
        theta = config.dormant_below
        total = fact.stability / config.factor * (theta ** (-1.0 / config.exponent) - 1.0)
        return max(total - since_last, 0.0)
    return _bisect_fade(fact, now, config)


def fades_at(fact: Fact, config: DecayConfig) -> float | None:
    """When (epoch seconds) the fact's retention falls below the dormant threshold if it is not recalled,
    past or future; None if it never does (pinned)."""
    if fact.pinned:
        return None
    start = max(fact.last_review.timestamp(), _hold(fact) or 0.0)
    if config.model == "fsrs":
        total = fact.stability / config.factor * (config.dormant_below ** (-1.0 / config.exponent) - 1.0)
        return start + total * DAY
    days = _bisect_fade(fact, datetime.fromtimestamp(start, fact.last_review.tzinfo), config)
    return None if days is None else start + days * DAY


def _bisect_fade(fact: Fact, now: datetime, config: DecayConfig) -> float | None:
    """Smallest day offset (to a minute) at which ACT-R retention drops below the threshold."""

    def below(days: float) -> bool:
        at = now.timestamp() + days * DAY
        return retention_of(
            created_at=fact.created_at.timestamp(),
            last_review=fact.last_review.timestamp(),
            stability=fact.stability,
            recall_count=fact.recall_count,
            importance=fact.importance,
            pinned=False,
            now=at,
            config=config,
            hold_until=_hold(fact) or 0.0,
        ) < config.dormant_below

    high = 1.0
    while not below(high):
        high *= 2.0
        if high > 1e6:
            return None
    low = 0.0
    while high - low > 1.0 / 1440.0:
        mid = (low + high) / 2.0
        low, high = (low, mid) if below(mid) else (mid, high)
    return high


def forecast(fact: Fact, now: datetime, config: DecayConfig, days: tuple[float, ...] = (0, 1, 7, 30, 90, 365)) -> list[tuple[float, float]]:
    """Retention at a few points ahead, assuming no recall in between."""
    points = []
    for d in days:
        at = now.timestamp() + d * DAY
        r = retention_at(created_at=fact.created_at.timestamp(), last_review=fact.last_review.timestamp(),
                         stability=fact.stability, recall_count=fact.recall_count, importance=fact.importance,
                         pinned=fact.pinned, now=at, config=config, hold_until=_hold(fact))
        points.append((float(d), r))
    return points
