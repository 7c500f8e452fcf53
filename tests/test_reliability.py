"""Reliability: concurrent writers, SIGKILL mid-write, damaged index files, mismatched embedders, erasure."""

from __future__ import annotations

import logging
import os
import sqlite3
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import T0, subprocess_env
from fakes import HashEmbedder
from memory_store import EmbedderMismatch, IndexConfig, MemoryStore
from memory_store.index import VectorIndex
from memory_store.schema import LATEST


def assert_index_consistent(path: Path, user: str = "default", dim: int = 64) -> None:
    """The saved index file itself (not a reconciled copy) holds each active fact exactly once."""
    store = MemoryStore.open(path, embedder=HashEmbedder(dim=dim))
    uid = store.ledger.user_id(user)
    active = sorted(f.id for f in store.facts(user))
    store.close()
    index = VectorIndex.load(path / "index" / f"user-{uid}.faiss", "hash-test", dim, IndexConfig())
    ids = index.ids().tolist()
    assert len(ids) == len(set(ids)), "an id is in the index twice"
    assert sorted(index.live_ids().tolist()) == active


def assert_lexical_consistent(store: MemoryStore) -> None:
    """FTS5's own check of the lexical index against the facts table (raises when they differ), and one row each."""
    store.db.conn.execute("INSERT INTO facts_fts (facts_fts, rank) VALUES ('integrity-check', 1)")
    facts = store.db.conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    assert store.db.conn.execute("SELECT count(*) FROM facts_fts_docsize").fetchone()[0] == facts


WRITER = textwrap.dedent(
    """
    import sys
    from fakes import HashEmbedder
    from memory_store import MemoryStore
    path, name = sys.argv[1], sys.argv[2]
    store = MemoryStore.open(path, embedder=HashEmbedder())
    for i in range(500):
        store.add(f"process {name} remembers item {i} of its list")
    store.close()
    """
)


def test_two_processes_adding_500_facts_each(tmp_path):
    path = tmp_path / "shared"
    MemoryStore.open(path, embedder=HashEmbedder()).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], env=subprocess_env(), stderr=subprocess.PIPE)
        for name in ("A", "B")
    ]
    for p in procs:
        _, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr.decode()
    assert_index_consistent(path)
    store = MemoryStore.open(path, embedder=HashEmbedder())
    facts = store.facts()
    assert len(facts) == 1000
    for text in ("process A remembers item 17 of its list", "process B remembers item 499 of its list"):
        assert store.search(text, k=1)[0].fact.text == text
    both = {h.fact.text for h in store.search("item 17", k=2, mode="lexical")}  # both wrote the lexical index
    assert both == {"process A remembers item 17 of its list", "process B remembers item 17 of its list"}
    assert_lexical_consistent(store)
    store.close()


KILLED = textwrap.dedent(
    """
    import sys
    from fakes import HashEmbedder
    from memory_store import MemoryStore
    path = sys.argv[1]
    store = MemoryStore.open(path, embedder=HashEmbedder(dim=256))
    for batch in range(3):
        store.add_many([f"committed batch {batch} fact {i}" for i in range(1000)])
    open(sys.argv[2], "w").close()
    store.add_many([f"doomed fact number {i} with some padding text to fill pages" for i in range(10_000)])
    open(sys.argv[3], "w").close()
    """
)


def test_sigkill_in_the_middle_of_add_many(tmp_path):
    path, ready, finished = tmp_path / "store", tmp_path / "ready", tmp_path / "finished"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path), str(ready), str(finished)], env=subprocess_env())
    deadline = time.time() + 120
    while not ready.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    wal = path / "memory.db-wal"
    base = wal.stat().st_size if wal.exists() else 0
    # Kill once the big transaction is writing pages: the WAL grows past what three batches left.
    while time.time() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > base + 512 * 1024:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not finished.exists(), "the transaction finished before the kill; the test proves nothing"
    store = MemoryStore.open(path, embedder=HashEmbedder(dim=256))
    facts = store.facts()
    assert len(facts) == 3000  # every committed fact, none of the killed transaction
    assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    events = store.db.conn.execute("SELECT count(*) FROM events WHERE kind = 'add'").fetchone()[0]
    assert events == 3000
    assert store.search("committed batch 2 fact 999", k=1)[0].fact.text == "committed batch 2 fact 999"
    assert store.search("doomed", k=1, mode="lexical") == []  # none of the killed batch's words
    assert_lexical_consistent(store)
    store.close()
    assert_index_consistent(path, dim=256)


def make_store(path: Path) -> tuple[list[str], dict]:
    store = MemoryStore.open(path, embedder=HashEmbedder())
    texts = [f"fact {i}: the {w} of my {o} is {c}" for i, (w, o, c) in enumerate(
        (w, o, c) for w in ("colour", "size", "age") for o in ("car", "house", "bike", "cat") for c in range(12))]
    store.add_many(texts, now=T0)
    queries = ["the colour of my car", "age of my cat is 7", "size house 3"]
    before = {q: [(h.fact.id, round(h.similarity, 6)) for h in store.search(q, k=5, now=T0)] for q in queries}
    store.close()
    return queries, before


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "flip"])
def test_damaged_index_file_is_rebuilt_with_identical_results(tmp_path, damage, caplog):
    path = tmp_path / "store"
    queries, before = make_store(path)
    [index_file] = list((path / "index").glob("*.faiss"))
    data = index_file.read_bytes()
    if damage == "delete":
        index_file.unlink()
    elif damage == "truncate":
        index_file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        index_file.write_bytes(os.urandom(len(data)))
    else:  # one flipped byte in the middle of the vectors
        pos = len(data) // 2
        index_file.write_bytes(data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:])
    with caplog.at_level(logging.WARNING):
        store = MemoryStore.open(path, embedder=HashEmbedder())
        after = {q: [(h.fact.id, round(h.similarity, 6)) for h in store.search(q, k=5, now=T0)] for q in queries}
    assert after == before
    assert any("rebuilding" in r.message for r in caplog.records)
    store.close()
    assert_index_consistent(path)


def test_stale_index_file_is_reconciled(tmp_path, caplog):
    path = tmp_path / "store"
    queries, before = make_store(path)
    store = MemoryStore.open(path, embedder=HashEmbedder())
    stale = (path / "index").glob("*.faiss").__next__().read_bytes()
    new = store.add("fact added later: the colour of my boat is 99", now=T0)
    gone = store.facts()[0]
    store.forget(gone.id, now=T0)
    store.close()
    next((path / "index").glob("*.faiss")).write_bytes(stale)  # as if the process had died before saving
    with caplog.at_level(logging.WARNING):
        store = MemoryStore.open(path, embedder=HashEmbedder())
        hits = store.search("fact added later: the colour of my boat is 99", k=50, now=T0)
    assert hits[0].fact.id == new.id and gone.id not in {h.fact.id for h in hits}
    assert any("stale" in r.message for r in caplog.records)
    store.close()


def test_store_made_with_another_embedder_is_refused_naming_both(tmp_path):
    MemoryStore.open(tmp_path / "s", embedder=HashEmbedder(dim=64, name="model-a")).close()
    with pytest.raises(EmbedderMismatch) as e:
        MemoryStore.open(tmp_path / "s", embedder=HashEmbedder(dim=32, name="model-a"))
    assert "64" in str(e.value) and "32" in str(e.value)
    with pytest.raises(EmbedderMismatch) as e:
        MemoryStore.open(tmp_path / "s", embedder=HashEmbedder(dim=64, name="model-b"))
    assert "model-a" in str(e.value) and "model-b" in str(e.value)


def all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


LEXICAL_TERMS = (b"zebra", b"quixot")  # the secret's words as FTS5 stores them (lower case, porter stems)


@pytest.mark.parametrize("how", ["forget", "purge"])
def test_hard_forget_leaves_the_text_in_no_byte_of_the_store(tmp_path, how):
    secret = "The vault code is ZEBRA-4417-QUIXOTIC"
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    store.add_many([f"ordinary fact {i} about the garden" for i in range(300)], now=T0)
    fact = store.add(secret, now=T0, source={"session": "s1"})
    store.search("vault code", now=T0)
    store.mark_recalled([fact.id], now=T0)
    store.forget(fact.id, now=T0)
    store.restore(fact.id, now=T0)
    store.close()
    store = MemoryStore.open(path, embedder=HashEmbedder())
    assert b"ZEBRA-4417" in all_bytes(path)
    assert all(term in all_bytes(path) for term in LEXICAL_TERMS)  # the lexical index holds its words
    assert store.search("quixotic zebra", k=1, now=T0, mode="lexical")[0].fact.id == fact.id
    erase(store, fact.id, how)
    assert b"ZEBRA-4417" not in all_bytes(path)  # already while the store is open
    assert b"QUIXOTIC" not in all_bytes(path).upper()
    assert not any(term in all_bytes(path) for term in LEXICAL_TERMS)  # FTS5 shadow tables included
    assert store.search("quixotic zebra", k=5, now=T0, mode="lexical") == []
    store.add("one more fact after the erasure", now=T0)
    store.close()
    assert b"ZEBRA-4417" not in all_bytes(path)
    assert len(MemoryStore.open(path, embedder=HashEmbedder()).facts(include_dormant=True)) == 301


def erase(store: MemoryStore, fact_id: int, how: str) -> None:
    if how == "forget":
        store.forget(fact_id, hard=True, now=T0)
    else:
        store.forget(fact_id, now=T0)
        assert [f.id for f in store.decay(now=T0.replace(year=2027)).purged] == [fact_id]


@pytest.mark.parametrize("how", ["forget", "purge"])
def test_erasing_an_edited_fact_leaves_none_of_its_texts_in_any_byte(tmp_path, how):
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    store.add_many([f"ordinary fact {i} about the garden" for i in range(300)], now=T0)
    fact = store.add("Shopping list: ZEBRA-4417 batteries", now=T0)
    store.update(fact.id, "Shopping list: QUIXOTIC-88 milk", now=T0)
    store.update(fact.id, "Shopping list: VELVET-19 eggs", now=T0)
    store.close()
    store = MemoryStore.open(path, embedder=HashEmbedder())
    texts = (b"ZEBRA-4417", b"QUIXOTIC-88", b"VELVET-19")
    terms = (b"zebra", b"quixot", b"velvet")  # the lexical index saw every version
    assert all(t in all_bytes(path) for t in texts + terms)
    erase(store, fact.id, how)
    assert not any(t in all_bytes(path) for t in texts + terms)  # already while the store is open
    events = store.history(fact.id)
    assert [e.kind for e in events][:3] == ["add", "edit", "edit"] and not any(e.replaced_text for e in events)
    store.close()
    assert not any(t in all_bytes(path) for t in texts)


def test_an_edit_is_not_lost_when_the_index_file_was_not_saved(tmp_path, caplog):
    path = tmp_path / "store"
    queries, _ = make_store(path)
    store = MemoryStore.open(path, embedder=HashEmbedder())
    index_file = next((path / "index").glob("*.faiss"))
    stale = index_file.read_bytes()
    fact = store.search(queries[0], k=1, now=T0)[0].fact
    store.update(fact.id, "the red bicycle in the garage", now=T0)
    store.close()
    index_file.write_bytes(stale)  # as if the process had died before saving: the old vector under the same id
    store = MemoryStore.open(path, embedder=HashEmbedder())
    hit = store.search("the red bicycle in the garage", k=1, now=T0)[0]
    assert hit.fact.id == fact.id and abs(hit.similarity - 1.0) < 1e-5
    assert fact.id not in {h.fact.id for h in store.search(fact.text, k=5, now=T0)}
    store.close()
    assert_index_consistent(path)


def test_an_edit_by_another_process_reaches_an_index_already_loaded(tmp_path):
    path = tmp_path / "store"
    a = MemoryStore.open(path, embedder=HashEmbedder())
    facts = a.add_many([f"fact {i} about the {w}" for i, w in enumerate(["sea", "sky", "hill", "road"] * 10)], now=T0)
    assert a.search(facts[5].text, k=1, now=T0)[0].fact.id == facts[5].id  # A's index is loaded
    b = MemoryStore.open(path, embedder=HashEmbedder())
    b.update(facts[5].id, "the red bicycle in the garage", now=T0)
    b.close()
    hit = a.search("the red bicycle in the garage", k=1, now=T0)[0]
    assert hit.fact.id == facts[5].id and abs(hit.similarity - 1.0) < 1e-5
    a.close()  # A saves its index last: it must hold the new vector
    store = MemoryStore.open(path, embedder=HashEmbedder())
    assert store.search("the red bicycle in the garage", k=1, now=T0)[0].similarity > 0.99999
    store.close()
    assert_index_consistent(path)


def test_unusable_directory_gives_a_clear_error(tmp_path):
    from memory_store import StoreUnavailable

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="cannot open a memory store"):
        MemoryStore.open(blocker / "store", embedder=HashEmbedder())
    not_db = tmp_path / "notdb"
    not_db.mkdir()
    (not_db / "memory.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable):
        MemoryStore.open(not_db, embedder=HashEmbedder())
    assert (not_db / "memory.db").read_bytes() == b"this is not sqlite" * 100  # nothing lost


def test_restore_and_forget_in_fresh_processes_keep_the_index_exact(tmp_path, caplog):
    """Each step opens the store anew, as the CLI does: no duplicate entries, no false stale warnings."""
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    facts = store.add_many([f"fact {i} about the {w}" for i, w in enumerate(["sea", "sky", "hill", "road"] * 10)], now=T0)
    store.close()
    steps = [lambda s: s.forget(facts[0].id, now=T0), lambda s: s.restore(facts[0].id, now=T0),
             lambda s: s.forget(facts[1].id, hard=True, now=T0), lambda s: s.forget(facts[0].id, now=T0),
             lambda s: s.restore(facts[0].id, now=T0)]
    with caplog.at_level(logging.WARNING):
        for step in steps:
            store = MemoryStore.open(path, embedder=HashEmbedder())
            step(store)
            store.close()
            assert_index_consistent(path)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_stale_process_closing_does_not_bring_back_an_erased_vector(tmp_path):
    path = tmp_path / "store"
    a = MemoryStore.open(path, embedder=HashEmbedder())
    fact = a.add("The vault code is ZEBRA-4417", now=T0)
    b = MemoryStore.open(path, embedder=HashEmbedder())
    b.forget(fact.id, hard=True, now=T0)
    b.close()
    a.close()  # A's in-memory index still held the fact
    assert_index_consistent(path)


def test_forget_by_text_then_purge_leaves_no_trace_of_the_query_or_provenance(tmp_path):
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    store.add("The vault code is ZEBRA-4417", now=T0, source={"quote": "vault ZEBRA-4417"})
    store.add("The garden has roses", now=T0)
    assert len(store.forget_matching("vault code ZEBRA-4417", now=T0)) == 1
    assert store.decay(now=T0.replace(year=2027)).purged
    store.close()
    assert b"ZEBRA-4417" not in all_bytes(path)


def test_a_store_from_before_edits_is_migrated_and_can_be_edited(tmp_path):
    import sqlite3

    path = tmp_path / "s"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    fact = store.add("Shopping list: milk, batteries", now=T0)
    store.close()
    conn = sqlite3.connect(path / "memory.db")  # back to schema 1, as the last release left it
    conn.executescript("DROP TABLE fact_versions; ALTER TABLE facts DROP COLUMN hold_until; PRAGMA user_version = 1;")
    conn.close()
    store = MemoryStore.open(path, embedder=HashEmbedder())
    assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert store.get(fact.id).hold_until is None  # migration 3: the column is there, empty for old facts
    assert store.update(fact.id, "Shopping list: milk", now=T0).text == "Shopping list: milk"
    assert store.history(fact.id)[-1].replaced_text == "Shopping list: milk, batteries"
    store.close()


def test_a_store_from_a_newer_memchat_is_refused(tmp_path):
    import sqlite3

    from memory_store import StoreUnavailable

    MemoryStore.open(tmp_path / "s", embedder=HashEmbedder()).close()
    conn = sqlite3.connect(tmp_path / "s" / "memory.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreUnavailable, match="newer"):
        MemoryStore.open(tmp_path / "s", embedder=HashEmbedder())


def lexical_ids(store: MemoryStore, queries: list[str]) -> dict[str, list[int]]:
    return {q: [h.fact.id for h in store.search(q, k=5, now=T0, mode="lexical")] for q in queries}


def test_a_store_from_before_the_lexical_index_builds_it_once_and_loses_nothing(tmp_path):
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    facts = store.add_many([f"fact {i}: my {w} is called {n}" for i, (w, n) in enumerate(
        (w, n) for w in ("dog", "cat", "boat") for n in ("Rex", "Luna", "Quixote", "Ana"))], now=T0)
    queries = ["Quixote", "boat called Luna", "cat"]
    before = lexical_ids(store, queries)
    store.close()
    conn = sqlite3.connect(path / "memory.db")  # as the last release left it: no FTS table, no triggers
    conn.executescript("DROP TABLE facts_fts; DROP INDEX facts_user_created; DELETE FROM meta WHERE key = 'lexical_index';")
    conn.close()
    calls = []
    store = MemoryStore.open(path, embedder=HashEmbedder(), progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (len(facts), len(facts))
    assert lexical_ids(store, queries) == before
    assert [f.id for f in store.facts()] == [f.id for f in facts]
    added = store.add("fact 99: my kite is called Quixote", now=T0)
    store.close()
    calls.clear()
    store = MemoryStore.open(path, embedder=HashEmbedder(), progress=lambda done, total: calls.append((done, total)))
    assert not calls  # built once
    assert added.id in lexical_ids(store, ["Quixote"])["Quixote"]
    store.close()


def test_a_lexical_index_of_the_first_format_loses_its_insert_trigger_and_indexes_each_new_fact_once(tmp_path):
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    store.add_many(["my kite is called Quixote", "my boat is called Luna"], now=T0)
    store.close()
    conn = sqlite3.connect(path / "memory.db")  # format 1 wrote new facts' words by a trigger per row
    conn.executescript("CREATE TRIGGER facts_fts_insert AFTER INSERT ON facts BEGIN "
                       "INSERT INTO facts_fts (rowid, text) VALUES (new.id, new.text); END; "
                       "UPDATE meta SET value = 'fts5-porter-1' WHERE key = 'lexical_index';")
    conn.close()
    store = MemoryStore.open(path, embedder=HashEmbedder())
    added = store.add_many(["my cart is called Quixote", "my sled is called Rex"], now=T0)
    triggers = {r[0] for r in store.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert "facts_fts_insert" not in triggers
    assert store.db.conn.execute("SELECT count(*) FROM facts_fts_docsize").fetchone()[0] == 4  # each once
    hits = store.search("Quixote", k=5, now=T0, mode="lexical")
    assert len(hits) == 2 and added[0].id in {h.fact.id for h in hits}
    store.close()


@pytest.mark.parametrize("damage", ["emptied", "garbage"])
def test_damaged_lexical_index_is_rebuilt_with_identical_results(tmp_path, damage, caplog):
    path = tmp_path / "store"
    store = MemoryStore.open(path, embedder=HashEmbedder())
    store.add_many([f"fact {i}: the {w} of my {o} is {c}" for i, (w, o, c) in enumerate(
        (w, o, c) for w in ("colour", "size", "age") for o in ("car", "house", "bike", "cat") for c in range(12))], now=T0)
    queries = ["colour of my car", "age cat 7", "house"]
    before = lexical_ids(store, queries)
    store.close()
    conn = sqlite3.connect(path / "memory.db")
    if damage == "emptied":
        conn.execute("INSERT INTO facts_fts (facts_fts) VALUES ('delete-all')")
    else:
        conn.execute("UPDATE facts_fts_data SET block = randomblob(length(block)) WHERE id > 10")
    conn.commit()
    conn.close()
    with caplog.at_level(logging.WARNING):
        store = MemoryStore.open(path, embedder=HashEmbedder())
        assert lexical_ids(store, queries) == before
    assert any("lexical index" in r.message and "rebuilding" in r.message for r in caplog.records)
    assert store.db.conn.execute("INSERT INTO facts_fts (facts_fts, rank) VALUES ('integrity-check', 1)").rowcount
    store.close()
