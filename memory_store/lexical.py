"""The lexical index: SQLite FTS5 over the facts' texts (bm25 ranking, porter stemming), in the store's own file.

It is derived data, like the FAISS index: it is written in the same transaction as the facts (new facts by
`index_new`, one statement for a whole batch, which the store's only insert path calls; edits and deletions
by triggers on `facts`), and it is built from the facts table when it is missing (a store from before it
existed), and rebuilt when it is found stale or corrupt. It is not a numbered migration for that reason: nothing in
it is a source of truth. Its format version is kept in `meta` (`lexical_index`).

A user's text is never FTS syntax: a query is cut into words here, and each word goes to FTS5 as a
quoted string, so quotes, `*`, `NEAR`, `-`, parentheses, `AND`/`OR` are words or nothing.
Words that most facts contain (learned from the index's own counts, not from a list) are left out of
the query: they barely move bm25 and they make a search read most of the index.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from contextlib import AbstractContextManager
from typing import Callable

import sqlite_utils

from memory_store.config import SearchConfig
from memory_store.rows import json_ids

log = logging.getLogger(__name__)

FORMAT = "fts5-porter-2"  # bump to rebuild every lexical index (a new tokenizer, say); 2: no insert trigger
TOKENIZER = "porter unicode61 remove_diacritics 2"
BUILD_CHUNK = 20_000  # facts read and indexed at a time while building
MAX_QUERY_WORDS = 64  # words of a query looked up (a query is at most a few thousand characters)
COMMON_FROM, COMMON_DRIFT = 10_000, 0.01  # word counts kept between searches (see `_counts`)
CANDIDATES = 4  # a search first reads this many times the matches asked for, best first, from the whole index
_WORD = re.compile(r"\w+")

SCHEMA = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts USING fts5(text, content = 'facts', content_rowid = 'id', "
    f"tokenize = '{TOKENIZER}')",
    # New facts are indexed by `index_new`, a batch per statement: a trigger per row was 6 times slower.
    "DROP TRIGGER IF EXISTS facts_fts_insert",
    "CREATE TRIGGER IF NOT EXISTS facts_fts_delete AFTER DELETE ON facts BEGIN "
    "INSERT INTO facts_fts (facts_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS facts_fts_update AFTER UPDATE OF text ON facts BEGIN "
    "INSERT INTO facts_fts (facts_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO facts_fts (rowid, text) VALUES (new.id, new.text); END",
    "CREATE INDEX IF NOT EXISTS facts_user_created ON facts (user_id, created_at)",  # search limited by time
]
# Per connection: a scratch FTS5 table that stems a query's words exactly as the index does, and views
# of both tables' term counts.
SCRATCH = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(word, tokenize = '{TOKENIZER}')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5vocab(temp, query_words, 'instance')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fact_terms USING fts5vocab(main, facts_fts, 'row')",
]

Progress = Callable[[int, int], None]  # (facts done, total)
Window = tuple[float, float]  # created_at from, to (epoch seconds, inclusive)


def words(text: str) -> list[str]:
    """The distinct lower-cased words of a text, in order (the only part of a query FTS5 ever sees)."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:MAX_QUERY_WORDS]


def fts_string(word: str) -> str:
    """A word as an FTS5 string: quoted, so that it is never an operator (no `"` can occur in a word)."""
    return '"' + word.replace('"', '""') + '"'


class LexicalIndex:
    """The FTS5 index over one database's facts: built, checked, searched and scrubbed after erasures."""

    def __init__(self, db: sqlite_utils.Database, config: SearchConfig,
                 transaction: Callable[[], AbstractContextManager[None]]):
        self.db, self.config, self.transaction = db, config, transaction
        self._checked = False  # compared with the facts table in this process
        self._common: dict[str, int] = {}  # stem -> facts holding it, for words held by COMMON_FROM facts or more
        self._common_total = 0  # facts in the index when those counts were read

    # -- building and checking --------------------------------------------------------------------
    def ready(self) -> bool:
        """True when the index exists and was filled by this format (a store from before it: False)."""
        row = self.db.conn.execute("SELECT value FROM meta WHERE key = 'lexical_index'").fetchone()
        exists = self.db.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'facts_fts'").fetchone()
        return bool(exists) and row is not None and row[0] == FORMAT

    def pending(self) -> int:
        """How many facts `build` would index: all of them when the index is not ready, else 0."""
        return 0 if self.ready() else self.db.conn.execute("SELECT count(*) FROM facts").fetchone()[0]

    def build(self, progress: Progress | None = None) -> int:
        """(Re)build the index from the facts table in one transaction; returns how many facts it holds."""
        conn = self.db.conn
        with self.transaction():
            for statement in SCHEMA:
                conn.execute(statement)
            total = conn.execute("SELECT count(*) FROM facts").fetchone()[0]
            conn.execute("INSERT INTO facts_fts (facts_fts) VALUES ('delete-all')")
            done, last = 0, 0
            while True:
                cur = conn.execute(
                    "INSERT INTO facts_fts (rowid, text) SELECT id, text FROM facts WHERE id > ? ORDER BY id LIMIT ?",
                    (last, BUILD_CHUNK))
                if cur.rowcount <= 0:
                    break
                done += cur.rowcount
                last = conn.execute("SELECT max(rowid) FROM facts_fts_docsize").fetchone()[0]
                if progress is not None:
                    progress(min(done, total), total)
            conn.execute("INSERT INTO facts_fts (facts_fts) VALUES ('optimize')")
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lexical_index', ?)", (FORMAT,))
        self._checked = True
        log.info("built the lexical index over %d facts", done)
        return done

    def ensure(self, progress: Progress | None = None) -> None:
        """Build the index if it is missing or of another format (once, for a store from before it)."""
        if not self.ready():
            self.build(progress)

    def check(self) -> None:
        """Compare the index with the facts table (once per process); rebuild it when it is stale."""
        if self._checked:
            return
        conn = self.db.conn
        facts = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM facts").fetchone()
        indexed = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM facts_fts_docsize").fetchone()
        if tuple(facts) != tuple(indexed):
            log.warning("the lexical index is stale (%d facts, %d indexed); rebuilding it from the facts table",
                        facts[0], indexed[0])
            self.build()
        elif facts[0] and not self._finds_its_own():
            log.warning("the lexical index does not find facts by their own words (damaged); rebuilding it from "
                        "the facts table")
            self.build()
        self._checked = True

    def _finds_its_own(self) -> bool:
        """Whether the first, middle and last facts are found by a word of their own text: counts alone
        miss an index whose data blocks were overwritten (it then answers nothing, or raises)."""
        conn = self.db.conn
        probes = conn.execute(
            "SELECT id, text FROM facts WHERE id IN ((SELECT min(id) FROM facts), (SELECT max(id) FROM facts), "
            "(SELECT id FROM facts ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM facts)))").fetchall()
        try:
            for fact_id, text in probes:
                words = [w for w in re.findall(r"\w+", text) if len(w) >= 3] or re.findall(r"\w+", text)
                if not words:
                    continue
                word = max(words, key=len)
                if conn.execute("SELECT 1 FROM facts_fts WHERE facts_fts MATCH ? AND rowid = ?",
                                (fts_string(word), fact_id)).fetchone() is None:
                    return False
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise
            return False
        return True

    # -- searching --------------------------------------------------------------------------------
    def search(self, user_id: int, text: str, n: int, window: Window | None = None) -> list[tuple[int, float]]:
        """The user's n best active facts for `text` by bm25, best first: [(fact id, strength)], strength being
        the fact's bm25 over that of a full match (`full_match`): about 1 for a fact of average length that
        holds every query word once, near 0 for one that shares only words most facts hold."""
        try:
            self.check()
            return self._search(user_id, text, n, window)
        except sqlite3.DatabaseError as e:  # a damaged index: rebuild it from the facts, then ask again
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise
            log.warning("the lexical index could not be read (%s); rebuilding it from the facts table", e)
            self.build()
            return self._search(user_id, text, n, window)

    def _search(self, user_id: int, text: str, n: int, window: Window | None) -> list[tuple[int, float]]:
        """The best matches of the whole index first (FTS5 alone, no row read), then those of this user that
        are active and in the window, in that order: the first n of them are the user's n best. Widened
        fourfold until n are found or every match was read (a user with few of the store's matches)."""
        chosen = self._chosen(text)
        if not chosen:
            return []
        full = full_match([count for _, count in chosen], self._total())
        match = " OR ".join(fts_string(w) for w, _ in chosen)
        since, until = window if window is not None else (float("-inf"), float("inf"))
        conn = self.db.conn
        limit = n * CANDIDATES
        while True:
            # rank is bm25(), negative, lower is better
            rows = conn.execute("SELECT rowid, rank FROM facts_fts WHERE facts_fts MATCH ? ORDER BY rank LIMIT ?",
                                (match, limit)).fetchall()
            mine = {r[0] for r in conn.execute(
                "SELECT id FROM facts NOT INDEXED WHERE id IN (SELECT value FROM json_each(?)) AND user_id = ? AND status = 'active' "
                "AND created_at BETWEEN ? AND ?",
                (json_ids(r[0] for r in rows), user_id, max(since, -1e300), min(until, 1e300)))}
            found = [(int(i), -float(rank) / full) for i, rank in rows if i in mine]
            if len(found) >= n or len(rows) < limit:
                return found[:n]
            limit *= 4

    def query_words(self, text: str) -> list[str]:
        """The words of `text` that go into the FTS5 query: those in at most `config.common_share` of the
        indexed facts (counted over all users, after stemming), rarest first, until their facts together pass
        `config.max_postings`; the rarest word is kept even alone."""
        return [w for w, _ in self._chosen(text)]

    def _chosen(self, text: str) -> list[tuple[str, int]]:
        """`query_words` with how many indexed facts hold each word."""
        found = words(text)
        if not found:
            return []
        counts = self._counts(found)
        total = self._total()
        order = sorted(range(len(found)), key=lambda i: counts[i])
        kept, read = [], 0
        for i in order:
            common = total > 0 and counts[i] > self.config.common_share * total
            if kept and (common or read + counts[i] > self.config.max_postings):
                break
            if not kept and common and total >= self.config.common_min_facts:
                break
            kept.append((found[i], counts[i]))
            read += counts[i]
        return kept

    def _counts(self, found: list[str]) -> list[int]:
        """How many facts hold each word (its stem, as the index saw it; the largest count of its parts). FTS5
        counts a word by reading its whole posting list, so the counts of words held by COMMON_FROM facts or
        more are kept, until the index has grown or shrunk by COMMON_DRIFT: such a word's weight barely moves."""
        conn = self.db.conn
        for statement in SCRATCH:  # every time: made inside a write that was rolled back, they are gone
            conn.execute(statement)
        conn.execute("DELETE FROM temp.query_words")
        conn.executemany("INSERT INTO temp.query_words (rowid, word) VALUES (?, ?)", list(enumerate(found, 1)))
        counts = [0] * len(found)
        total = self._total()
        if abs(total - self._common_total) > COMMON_DRIFT * self._common_total:
            self._common, self._common_total = {}, total
        for doc, term in conn.execute("SELECT doc, term FROM temp.query_terms").fetchall():
            count = self._common.get(term)
            if count is None:
                row = conn.execute("SELECT doc FROM temp.fact_terms WHERE term = ?", (term,)).fetchone()
                count = row[0] if row else 0
                if count >= COMMON_FROM:
                    self._common[term] = count
            counts[doc - 1] = max(counts[doc - 1], count)
        return counts

    def _total(self) -> int:
        """Facts in the index, from FTS5's own averages record (its first varint), without counting rows."""
        row = self.db.conn.execute("SELECT block FROM facts_fts_data WHERE id = 1").fetchone()
        if row is None or not row[0]:
            return 0
        return _varint(row[0])


def index_new(conn: sqlite3.Connection, first_id: int, last_id: int) -> None:
    """Index the facts with ids first_id..last_id, just inserted, inside the inserting transaction."""
    conn.execute("INSERT INTO facts_fts (rowid, text) SELECT id, text FROM facts WHERE id BETWEEN ? AND ?",
                 (first_id, last_id))


def full_match(counts: list[int], total: int) -> float:
    """The bm25 of a fact of average length holding each query word once: the sum of the words' inverse
    document frequencies, as FTS5 computes them (log((N - n + 0.5) / (n + 0.5)), at least 1e-6) for words
    held by `counts` of `total` facts. A word no fact holds counts in full: a query whose telling words the
    store lacks is matched weakly by the words it has."""
    return sum(max(math.log((total - n + 0.5) / (n + 0.5)), 1e-6) for n in counts) or 1e-6


def scrub(conn: sqlite3.Connection) -> None:
    """After an erasure, inside its transaction: merge the lexical index into one segment, so that no older
    segment still holds an erased text's words (secure_delete zeroes the pages they leave)."""
    conn.execute("INSERT INTO facts_fts (facts_fts) VALUES ('optimize')")


def _varint(data: bytes) -> int:
    """SQLite's variable-length integer at the start of `data` (FTS5 writes its counts with it)."""
    value = 0
    for i, byte in enumerate(data[:9]):
        if i == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value
    return value
