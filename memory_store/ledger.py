"""The write side of the store: transactions, and every change to facts as rows, index and log together.

Each public write of `MemoryStore` opens one `transaction()` and composes the steps here. Inside a
transaction the user's index is fetched (and so reconciled with SQLite) before any row is written, so
the in-memory index and the committed rows move together; a rollback drops every in-memory index.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import sqlite_utils

from memory_store import decay as policy
from memory_store.config import StoreConfig
from memory_store.duplicates import Inactive
from memory_store.errors import FactNotFound
from memory_store.indexes import IndexSet
from memory_store.lexical import index_new as index_words, scrub as scrub_lexical
from memory_store.records import Fact
from memory_store.rows import append_events, json_ids, select_facts, utc
from memory_store.validate import check_user

log = logging.getLogger(__name__)


class Ledger:
    """Transactions and fact transitions over one database and its indexes."""

    def __init__(self, db: sqlite_utils.Database, indexes: IndexSet, config: StoreConfig, dim: int,
                 clock: Callable[[], float]):
        self.db, self.indexes, self.config, self.dim, self.clock = db, indexes, config, dim, clock
        self._depth = 0  # transactions open on this connection (the outer one, then savepoints)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction. On failure the in-memory indexes, which may be ahead of SQLite, are
        dropped: they are reloaded and reconciled when next needed. Inside another transaction it is a
        savepoint of that one: its writes are undone alone on failure, and committed with the outer one."""
        conn = self.db.conn
        depth = self._depth
        begin, commit, undo = (("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK") if depth == 0 else
                               (f"SAVEPOINT w{depth}", f"RELEASE w{depth}", f"ROLLBACK TO w{depth}"))
        conn.execute(begin)
        self._depth = depth + 1
        try:
            yield
            conn.execute(commit)
        except BaseException:
            conn.execute(undo)
            if depth:
                conn.execute(f"RELEASE w{depth}")
            self.indexes.forget_all_loaded()
            raise
        finally:
            self._depth = depth

    def user_id(self, user: str, create: bool = False) -> int | None:
        user = check_user(user)
        row = self.db.conn.execute("SELECT id FROM users WHERE name = ?", (user,)).fetchone()
        if row:
            return row[0]
        if not create:
            return None
        cur = self.db.conn.execute("INSERT INTO users (name, created_at) VALUES (?, ?)", (user, self.clock()))
        return cur.lastrowid

    def log_events(self, rows: list[tuple]) -> None:
        append_events(self.db.conn, rows)

    def fetch(self, where: str, params: Sequence[Any] = ()) -> list[Fact]:
        return select_facts(self.db.conn, where, params)

    def retention(self, fact: Fact, at: float) -> float:
        return policy.retention(fact, utc(at), self.config.decay)

    def reinforce(self, ids: list[int], uid: int, at: float, importance: dict[int, float], pinned: bool) -> None:
        """A fact told again: a recall that may also raise its importance (to `importance[id]`) or pin it."""
        for fact in self.by_ids(ids):
            r = self.retention(fact, at)
            new_s = policy.reinforce(fact.stability, r, self.config.decay)
            self.db.conn.execute(
                "UPDATE facts SET stability = ?, last_review = ?, recall_count = recall_count + 1, "
                "importance = max(importance, ?), pinned = max(pinned, ?) WHERE id = ?",
                (new_s, at, importance[fact.id], int(pinned), fact.id),
            )
            self.log_events([(fact.id, uid, "reinforce", at, r, "told again", {"stability": [fact.stability, new_s]})])

    def insert(self, uid: int, text: str, vector: np.ndarray, *, created_at: float, importance: float, pinned: bool,
               stability: float, last_review: float, recall_count: int, status: str, status_at: float,
               source: dict[str, Any] | None, hold_until: float | None = None) -> int:
        """One new fact row; returns its id (never reused: AUTOINCREMENT)."""
        return self.insert_many([(uid, text, np.ascontiguousarray(vector, dtype=np.float32).tobytes(), created_at,
                                  importance, int(pinned), stability, last_review, recall_count, status, status_at,
                                  json.dumps(source) if source else None, hold_until)])[0]

    def insert_many(self, rows: list[tuple]) -> list[int]:
        """New fact rows, in one statement: (user_id, text, float32 vector bytes, created_at, importance, pinned,
        stability, last_review, recall_count, status, status_at, source JSON, hold_until), and their words in the
        lexical index. Returns their ids in order: AUTOINCREMENT ids given one after another inside this write
        transaction, so consecutive."""
        if not rows:
            return []
        conn = self.db.conn
        before = conn.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'facts'").fetchone()[0]
        conn.executemany(
            "INSERT INTO facts (user_id, text, vector, created_at, importance, pinned, stability, last_review, "
            "recall_count, status, status_at, source, hold_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'facts'").fetchone()[0]
        if last - before != len(rows):  # cannot happen inside one transaction; never guess ids
            raise RuntimeError(f"{len(rows)} facts inserted but the id sequence moved by {last - before}")
        index_words(conn, before + 1, last)
        return list(range(before + 1, last + 1))

    def recall(self, facts: list[Fact], at: float, reason: str = "used in a reply") -> None:
        """Facts used in a reply: stability grows by the decay policy, more when retention was low."""
        for fact in facts:
            r = self.retention(fact, at)
            new_s = policy.reinforce(fact.stability, r, self.config.decay)
            self.db.conn.execute(
                "UPDATE facts SET stability = ?, last_review = ?, recall_count = recall_count + 1 WHERE id = ?",
                (new_s, at, fact.id),
            )
            self.log_events([(fact.id, self.uid_of(fact), "recall", at, r, reason,
                              {"stability": [fact.stability, new_s]})])

    def inactive(self, uid: int) -> Inactive:
        rows = self.db.conn.execute(
            "SELECT id, text, vector FROM facts WHERE user_id = ? AND status IN ('dormant', 'forgotten') ORDER BY id", (uid,)
        ).fetchall()
        vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), self.dim)
        return Inactive(ids=np.array([r[0] for r in rows], dtype=np.int64), texts=[r[1] for r in rows], vectors=vectors)

    def texts(self, ids: list[int]) -> dict[int, str]:
        rows = self.db.conn.execute("SELECT id, text FROM facts WHERE id IN (SELECT value FROM json_each(?))", (json_ids(ids),))
        return dict(rows.fetchall())

    def by_ids(self, ids: Sequence[int]) -> list[Fact]:
        if not len(ids):
            return []
        return self.fetch("f.id IN (SELECT value FROM json_each(?)) ORDER BY f.id", (json_ids(ids),))

    def existing(self, ids: Sequence[int]) -> list[Fact]:
        facts = self.by_ids(ids)
        if len(facts) != len(set(ids)):
            raise FactNotFound(sorted(set(ids) - {f.id for f in facts})[0])
        return facts

    def uid_of(self, fact: Fact) -> int:
        return self.user_id(fact.user)

    # -- transitions, applied inside an open transaction -----------------------------------------
    def apply_status(self, uid: int, facts: list[Fact], status: str, at: float, kind: str, reason: str,
                      retentions: list[float] | None = None) -> None:
        if not facts:
            return
        index = self.indexes.get(uid)
        retentions = retentions or [self.retention(f, at) for f in facts]
        ids = np.array([f.id for f in facts], dtype=np.int64)
        self.db.conn.executemany("UPDATE facts SET status = ?, status_at = ? WHERE id = ?",
                                 [(status, at, int(i)) for i in ids])
        self.log_events([(f.id, uid, kind, at, r, reason, None) for f, r in zip(facts, retentions)])
        index.remove(ids)

    def apply_restore(self, uid: int, facts: list[Fact], at: float, reason: str) -> None:
        index = self.indexes.get(uid)
        ids = np.array([f.id for f in facts], dtype=np.int64)
        self.db.conn.executemany(
            "UPDATE facts SET status = 'active', status_at = ?, last_review = ?, superseded_by = NULL WHERE id = ?",
            [(at, at, int(i)) for i in ids],
        )
        self.log_events([(f.id, uid, "restore", at, self.retention(f, at), reason, None) for f in facts])
        index.add(ids, self.indexes.vectors(ids))

    def apply_edit(self, uid: int, fact: Fact, text: str, vector: np.ndarray, at: float, reason: str) -> None:
        """Give an active fact a new text and vector in place, keeping the old text as a version."""
        index = self.indexes.get(uid)
        version = self.db.conn.execute(
            "INSERT INTO fact_versions (fact_id, text, replaced_at) VALUES (?, ?, ?)", (fact.id, fact.text, at)
        ).lastrowid
        self.db.conn.execute("UPDATE facts SET text = ?, vector = ? WHERE id = ?",
                             (text, np.ascontiguousarray(vector, dtype=np.float32).tobytes(), fact.id))
        self.log_events([(fact.id, uid, "edit", at, self.retention(fact, at), reason, {"version": version})])
        index.replace(np.array([fact.id], dtype=np.int64), vector.reshape(1, -1))
        index.edits_applied = version  # fetching the index above caught up on every earlier edit

    def apply_erase(self, uid: int, facts: list[Fact], at: float, kind: str, reason: str) -> None:
        """Delete rows and earlier texts (secure delete) and their words from the lexical index, scrub their
        events of anything caller-given, zero their vectors."""
        if not facts:
            return
        index = self.indexes.get(uid)
        ids = json_ids(f.id for f in facts)
        self.db.conn.execute("UPDATE events SET reason = '', detail = NULL WHERE fact_id IN (SELECT value FROM json_each(?))", (ids,))
        self.db.conn.execute("DELETE FROM fact_versions WHERE fact_id IN (SELECT value FROM json_each(?))", (ids,))
        self.log_events([(f.id, uid, kind, at, self.retention(f, at), reason, {"was": f.status}) for f in facts])
        self.db.conn.execute("DELETE FROM facts WHERE id IN (SELECT value FROM json_each(?))", (ids,))
        scrub_lexical(self.db.conn)
        index.remove(np.array([f.id for f in facts], dtype=np.int64), erase=True)

    def after_change(self, user_ids: set[int], erased: bool = False) -> None:
        """After a commit: maybe rebuild indexes; after an erasure, save them and truncate the WAL."""
        for uid in user_ids:
            self.indexes.changed(uid)
            if erased:
                self.indexes.save(uid)
        if erased:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so no old page image survives."""
        for _ in range(50):
            busy = self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return
            time.sleep(0.1)
        log.warning("WAL checkpoint stayed busy (another process is reading); erased text may linger in the WAL")

