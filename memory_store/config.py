"""Typed, frozen configuration of the store and of its decay policy, with documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DAY = 86_400.0  # seconds


@dataclass(frozen=True)
class DecayConfig:
    """How facts fade and how recall strengthens them. Times are in days."""

    model: Literal["fsrs", "actr"] = "fsrs"  # forgetting curve: FSRS power law, or ACT-R base level
    # FSRS power law R(t, S) = (1 + factor * t / S) ** -exponent; with these values R(S) = 0.9.
    factor: float = 19 / 81
    exponent: float = 0.5
    # Importance in [0, 1] sets the initial stability, geometrically between these bounds.
    min_stability: float = 0.5  # days, importance 0
    max_stability: float = 30.0  # days, importance 1
    # A recall multiplies stability by 1 + gain * S**-saturation * (exp(spacing * (1 - R)) - 1):
    # nothing when recalled at R = 1, more when recalled close to forgetting (the spacing effect),
    # and relatively less for facts that are already stable.
    gain: float = 2.0
    saturation: float = 0.2
    spacing: float = 1.5
    max_stability_cap: float = 36_500.0  # days: stability never grows past a century
    # ACT-R base level (Anderson & Schooler; Petrov 2006's hybrid approximation of the sum of traces):
    # B = ln(t_last**-d + (n-1) * (L**(1-d) - t_last**(1-d)) / ((1-d) * (L - t_last))) + boost * importance,
    # R = 1 / (1 + exp((tau - B) / noise)).
    actr_decay: float = 0.5
    actr_tau: float = -1.5
    actr_noise: float = 0.4
    actr_importance_boost: float = 2.0
    # Lifecycle: below this retention an unpinned fact becomes dormant (hidden, restorable) ...
    dormant_below: float = 0.5
    # ... and a dormant or soft-forgotten fact is purged (erased) after this many days.
    purge_after: float = 30.0

    def __post_init__(self) -> None:
        if self.model not in ("fsrs", "actr"):
            raise ValueError(f"decay model must be 'fsrs' or 'actr', not {self.model!r}")
        if not 0.0 < self.dormant_below < 1.0:
            raise ValueError("dormant_below must lie strictly between 0 and 1")
        if not 0.0 < self.min_stability <= self.max_stability:
            raise ValueError("need 0 < min_stability <= max_stability")


@dataclass(frozen=True)
class IndexConfig:
    """The FAISS index: exact search while a user's memory is small, HNSW once it is large."""

    hnsw_threshold: int = 10_000  # active facts of one user at which search switches to HNSW
    hnsw_m: int = 32  # graph degree
    hnsw_ef_construction: int = 40
    # efSearch: this many up to 100k facts, growing as (size / 100k) ** 0.3 beyond (128 at 1M), and never
    # fewer than the neighbours asked for. Measured in bench/bench_store.py.
    hnsw_ef_search: int = 64
    tombstone_ratio: float = 0.2  # rebuild an HNSW index once this share of its entries is removed


@dataclass(frozen=True)
class SearchConfig:
    """How `search` finds facts: by meaning (dense: MiniLM cosine over FAISS), by words (lexical: FTS5 bm25),
    or both fused by weighted reciprocal rank (hybrid). rrf_k, lexical_weight, match_scale, match_power and
    context_weight were chosen on two LoCoMo conversations (conv-26, conv-30) and checked on the other three
    (`memchat eval locomo`)."""

    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"  # the default of `search`
    # Hybrid: a fact's fused relevance is sum over signals of weight / (rrf_k + its rank in that signal's
    # list, from 1), divided by its largest possible value, so 1.0 means first in both lists. A small rrf_k
    # lets the top of each list count most (LoCoMo tuning split, R@5: 61.5 % at 5, 53.2 % at 60).
    rrf_k: float = 5.0
    dense_weight: float = 1.0
    lexical_weight: float = 2.0
    # A lexical candidate's weight is scaled by min(1, match_scale * strength) ** match_power, strength being
    # its bm25 over that of a fact holding every query word once (the sum of their IDFs): a fact that shares
    # only words most facts hold ("I", "my") barely counts, one that holds half the query's weight counts in
    # full. A dense candidate's weight is scaled by (its cosine / the best cosine) ** dense_power: a far less
    # near second counts little. Rank alone let a weakly matched word outrank meaning in a small store.
    match_scale: float = 2.0
    match_power: float = 1.0
    dense_power: float = 2.0
    # Context: the next memory of the same user, said within context_gap seconds after a candidate, gets
    # context_weight times the candidate's relevance added to its own (a question's reply, the next sentence
    # of a story); relevance is then divided by 1 + context_weight. 0 turns it off.
    context_weight: float = 0.5
    context_gap: float = 600.0
    depth: int = 50  # candidates each signal contributes to the fusion (at least k)
    # Lexical query words: a word in more than common_share of the indexed facts is left out (stop words,
    # learned from the counts), unless the store has fewer than common_min_facts facts and it is the rarest word
    # of the query; words are taken rarest first until their facts pass max_postings, so a query of common
    # words stays fast in a large store. At 0.5 nothing is lost: FTS5 gives a word in half the facts or more
    # no weight (its IDF is clamped to ~0), so it only added matches, and time (LoCoMo: the same R@5 and R@10).
    common_share: float = 0.5
    common_min_facts: int = 1_000
    max_postings: int = 50_000

    def __post_init__(self) -> None:
        if self.mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"search mode must be 'hybrid', 'dense' or 'lexical', not {self.mode!r}")
        if self.rrf_k < 0 or self.dense_weight < 0 or self.lexical_weight < 0 or self.depth < 1:
            raise ValueError("need rrf_k, dense_weight, lexical_weight >= 0 and depth >= 1")
        if self.match_scale <= 0 or self.match_power < 0 or self.dense_power < 0 or not 0 <= self.context_weight <= 1 or self.context_gap < 0:
            raise ValueError("need match_scale > 0, match_power, dense_power >= 0, 0 <= context_weight <= 1 and context_gap >= 0")


@dataclass(frozen=True)
class StoreConfig:
    """The store's behaviour. Build it at the edge (the CLI, the caller) and pass it in."""

    decay: DecayConfig = field(default_factory=DecayConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    max_text_chars: int = 2_000  # longer facts are refused, not truncated
    duplicate_threshold: float = 0.95  # cosine at or above which a new fact reinforces an old one
    # An add_many of at least bulk_rows texts checks near-duplicates in k-means cells (memory_store/cells.py),
    # each row looking into at most duplicate_probes cells, and leaves an HNSW graph to catch up when the user
    # is next searched (as a bulk load does); smaller adds search the user's index and update it at once.
    bulk_rows: int = 1_000
    duplicate_probes: int = 8
    # forget_matching takes a fact when the query names all its content words, or when its cosine is
    # at least forget_threshold and within forget_margin of the best match (short queries score low).
    forget_threshold: float = 0.45
    forget_margin: float = 0.15
    # ... or when it holds every query word the user's facts hold, if those words say what the query says:
    # a cosine of at least forget_words_cover between the query and them ("the dentist stuff" ~ "dentist"
    # 0.72, "my old bike" ~ "old" 0.41, "my car insurance" ~ "car" 0.57), and its own cosine is at least
    # forget_threshold - forget_margin.
    forget_words_cover: float = 0.7
    # Ranking: score = similarity * (1 - retention_weight + retention_weight * retention)
    retention_weight: float = 0.3
    candidates: int = 2  # search fetches k * candidates (at least k + 8) neighbours, then ranks by score
    default_importance: float = 0.5
    # A fact stored without an importance gets the shipped importance model's estimate (memory_store/
    # importance.py) when that model reads this store's embedder; False, or another embedder: the default.
    estimate_importance: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.retention_weight <= 1.0:
            raise ValueError("retention_weight must lie in [0, 1]")
        if not 0.0 < self.duplicate_threshold <= 1.0:
            raise ValueError("duplicate_threshold must lie in (0, 1]")
        if self.bulk_rows < 1 or self.duplicate_probes < 1:
            raise ValueError("bulk_rows and duplicate_probes must be at least 1")
