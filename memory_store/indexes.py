"""The store's per-user indexes: loaded when first needed, reconciled against SQLite, saved, rebuilt.

SQLite is the source of truth. An index file is trusted only after its header checks out and its id
set has been compared with the user's active facts: missing facts are added, extra entries removed.
A missing, corrupt or mismatched file is rebuilt from the vectors in SQLite, with a logged warning.
Facts edited since an index last saw an edit (`VectorIndex.edits_applied`) get their new vectors.
Commits by other processes are noticed through `PRAGMA data_version` and reconciled the same way.
A bulk add's near-duplicate check reads the user's active vectors in k-means cells (`Cells`), built from
SQLite when first needed, kept in step by the bulk adds themselves and dropped on any other change.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
import sqlite_utils

from memory_store.cells import Cells
from memory_store.config import IndexConfig
from memory_store.errors import IndexCorrupt
from memory_store.index import VectorIndex, choose_kind
from memory_store.rows import json_ids

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (facts done, total)
REBUILD_CHUNK = 20_000  # facts read from SQLite and added to the index at a time


class IndexSet:
    """One `VectorIndex` per user, kept consistent with the facts table."""

    def __init__(self, db: sqlite_utils.Database, directory: Path, embedder: str, dim: int, config: IndexConfig):
        self.db, self.directory, self.embedder, self.dim, self.config = db, directory, embedder, dim, config
        self._loaded: dict[int, VectorIndex] = {}
        self._dirty: set[int] = set()
        self._behind: set[int] = set()  # users whose index lags this process's own writes
        self._cells: dict[int, Cells] = {}  # users' active vectors for a bulk add's near-duplicate check
        self._data_version = self._current_data_version()

    def path(self, user_id: int) -> Path:
        return self.directory / f"user-{user_id}.faiss"

    def _current_data_version(self) -> int:
        return self.db.conn.execute("PRAGMA data_version").fetchone()[0]

    # -- access -----------------------------------------------------------------------------------
    def get(self, user_id: int) -> VectorIndex:
        """The user's index, consistent with everything committed so far by any process."""
        self._notice_other_writers()
        index = self._loaded.get(user_id)
        if index is None:
            index = self._load(user_id, expected=user_id in self._behind)
        elif user_id in self._behind:
            index = self._reconcile(user_id, index, expected=True)
        self._behind.discard(user_id)
        return index

    def cells(self, user_id: int) -> Cells:
        """The user's active vectors in cells, consistent with everything committed so far by any process:
        kept from the last bulk add, else read from SQLite."""
        self._notice_other_writers()
        cells = self._cells.get(user_id)
        if cells is None:
            cells = Cells(self.dim)
            cursor = self.db.conn.execute(
                "SELECT id, vector FROM facts WHERE user_id = ? AND status = 'active' ORDER BY id", (user_id,))
            rows = cursor.fetchall()
            vectors = self._stack([r[1] for r in rows])
            cells.prepare(vectors)
            cells.add(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), vectors)
            self._cells[user_id] = cells
        return cells

    def keep_cells(self, user_id: int, cells: Cells) -> None:
        """After a committed bulk add that put its new facts into `cells` and changed nothing else."""
        self._cells[user_id] = cells

    def _notice_other_writers(self) -> None:
        version = self._current_data_version()
        if version != self._data_version:
            self._data_version = version
            self._cells.clear()
            for uid in list(self._loaded):
                self._reconcile(uid, self._loaded[uid], expected=True)

    def loaded(self, user_id: int) -> VectorIndex | None:
        """The user's in-memory index if it is up to date with this process's writes, else None."""
        return None if user_id in self._behind else self._loaded.get(user_id)

    def behind(self, user_id: int) -> None:
        """This process wrote rows without indexing them (a bulk load): catch up when next needed."""
        self._behind.add(user_id)
        self._dirty.add(user_id)
        self._cells.pop(user_id, None)

    def changed(self, user_id: int) -> None:
        """Record that this process changed the user's index (saved on `save_all`). When the index no
        longer fits its size, it is rebuilt when next needed, so a bulk load is not slowed by it."""
        self._dirty.add(user_id)
        self._cells.pop(user_id, None)
        index = self._loaded.get(user_id)
        # This process applied its own change to the index, so its live count is the active count.
        if index is not None and index.needs_rebuild(index.live_count):
            del self._loaded[user_id]
            self._behind.add(user_id)

    def forget_all_loaded(self) -> None:
        """After a rolled-back write: no in-memory index can be trusted to match SQLite."""
        self._loaded.clear()
        self._dirty.clear()
        self._behind.clear()
        self._cells.clear()

    # -- load, reconcile, rebuild -----------------------------------------------------------------
    def refresh(self, user_id: int) -> VectorIndex:
        """Bring the user's index up to date after this process wrote rows directly (an import)."""
        self.behind(user_id)
        return self.get(user_id)

    def _load(self, user_id: int, expected: bool = False) -> VectorIndex:
        path = self.path(user_id)
        if not path.exists():
            if self._active_count(user_id) and not expected:
                log.warning("index for user %d is missing; rebuilding it from SQLite", user_id)
            return self.rebuild(user_id)
        try:
            index = VectorIndex.load(path, self.embedder, self.dim, self.config)
        except IndexCorrupt as e:
            log.warning("%s; rebuilding the index from SQLite", e)
            return self.rebuild(user_id)
        return self._reconcile(user_id, index, expected)

    def _reconcile(self, user_id: int, index: VectorIndex, expected: bool = False) -> VectorIndex:
        """Make the index hold exactly the user's active facts. `expected`: the lag was known."""
        all_ids = index.ids()
        if len(np.unique(all_ids)) != len(all_ids):
            log.warning("index for user %d holds an id twice; rebuilding it from SQLite", user_id)
            return self.rebuild(user_id)
        active = self._active_ids(user_id)
        live = index.live_ids()
        missing = np.setdiff1d(active, live, assume_unique=True)
        extra = np.setdiff1d(live, active, assume_unique=True)
        if len(missing) or len(extra):
            (log.debug if expected else log.warning)(
                "index for user %d was stale (%d missing, %d extra); reconciled with SQLite",
                user_id, len(missing), len(extra),
            )
            gone = np.setdiff1d(extra, self._existing_ids(extra), assume_unique=True)
            index.remove(extra)
            index.remove(gone, erase=True)  # erased facts leave no vector behind in the index
            index.add(missing, self.vectors(missing))
            self._dirty.add(user_id)
        self._catch_up_edits(user_id, index)
        if index.needs_rebuild(len(active)):
            return self.rebuild(user_id)
        self._loaded[user_id] = index
        return index

    def _catch_up_edits(self, user_id: int, index: VectorIndex) -> None:
        """Give the facts edited after the index's last known edit (by another process, or just before a
        crash kept the index file from being saved) their new vectors from SQLite."""
        rows = self.db.conn.execute(
            "SELECT v.id, v.fact_id FROM fact_versions v JOIN facts f ON f.id = v.fact_id "
            "WHERE f.user_id = ? AND v.id > ?",
            (user_id, index.edits_applied),
        ).fetchall()
        if not rows:
            return
        ids = np.array(sorted({r[1] for r in rows}), dtype=np.int64)
        index.replace(ids, self.vectors(ids))  # the vectors are read after the edits, so never older
        index.edits_applied = max(r[0] for r in rows)
        self._dirty.add(user_id)

    def rebuild(self, user_id: int, progress: Progress | None = None) -> VectorIndex:
        """A fresh index from the user's active facts in SQLite, read and added in chunks."""
        total = self._active_count(user_id)
        index = VectorIndex(self.dim, choose_kind(total, self.config), self.config)
        # Read before the vectors: an edit committed meanwhile is newer and caught up on later.
        index.edits_applied = self.db.conn.execute("SELECT coalesce(max(id), 0) FROM fact_versions").fetchone()[0]
        log.info("building a %s index of %d facts for user %d", index.kind, total, user_id)
        cursor = self.db.conn.execute(
            "SELECT id, vector FROM facts WHERE user_id = ? AND status = 'active' ORDER BY id", (user_id,)
        )
        done = 0
        while rows := cursor.fetchmany(REBUILD_CHUNK):
            index.add(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), self._stack([r[1] for r in rows]))
            done += len(rows)
            if progress is not None:
                progress(done, total)
        self._loaded[user_id] = index
        self._dirty.add(user_id)
        return index

    def rebuild_all(self, user_ids: list[int], progress: Progress | None = None) -> None:
        """Rebuild and save every user's index; `progress(done, total)` counts facts over all users."""
        totals = [self._active_count(uid) for uid in user_ids]
        base = 0
        for uid, total in zip(user_ids, totals):
            report = None if progress is None else (lambda done, _t, b=base: progress(b + done, sum(totals)))
            self.rebuild(uid, report)
            base += total
        self.save_all()

    # -- persistence ------------------------------------------------------------------------------
    def save(self, user_id: int) -> None:
        index = self._loaded.get(user_id)
        if index is not None:
            index.save(self.path(user_id), self.embedder)
        self._dirty.discard(user_id)

    def save_all(self) -> None:
        """Save every changed index, first catching up with other processes' commits and own bulk loads."""
        self._notice_other_writers()
        for uid in list(self._dirty):
            if uid in self._behind:
                self.get(uid)  # a bulk load is indexed here at the latest, so the next process finds it ready
            self.save(uid)

    def delete_file(self, user_id: int) -> None:
        self.path(user_id).unlink(missing_ok=True)

    # -- SQLite reads -----------------------------------------------------------------------------
    def _active_ids(self, user_id: int) -> np.ndarray:
        rows = self.db.conn.execute(
            "SELECT id FROM facts WHERE user_id = ? AND status = 'active' ORDER BY id", (user_id,)
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def _existing_ids(self, ids: np.ndarray) -> np.ndarray:
        rows = self.db.conn.execute(
            "SELECT id FROM facts WHERE id IN (SELECT value FROM json_each(?))", (json_ids(ids),)
        ).fetchall()
        return np.array(sorted(r[0] for r in rows), dtype=np.int64)

    def _active_count(self, user_id: int) -> int:
        return self.db.conn.execute(
            "SELECT count(*) FROM facts WHERE user_id = ? AND status = 'active'", (user_id,)
        ).fetchone()[0]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these fact ids, in the same order."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        found = dict(
            self.db.conn.execute(
                "SELECT id, vector FROM facts WHERE id IN (SELECT value FROM json_each(?))",
                (json_ids(ids),),
            ).fetchall()
        )
        return self._stack([found[int(i)] for i in ids])

    def _stack(self, blobs: list[bytes]) -> np.ndarray:
        if not blobs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), self.dim)
