"""The bulk add's near-duplicate check: vectors in k-means cells, and add_many's bulk path through them."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import T0
from memory_store import IndexConfig, MemoryStore, StoreConfig
from memory_store.cells import Cells


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def near(vectors: np.ndarray, rng: np.random.Generator, cos: float) -> np.ndarray:
    """Rows at exactly cosine `cos` from the given ones."""
    u = rng.normal(size=vectors.shape).astype(np.float32)
    u -= (u * vectors).sum(axis=1, keepdims=True) * vectors
    return unit(cos * vectors + np.sqrt(1 - cos**2) * unit(u))


@pytest.fixture
def planted():
    rng = np.random.default_rng(0)
    held = unit(rng.normal(size=(3000, 16)).astype(np.float32))
    queries = unit(rng.normal(size=(400, 16)).astype(np.float32))
    queries[:100] = near(held[:100], rng, 0.96)  # near a held vector
    queries[200:250] = near(queries[150:200], rng, 0.97)  # near an earlier query row
    return held, queries


def test_cells_find_exactly_the_pairs_a_full_comparison_finds(planted):
    held, queries = planted
    cells = Cells(16)
    cells.prepare(held)
    cells.add(np.arange(3000) + 1000, held)
    assert len(cells.centroids) > 1 and cells.count == 3000
    pairs = cells.search(queries, 0.9, probes=len(cells.centroids))
    r, c = np.nonzero(queries @ held.T >= 0.9)
    assert sorted(zip(pairs.rows.tolist(), pairs.ids.tolist())) == sorted(zip(r.tolist(), (c + 1000).tolist()))
    i, j = np.nonzero(np.tril(queries @ queries.T >= 0.9, k=-1))
    assert sorted(zip(pairs.later.tolist(), pairs.earlier.tolist())) == sorted(zip(i.tolist(), j.tolist()))
    assert len(r) >= 100 and len(i) >= 50


def test_fewer_probes_find_fewer_neighbours_and_more_find_them_all(planted):
    held, queries = planted
    cells = Cells(16)
    cells.prepare(held)
    cells.add(np.arange(3000), held)
    found = [len(set(p.rows[p.ids == p.rows].tolist())) for p in  # each planted row's own twin
             (cells.search(queries[:100], 0.95, probes=n) for n in (1, 4, len(cells.centroids)))]
    assert found[0] < found[1] <= found[2] == 100 and found[1] >= 90


def test_rows_of_the_last_search_go_where_add_would_put_them(planted):
    held, queries = planted
    searched, added = Cells(16), Cells(16)
    for cells in (searched, added):
        cells.prepare(held)
        cells.add(np.arange(3000), held)
    with pytest.raises(ValueError, match="no search"):
        searched.add_searched(np.arange(2), np.arange(2))
    searched.search(queries, 0.95, probes=4)
    rows = np.arange(0, 400, 3)
    searched.add_searched(rows + 5000, rows)
    added.add(rows + 5000, queries[rows])
    assert searched.count == added.count == 3000 + len(rows)
    for a, b in zip(searched._ids, added._ids):
        assert a.tolist() == b.tolist()
    later = queries[:10] + 0  # the new rows are found by the next search
    assert set(searched.search(later, 0.999, probes=4).ids.tolist()) >= {5000, 5003, 5006, 5009}


@pytest.fixture(params=["bulk", "interactive"])
def either(request, tmp_path, embedder):
    """The same store behaviour through the bulk path (cells) and through the index (small adds)."""
    rows = 1 if request.param == "bulk" else 1_000
    s = MemoryStore.open(tmp_path / "s", embedder=embedder, config=StoreConfig(bulk_rows=rows))
    yield s
    s.close()


def test_both_paths_reinforce_near_duplicates_and_keep_updates_apart(either):
    first = either.add_many(["My dog is called Rex.", "I have 2 cats."], now=T0)
    again = either.add_many(["my dog is called rex", "I have 3 cats.", "I like tea.", "i like tea", "I like green tea."],
                            now=T0)
    assert again[0].id == first[0].id and again[0].reinforced
    assert again[1].id != first[1].id  # a changed number is an update, not a repetition
    assert again[3].id == again[2].id and again[3].reinforced and again[4].id != again[2].id
    assert len(either.facts()) == 5


def test_both_paths_bring_a_forgotten_fact_back_and_see_other_changes(either):
    kept, gone = either.add_many(["My locker number is 77.", "My bike is blue."], now=T0)
    either.forget(gone.id, now=T0)
    again = either.add_many(["my bike is blue", "my locker number is 77"], now=T0)
    assert again[0].id == gone.id and again[0].status == "active" and again[1].id == kept.id
    either.forget(kept.id, hard=True, now=T0)
    new = either.add_many(["My locker number is 77."], now=T0)[0]
    assert new.id != kept.id and not new.reinforced


def test_a_bulk_add_into_a_large_memory_is_found_at_once_and_after_reopening(tmp_path, embedder):
    config = StoreConfig(index=IndexConfig(hnsw_threshold=300))
    s = MemoryStore.open(tmp_path / "h", embedder=embedder, config=config)
    s.add_many([f"entry {i}: the door is {i}" for i in range(400)], now=T0, dedupe=False)
    s.search("entry 3", k=1, now=T0)  # the graph is built
    more = s.add_many([f"late entry {i}: the boat is {i}" for i in range(1500)], now=T0)
    assert s.indexes.loaded(s.ledger.user_id("default")) is None  # the graph catches up when next searched
    assert s.search("late entry 17: the boat is 17", k=1, now=T0, mode="dense")[0].fact.id == more[17].id
    again = s.add_many([f"late entry {i}: the boat is {i}" for i in range(1000, 2000)], now=T0)
    assert [f.id for f in again[:500]] == [f.id for f in more[1000:]] and all(f.reinforced for f in again[:500])
    s.close()
    s = MemoryStore.open(tmp_path / "h", embedder=embedder, config=config)
    assert s.indexes.get(s.ledger.user_id("default")).live_count == 2400
    s.close()


def test_a_bulk_add_sees_facts_another_process_added(tmp_path, embedder):
    config = StoreConfig(bulk_rows=1)
    one = MemoryStore.open(tmp_path / "s", embedder=embedder, config=config)
    two = MemoryStore.open(tmp_path / "s", embedder=embedder, config=config)
    one.add_many(["I work at a bakery."], now=T0)  # its cells are kept for its next bulk add
    told = two.add_many(["My sister Ana lives in Lisbon."], now=T0)[0]
    assert one.add_many(["my sister ana lives in lisbon"], now=T0)[0].id == told.id
    one.close()
    two.close()
