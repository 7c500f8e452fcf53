"""An exact search for every pair of vectors above a cosine threshold: vectors held in k-means cells.

The near-duplicate check of a bulk add (`duplicates.find_duplicates_in_cells`) needs, for each new row,
every stored vector and every earlier new row whose cosine reaches a high threshold (0.95), exactly:
searching the HNSW graph for it was approximate and cost more than the rest of `add_many`. Here each vector
lives in the cell of its nearest centroid (Euclidean, as in an IVF index), and a query is compared only with
the cells that can hold such a neighbour. For unit vectors, cosine >= t is distance <= eps = sqrt(2 - 2t).
A vector y in cell L is at least as near c_L as the query's nearest centroid c_b, so it lies on c_L's side
of the plane bisecting c_b and c_L; the query x is (|x - c_L|^2 - |x - c_b|^2) / (2 |c_L - c_b|) from that
plane, so a cell farther than eps is skipped without losing any neighbour (Elkan 2003, the same bound that
prunes k-means). In 384-d the bound prunes little on loosely clustered vectors, so a row looks into at most
`probes` cells, those with the smallest bound (an IVF search, Jegou et al. 2011, that stops where the bound
proves nothing more can be found): exact when the bound allows, else approximate (on the benchmark's
vectors, 8 cells of about 256 vectors found 99.4 % of neighbours at cosine 0.951-0.99, 16 found all). The
centroids are retrained from the held vectors when the count has doubled since they were trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

SLACK = 1e-3  # added to eps: float32 rounding in the distances never drops a neighbour
MIN_CELLS_AT = 1_000  # below this many vectors, one cell (an exact comparison with all)
PER_CELL = 256  # about this many vectors per cell when trained (cells = count / PER_CELL)
SAMPLE_PER_CELL = 32  # k-means training sample per centroid
KMEANS_ITERATIONS = 4
NEAREST_BLOCK = 4096  # rows assigned to cells at once


@dataclass(frozen=True)
class Pairs:
    """What a search found: query rows with held ids, and query rows with earlier query rows."""

    rows: np.ndarray  # (p,) query row of each held neighbour
    ids: np.ndarray  # (p,) its id
    sims: np.ndarray  # (p,) cosine
    later: np.ndarray  # (b,) query row i ...
    earlier: np.ndarray  # (b,) ... and an earlier query row j < i at cosine >= threshold
    earlier_sims: np.ndarray  # (b,)


class Cells:
    """Ids and unit vectors grouped by nearest centroid; `search` finds all pairs at cosine >= threshold."""

    def __init__(self, dim: int, seed: int = 0):
        self.dim, self.seed = dim, seed
        self._set_centroids(np.zeros((1, dim), dtype=np.float32))
        self._ids: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        self._vectors: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float32)]
        self.count = 0
        self.trained_for = 0  # vectors held when the centroids were trained
        self._searched: tuple[np.ndarray, np.ndarray] | None = None  # the last search's queries, nearest cells

    def _set_centroids(self, centroids: np.ndarray) -> None:
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)  # (k, d)
        self._sq = (self.centroids ** 2).sum(axis=1)  # (k,)
        diff = self._sq[:, None] + self._sq[None, :] - 2.0 * (self.centroids @ self.centroids.T)
        self._between = np.sqrt(np.maximum(diff, 0.0))  # (k, k) distances between centroids

    def _nearest_terms(self, vectors: np.ndarray) -> np.ndarray:
        """|x - c|^2 - |x|^2 for each row and centroid: (n, k)."""
        return self._sq[None, :] - 2.0 * (vectors @ self.centroids.T)

    def _nearest(self, vectors: np.ndarray) -> np.ndarray:
        """Each row's nearest centroid, a block of rows at a time (a whole store's (n, k) terms would be
        hundreds of megabytes written once and read once)."""
        out = np.empty(len(vectors), dtype=np.int64)
        for start in range(0, len(vectors), NEAREST_BLOCK):
            out[start:start + NEAREST_BLOCK] = self._nearest_terms(vectors[start:start + NEAREST_BLOCK]).argmin(axis=1)
        return out

    # -- contents ---------------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids):
            self._add(ids, vectors, self._nearest(vectors))

    def _add(self, ids: np.ndarray, vectors: np.ndarray, cell: np.ndarray) -> None:
        if not len(ids):
            return
        order = np.argsort(cell, kind="stable")
        bounds = np.searchsorted(cell[order], np.arange(len(self.centroids) + 1))
        for c in np.nonzero(np.diff(bounds))[0]:
            part = order[bounds[c]:bounds[c + 1]]
            self._ids[c] = np.concatenate([self._ids[c], ids[part]])
            self._vectors[c] = np.concatenate([self._vectors[c], vectors[part]])
        self.count += len(ids)

    def prepare(self, coming: np.ndarray) -> None:
        """Before searching `coming` rows that will then be added: retrain the centroids (from the held
        vectors and these rows) when the count will have doubled since they were last trained."""
        total = self.count + len(coming)
        if total < MIN_CELLS_AT or total <= 2 * max(self.trained_for, MIN_CELLS_AT // 2):
            return
        ids, vectors = np.concatenate(self._ids), np.concatenate(self._vectors)
        k = max(1, total // PER_CELL)
        chosen = np.random.default_rng(self.seed).choice(total, min(total, k * SAMPLE_PER_CELL), replace=False)
        held = chosen < len(vectors)  # the sample, from the held vectors followed by the coming rows
        sample = np.empty((len(chosen), self.dim), dtype=np.float32)
        sample[held] = vectors[chosen[held]]
        sample[~held] = np.asarray(coming, dtype=np.float32).reshape(-1, self.dim)[chosen[~held] - len(vectors)]
        kmeans = faiss.Kmeans(self.dim, k, niter=KMEANS_ITERATIONS, seed=self.seed, min_points_per_centroid=1,
                              max_points_per_centroid=SAMPLE_PER_CELL * 4)
        kmeans.train(np.ascontiguousarray(sample))
        self._set_centroids(kmeans.centroids)
        self._ids = [np.zeros(0, dtype=np.int64) for _ in range(k)]
        self._vectors = [np.zeros((0, self.dim), dtype=np.float32) for _ in range(k)]
        self.count, self.trained_for, self._searched = 0, total, None
        self.add(ids, vectors)

    # -- search -----------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, threshold: float, probes: int) -> Pairs:
        """The held vectors, and earlier rows of `queries`, at cosine >= threshold with each row, among the
        at most `probes` cells the bound leaves to each row (all of them when it leaves no more)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        m, k = len(queries), len(self.centroids)
        eps = float(np.sqrt(max(0.0, 2.0 - 2.0 * threshold))) + SLACK
        terms = self._nearest_terms(queries)  # (m, k)
        best = terms.argmin(axis=1)
        self._searched = (queries, best)  # `add_searched` puts rows of these queries in their cells
        gap = terms - terms[np.arange(m), best][:, None]  # (m, k), 0 at the nearest
        bound = gap / np.maximum(2.0 * self._between[best], 1e-12)  # (m, k): distance to each cell, at least
        if probes < k:
            cand = np.argpartition(bound, probes - 1, axis=1)[:, :probes]  # (m, probes): cells nearest by the bound
        else:
            cand = np.broadcast_to(np.arange(k), (m, k))
        look = np.take_along_axis(bound, cand, axis=1) <= eps  # those the bound does not rule out
        row_of = np.broadcast_to(np.arange(m)[:, None], cand.shape)[look]
        cell_of = cand[look]
        by_cell = np.argsort(cell_of, kind="stable")  # rows stay in order within a cell
        row_of, cell_of = row_of[by_cell], cell_of[by_cell]
        starts = np.searchsorted(cell_of, np.arange(k + 1))
        order = np.argsort(best, kind="stable")
        bounds = np.searchsorted(best[order], np.arange(k + 1))
        work = [(int(c), row_of[starts[c]:starts[c + 1]], order[bounds[c]:bounds[c + 1]])
                for c in np.nonzero(np.diff(starts))[0]]
        found, among = self._compare(queries, work, threshold)
        return Pairs(*_joined(found), *_joined(among))

    def _compare(self, queries: np.ndarray, work: list[tuple[int, np.ndarray, np.ndarray]], threshold: float,
                 ) -> tuple[list[tuple[np.ndarray, ...]], list[tuple[np.ndarray, ...]]]:
        """For each (cell, rows probing it, rows whose own cell it is): pairs at cosine >= threshold of the
        rows with the cell's held vectors, and with its member rows that come earlier."""
        found: list[tuple[np.ndarray, ...]] = []
        among: list[tuple[np.ndarray, ...]] = []
        for c, rows, members in work:
            block = queries[rows]
            if len(self._ids[c]):
                sims = block @ self._vectors[c].T  # (r, held)
                hit = sims >= threshold
                if hit.any():  # rarely: finding no pair is cheaper than listing none
                    r, col = np.nonzero(hit)
                    found.append((rows[r], self._ids[c][col], sims[r, col]))
            if len(members):
                sims = block @ queries[members].T  # (r, members)
                hit = (sims >= threshold) & (members[None, :] < rows[:, None])  # earlier rows only (not itself)
                if hit.any():
                    r, col = np.nonzero(hit)
                    among.append((rows[r], members[col], sims[r, col]))
        return found, among

    def add_searched(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """`add` for rows of the queries last searched, in the cells the search found them nearest to (the
        centroids have not changed since: `prepare` comes before a search)."""
        if self._searched is None:
            raise ValueError("add_searched: no search since the cells last changed")
        queries, best = self._searched
        self._searched = None
        rows = np.asarray(rows, dtype=np.int64)
        self._add(np.asarray(ids, dtype=np.int64), queries[rows], best[rows])


def _joined(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate([p[n] for p in parts]) for n in range(3))  # type: ignore[return-value]
