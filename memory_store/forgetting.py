"""Which facts to forget: those that faded by `now`, those due for purging, and those a query names."""

from __future__ import annotations

import re
import sqlite3

import numpy as np

from memory_store import decay as policy
from memory_store.config import DAY, DecayConfig

STOPWORDS = frozenset(
    "a an the my me i i'm im you your is are was were be been to of in on at for about and or that this "
    "everything anything all what who where when which it its do does did have has had with from".split()
)


def faded(conn: sqlite3.Connection, now: float, config: DecayConfig, user_id: int | None = None
          ) -> tuple[int, list[tuple[int, float]]]:
    """(facts checked: every fact of the user, or of the store, [(id, retention)] of the unpinned active
    facts below the dormant threshold), vectorised."""
    mine = "" if user_id is None else f" AND user_id = {int(user_id)}"
    checked = conn.execute("SELECT count(*) FROM facts WHERE 1" + mine).fetchone()[0]
    rows = conn.execute(
        "SELECT id, created_at, last_review, stability, recall_count, importance, pinned, hold_until FROM facts "
        "WHERE status = 'active' AND pinned = 0" + mine
    ).fetchall()
    if not rows:
        return checked, []
    cols = np.array(rows, dtype=np.float64)  # a NULL hold_until reads as NaN: no date to keep
    r = np.atleast_1d(policy.retention_of(
        created_at=cols[:, 1], last_review=cols[:, 2], stability=cols[:, 3], recall_count=cols[:, 4],
        importance=cols[:, 5], pinned=cols[:, 6], now=now, config=config, hold_until=cols[:, 7],
    ))
    below = np.nonzero(r < config.dormant_below)[0]
    return checked, [(int(cols[i, 0]), float(r[i])) for i in below]


def purge_cutoff(now: float, config: DecayConfig) -> float:
    """Dormant or forgotten facts whose status changed at or before this time are purged."""
    return now - config.purge_after * DAY


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text, less common function words and a possessive 's: for lexical matching."""
    return {re.sub(r"'s?$", "", w) for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in STOPWORDS} - {""}


def held_words(query: str, texts: list[str]) -> list[str]:
    """The query's content words that at least one of the texts holds, in the query's order."""
    held = set().union(*(content_words(t) for t in texts)) if texts else set()
    said = [re.sub(r"'s?$", "", w) for w in re.findall(r"[a-z0-9']+", query.lower()) if w not in STOPWORDS]
    return list(dict.fromkeys(w for w in said if w in held))


def named_by(query: str, texts: list[str], sims: np.ndarray, threshold: float, margin: float,
             by_words: bool = False) -> list[int]:
    """Positions of the texts a forget request names, by meaning or by words: the cosine is at least
    `threshold` and within `margin` of the best match; or the text holds every content word of the query;
    or, when `by_words` (the words the store holds say what the query says: "the dentist stuff" is about
    "dentist"), the text holds every one of those words and its cosine is at least `threshold - margin`."""
    if not texts:
        return []
    words, known = content_words(query), set(held_words(query, texts))
    floor = max(threshold, float(sims.max()) - margin)
    named = []
    for i, (text, sim) in enumerate(zip(texts, sims.tolist())):
        have = content_words(text)
        if sim >= floor or (words and words <= have) or (by_words and known and known <= have and sim >= threshold - margin):
            named.append(i)
    return named
