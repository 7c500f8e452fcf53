"""One user's FAISS index over fact vectors: exact while small, HNSW once large; saved with a checked header.

The index is derived data. SQLite holds every vector; the store reconciles an index against SQLite
when it loads it and rebuilds it from there when it is missing, stale or corrupt.

Inner product on unit-length vectors is cosine similarity. An exact index (`IndexFlatIP`) removes
entries in place. HNSW (Malkov & Yashunin 2018) cannot remove graph nodes, so removed entries become
tombstones that searches skip through an `IDSelector`; an erased entry's vector is also zeroed in
place so nothing of it survives in a saved file. An edited fact's vector is overwritten in place; its
graph links still lead to where the old vector was, so searches also score edited entries exactly.
The store rebuilds an index once too many tombstones and edits pile up, or when the user's size
crosses the exact/HNSW threshold.
"""

from __future__ import annotations

import json
import os
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import faiss
import numpy as np

from memory_store.config import IndexConfig
from memory_store.errors import IndexCorrupt
from memory_store.privacy import private_dir, private_opener

MAGIC = b"MEMCHAT-INDEX 2\n"


@contextmanager
def one_thread_for(single_query: bool) -> Iterator[None]:
    """Search one query on one OpenMP thread (faster here: no fork-join), restoring the setting after."""
    if not single_query:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def choose_kind(count: int, config: IndexConfig) -> str:
    """The index kind for a user with `count` active facts."""
    return "hnsw" if count >= config.hnsw_threshold else "flat"


class VectorIndex:
    """A FAISS index mapping fact ids to unit vectors, with tombstones for HNSW removals."""

    def __init__(self, dim: int, kind: str, config: IndexConfig):
        self.dim, self.kind, self.config = dim, kind, config
        if kind == "flat":
            inner = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = config.hnsw_ef_construction
        else:
            raise ValueError(f"unknown index kind {kind!r}")
        self._index = faiss.IndexIDMap2(inner)
        self.tombstones: set[int] = set()
        self.edited: dict[int, int] = {}  # HNSW: id -> stored row, for vectors overwritten since the graph was built
        self.edits_applied = 0  # the newest `fact_versions` id whose new vector this index holds

    # -- contents ---------------------------------------------------------------------------------
    @property
    def live_count(self) -> int:
        return self._index.ntotal - len(self.tombstones)

    def ids(self) -> np.ndarray:
        """Every id in the index, tombstones included."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def live_ids(self) -> np.ndarray:
        ids = self.ids()
        if not self.tombstones:
            return ids
        return ids[~np.isin(ids, np.fromiter(self.tombstones, dtype=np.int64))]

    def needs_rebuild(self, active_count: int) -> bool:
        """True when the kind no longer fits the size (with hysteresis) or tombstones pile up."""
        threshold = self.config.hnsw_threshold
        if self.kind == "flat" and active_count >= threshold:
            return True
        if self.kind == "hnsw" and active_count < threshold // 2:
            return True
        total = max(self._index.ntotal, 1)
        return len(self.tombstones | self.edited.keys()) / total > self.config.tombstone_ratio

    # -- changes ----------------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under fact ids. A tombstoned id whose vector is kept comes back to life."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        revived = [i for i in ids.tolist() if i in self.tombstones]
        if revived:
            self.tombstones.difference_update(revived)
            keep = ~np.isin(ids, np.array(revived, dtype=np.int64))
            ids, vectors = ids[keep], vectors[keep]
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: np.ndarray, erase: bool = False) -> None:
        """Remove ids. Exact: in place. HNSW: tombstone; with `erase`, also zero the stored vector."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if self.kind == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        present = set(self.ids().tolist())
        ids = np.array([i for i in ids.tolist() if i in present], dtype=np.int64)
        self.tombstones.update(ids.tolist())
        if erase and len(ids):
            self._zero(ids)  # an erased fact's id is never reused, so its tombstone stays

    def replace(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Give ids in the index new vectors (edited facts); ids not in it are skipped. Exact: remove and
        add. HNSW: overwrite the stored vectors in place, so nothing of the old ones survives."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        keep = np.isin(ids, self.ids())
        ids, vectors = ids[keep], np.ascontiguousarray(vectors, dtype=np.float32)[keep]
        if len(ids) == 0:
            return
        if self.kind == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            self._index.add_with_ids(vectors, ids)
            return
        rows = self._positions(ids)
        self._stored()[rows] = vectors
        self.edited.update(zip(ids.tolist(), rows.tolist()))

    def _zero(self, ids: np.ndarray) -> None:
        self._stored()[self._positions(ids)] = 0.0

    def _stored(self) -> np.ndarray:
        """HNSW: the stored vectors, a writable view in index order."""
        storage = faiss.downcast_index(faiss.downcast_index(self._index.index).storage)
        return faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * self.dim).reshape(storage.ntotal, self.dim)

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Where each of `ids` (all in the index) is stored, in the order given."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.int64)
        at = {int(i): p for p, i in enumerate(self.ids().tolist())}
        return np.array([at[int(i)] for i in ids], dtype=np.int64)

    def ef_search(self) -> int:
        """HNSW's search breadth for this index's size (see IndexConfig.hnsw_ef_search)."""
        growth = max(1.0, self._index.ntotal / 100_000) ** 0.3
        return int(round(self.config.hnsw_ef_search * growth))

    # -- search -----------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (similarities, ids) per query row; -1 ids pad missing results. Tombstones skipped; with
        `allowed`, only those ids are found (HNSW: among what its graph search reaches)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        n = max(1, min(n, self._index.ntotal))
        selector = None
        tombstones = np.fromiter(self.tombstones, dtype=np.int64, count=len(self.tombstones))
        if allowed is not None:
            allowed = np.setdiff1d(np.asarray(allowed, dtype=np.int64), tombstones)
            selector = faiss.IDSelectorBatch(allowed)
        elif self.tombstones:
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(tombstones))
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search(), n))
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        with one_thread_for(len(queries) == 1):
            sims, ids = self._index.search(queries, n, params=params)
        live_edited = {i: row for i, row in self.edited.items() if i not in self.tombstones}
        if allowed is not None:
            window = set(allowed.tolist())
            live_edited = {i: row for i, row in live_edited.items() if i in window}
        if live_edited:
            sims, ids = self._with_edited(queries, sims, ids, n, live_edited)
        return sims, ids

    def _with_edited(self, queries: np.ndarray, sims: np.ndarray, ids: np.ndarray, n: int, live: dict[int, int]
                     ) -> tuple[np.ndarray, np.ndarray]:
        """HNSW: merge in the exact scores of live edited entries, which the graph may not lead to."""
        edited = np.fromiter(live.keys(), dtype=np.int64, count=len(live))
        exact = queries @ self._stored()[np.fromiter(live.values(), dtype=np.int64, count=len(live))].T  # (q, edited)
        found = np.isin(ids, edited)  # dropped from the graph's answer: each edited id comes once, scored exactly
        sims, ids = np.where(found, np.finfo(np.float32).min, sims), np.where(found, -1, ids)
        sims = np.concatenate([sims, exact], axis=1)
        ids = np.concatenate([ids, np.broadcast_to(edited, exact.shape)], axis=1)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :n]
        return np.take_along_axis(sims, order, axis=1), np.take_along_axis(ids, order, axis=1)

    # -- persistence ------------------------------------------------------------------------------
    # File: MAGIC, FAISS's bytes (streamed, never held twice in memory), a JSON trailer (embedder, kind,
    # counts, tombstones, edited entries, the newest edit held, length and CRC-32 of the FAISS bytes), then
    # the trailer's length (8 bytes).
    def save(self, path: Path, embedder: str) -> None:
        """Write atomically (a temporary file, fsync, rename)."""
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        crc, size = 0, 0
        with open(tmp, "wb", opener=private_opener) as f:
            def write(chunk: bytes) -> None:
                nonlocal crc, size
                f.write(chunk)
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)

            f.write(MAGIC)
            faiss.write_index(self._index, faiss.PyCallbackIOWriter(write))
            trailer = json.dumps({
                "embedder": embedder, "dim": self.dim, "kind": self.kind, "count": int(self._index.ntotal),
                "tombstones": sorted(self.tombstones), "edited": sorted(self.edited),
                "edits_applied": self.edits_applied, "bytes": size, "crc32": crc,
            }).encode()
            f.write(trailer + len(trailer).to_bytes(8, "little"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, embedder: str, dim: int, config: IndexConfig) -> VectorIndex:
        """Read and check a saved index; raise IndexCorrupt for anything unexpected."""
        try:
            with open(path, "rb") as f:
                return cls._read(f, path, embedder, dim, config)
        except OSError as e:
            raise IndexCorrupt(f"cannot read {path}: {e}") from e

    @classmethod
    def _read(cls, f, path: Path, embedder: str, dim: int, config: IndexConfig) -> VectorIndex:
        total = os.fstat(f.fileno()).st_size
        if total < len(MAGIC) + 8 or f.read(len(MAGIC)) != MAGIC:
            raise IndexCorrupt(f"{path} is not a memchat index file")
        f.seek(total - 8)
        trailer_size = int.from_bytes(f.read(8), "little")
        try:
            if trailer_size > total:
                raise ValueError("trailer longer than the file")
            f.seek(total - 8 - trailer_size)
            header = json.loads(f.read(trailer_size))
            ok = (header["embedder"] == embedder and header["dim"] == dim and header["kind"] in ("flat", "hnsw")
                  and len(MAGIC) + header["bytes"] + trailer_size + 8 == total)
        except (ValueError, KeyError, TypeError) as e:
            raise IndexCorrupt(f"{path} has an unreadable trailer: {e}") from e
        if not ok:
            raise IndexCorrupt(f"{path} is truncated, or was made for another embedder")
        f.seek(len(MAGIC))
        crc, left = 0, header["bytes"]
        while left:
            chunk = f.read(min(left, 1 << 24))
            crc, left = zlib.crc32(chunk, crc), left - len(chunk)
        if crc != header["crc32"]:
            raise IndexCorrupt(f"{path} is corrupt (checksum mismatch)")
        f.seek(len(MAGIC))
        index = cls(dim, header["kind"], config)
        try:
            index._index = faiss.read_index(faiss.PyCallbackIOReader(f.read))
        except RuntimeError as e:
            raise IndexCorrupt(f"FAISS could not read {path}: {e}") from e
        if index._index.ntotal != header["count"] or index._index.d != dim:
            raise IndexCorrupt(f"{path} does not match its trailer")
        index.tombstones = set(header["tombstones"])
        edited = np.array(header.get("edited", []), dtype=np.int64)  # files saved before edits had neither key
        try:
            index.edited = dict(zip(edited.tolist(), index._positions(edited).tolist()))
        except KeyError as e:
            raise IndexCorrupt(f"{path} lists an edited entry it does not hold: {e}") from e
        index.edits_applied = header.get("edits_applied", 0)
        return index
