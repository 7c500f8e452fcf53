"""One user's FAISS index on its own: entries edited in place stay findable, once, by their new vector."""

from __future__ import annotations

import numpy as np

from memory_store import IndexConfig
from memory_store.index import VectorIndex


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_an_hnsw_entry_edited_far_from_its_neighbours_is_still_found():
    """The graph still links the entry where its old vector was: a narrow search would miss it."""
    rng = np.random.default_rng(0)
    centre = unit(rng.normal(size=32))
    index = VectorIndex(32, "hnsw", IndexConfig(hnsw_m=4, hnsw_ef_construction=8, hnsw_ef_search=1))
    index.add(np.arange(1, 3001), unit(centre + 0.3 * rng.normal(size=(3000, 32))))
    away = unit(rng.normal(size=32))
    away = unit(away - (away @ centre) * centre)  # orthogonal to the cluster
    index.replace(np.array([1500]), away[None])
    sims, ids = index.search(away[None], 1)
    assert ids[0, 0] == 1500 and abs(sims[0, 0] - 1.0) < 1e-5


def test_an_edited_entry_comes_back_once_with_its_new_similarity():
    rng = np.random.default_rng(1)
    vectors = unit(rng.normal(size=(50, 16)))
    for kind in ("flat", "hnsw"):
        index = VectorIndex(16, kind, IndexConfig())
        index.add(np.arange(1, 51), vectors)
        index.replace(np.array([7, 99]), np.stack([vectors[30], vectors[0]]))  # 99 is not in the index: skipped
        sims, ids = index.search(vectors[30][None], 50)
        assert sorted(ids[0].tolist()) == list(range(1, 51)), kind
        assert set(ids[0, :2].tolist()) == {7, 31} and np.allclose(sims[0, :2], 1.0, atol=1e-5), kind
        assert np.all(np.diff(sims[0]) <= 1e-6), kind  # still ranked
