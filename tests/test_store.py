"""The store's behaviour through its public API, on a real SQLite file and a real FAISS index."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import numpy as np
import pytest

from conftest import T0
from fakes import HashEmbedder
from memory_store import (
    FactNotActive,
    FactNotFound,
    ImportFormatError,
    IndexConfig,
    InvalidInput,
    MemoryStore,
    StoreConfig,
)


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_add_returns_the_stored_fact_with_its_memory_state(store):
    fact = store.add("My sister Ana lives in Lisbon.", importance=0.8, now=T0)
    assert fact.id > 0 and fact.user == "default" and fact.status == "active"
    assert fact.text == "My sister Ana lives in Lisbon."
    assert fact.created_at == T0 and fact.importance == 0.8 and not fact.reinforced
    assert store.get(fact.id) == fact


def test_text_is_stripped_and_kept_verbatim(store):
    fact = store.add("  Ünïcödé facts survive: 日本語 🙂  \n", now=T0)
    assert store.get(fact.id).text == "Ünïcödé facts survive: 日本語 🙂"


def test_near_duplicate_reinforces_instead_of_copying(store):
    first = store.add("My dog is called Rex.", now=T0)
    again = store.add("my dog is called rex", now=days(10))
    assert again.id == first.id and again.reinforced
    assert again.recall_count == 1 and again.stability > first.stability
    assert len(store.facts()) == 1
    assert [e.kind for e in store.history(first.id)] == ["add", "reinforce"]


def test_a_changed_number_or_name_is_not_a_duplicate(store):
    store.add("I have 2 cats.", now=T0)
    store.add("I have 3 cats.", now=T0)
    store.add("My sister Ana lives in Lisbon.", now=T0)
    store.add("My sister Ana lives in Porto.", now=T0)
    assert len(store.facts()) == 4


def test_duplicates_within_one_batch_are_stored_once(store):
    facts = store.add_many(["I like tea.", "I like green tea.", "i like tea", "I like tea."], now=T0)
    assert facts[0].id == facts[2].id == facts[3].id and facts[2].reinforced
    assert facts[1].id != facts[0].id
    assert len(store.facts()) == 2


def test_duplicate_threshold_is_configurable(tmp_path, embedder):
    s = MemoryStore.open(tmp_path / "s", embedder=embedder, config=StoreConfig(duplicate_threshold=1.0))
    s.add("my dog is called rex", now=T0)
    s.add("My dog is called Rex!", now=T0)
    assert len(s.facts()) == 1  # identical vectors still merge at 1.0
    s.add("My dog is called Rex, he is old.", now=T0)
    assert len(s.facts()) == 2
    s.close()


def test_search_ranks_by_similarity_and_reports_retention(store):
    store.add_many(["My sister Ana lives in Lisbon.", "My car is a red Toyota.", "I work at a bakery."], now=T0)
    hits = store.search("sister Ana lives where", k=2, now=days(3), mode="dense")
    assert [h.fact.text for h in hits][0] == "My sister Ana lives in Lisbon."
    assert len(hits) == 2
    for h in hits:
        assert 0 < h.retention < 1 and h.score == pytest.approx(h.similarity * (0.7 + 0.3 * h.retention))
        assert h.found_by == ("dense",)
    assert hits[0].score >= hits[1].score


def test_search_prefers_the_fresher_of_two_equally_similar_facts(store):
    a = store.add("Ana lives in Lisbon.", now=T0)  # 30 days unused: faded, not yet dormant (60 days would be)
    b = store.add("Ana lives in Porto.", now=days(30))
    hits = store.search("Ana lives in", k=2, now=days(30))
    assert {h.fact.id for h in hits} == {a.id, b.id}
    assert hits[0].fact.id == b.id and hits[0].retention > hits[1].retention


def test_k_larger_than_the_store_returns_what_there_is(store):
    store.add_many(["one fact", "another fact about cats"], now=T0)
    assert len(store.search("fact", k=50, now=T0)) == 2


@pytest.mark.parametrize("k", [0, -3, 2.5, "3", True])
def test_bad_k_is_refused(store, k):
    store.add("a fact", now=T0)
    with pytest.raises(InvalidInput):
        store.search("fact", k=k)


@pytest.mark.parametrize("text", ["", "   \n\t", "bad\x00byte", "x" * 2001, None, 42])
def test_bad_text_is_refused_and_nothing_is_stored(store, text):
    store.add("kept fact", now=T0)
    with pytest.raises(InvalidInput):
        store.add(text, now=T0)
    assert [f.text for f in store.facts()] == ["kept fact"]


def test_one_bad_text_in_a_batch_stores_nothing(store):
    with pytest.raises(InvalidInput):
        store.add_many(["fine", "", "also fine"], now=T0)
    assert store.facts() == []


@pytest.mark.parametrize("importance", [-0.1, 1.5, "high", float("nan")])
def test_importance_outside_zero_one_is_refused(store, importance):
    with pytest.raises(InvalidInput):
        store.add("a fact", importance=importance)


def test_naive_datetimes_are_refused(store):
    with pytest.raises(InvalidInput, match="timezone"):
        store.add("a fact", now=datetime(2026, 1, 1))


def test_users_are_kept_apart_and_each_gets_their_k_best(store):
    # User A holds many facts that are closer to the query than anything of user B.
    store.add_many([f"The capital of country {i} is city {i}" for i in range(200)], user="alice", now=T0)
    store.add_many(["B likes capital letters", "B owns a boat", "B lives near a river"], user="bob", now=T0)
    hits = store.search("The capital of country 7 is city 7", k=3, user="bob", now=T0)
    assert len(hits) == 3 and {h.fact.user for h in hits} == {"bob"}
    assert store.search("anything", user="nobody") == []
    assert len(store.facts(user="alice")) == 200 and len(store.facts(user="bob")) == 3


def test_invalid_user_name_is_refused(store):
    with pytest.raises(InvalidInput, match="user name"):
        store.add("a fact", user="../etc")


def test_soft_forget_hides_and_restore_brings_back(store):
    fact = store.add("My locker code is 4312.", now=T0)
    store.forget(fact.id, now=days(1))
    assert store.get(fact.id).status == "forgotten"
    assert store.search("locker code", now=days(1)) == []
    assert store.facts() == [] and len(store.facts(include_dormant=True)) == 1
    restored = store.restore(fact.id, now=days(2))
    assert restored.status == "active" and restored.last_review == days(2)
    assert store.search("locker code", now=days(2))[0].fact.id == fact.id
    assert [e.kind for e in store.history(fact.id)] == ["add", "forget", "restore"]


def test_hard_forget_erases_and_cannot_be_restored(store):
    fact = store.add("My PIN is 9876.", now=T0)
    store.forget(fact.id, hard=True, now=T0)
    with pytest.raises(FactNotFound):
        store.get(fact.id)
    with pytest.raises(FactNotFound):
        store.restore(fact.id)
    assert store.search("PIN", now=T0) == []
    assert [e.kind for e in store.history(fact.id)] == ["add", "erase"]


def test_unknown_ids_raise_fact_not_found(store):
    for call in (lambda: store.get(99), lambda: store.forget(99), lambda: store.restore(99),
                 lambda: store.explain(99), lambda: store.mark_recalled([99])):
        with pytest.raises(FactNotFound, match="99"):
            call()


def test_forget_matching_forgets_what_the_query_names(store):
    store.add_many(["My car is a red Toyota.", "I park my car at the station.", "My sister lives in Lisbon."], now=T0)
    gone = store.forget_matching("car", now=T0)
    assert sorted(f.text for f in gone) == ["I park my car at the station.", "My car is a red Toyota."]
    assert [f.text for f in store.facts()] == ["My sister lives in Lisbon."]
    assert store.forget_matching("submarine", now=T0) == []


def test_mark_recalled_reinforces_more_when_nearly_forgotten(store):
    a, b = store.add_many(["fact about apples", "fact about bananas"], now=T0)
    soon = store.mark_recalled([a.id], now=days(1))[0]
    late = store.mark_recalled([b.id], now=days(40))[0]
    assert soon.recall_count == late.recall_count == 1
    assert late.stability / b.stability > soon.stability / a.stability
    recall = store.history(b.id)[-1]
    assert recall.kind == "recall" and 0 < recall.retention < 0.9


def test_decay_makes_faded_facts_dormant_then_purges_them(store):
    keep = store.add("pinned allergy: peanuts", pinned=True, now=T0)
    important = store.add("important: my passport number", importance=1.0, now=T0)
    fades = store.add("trivial: I had soup today", importance=0.0, now=T0)
    report = store.decay(now=days(30))
    assert [f.id for f, _ in report.dormant] == [fades.id] and report.purged == []
    assert all(r < 0.5 for _, r in report.dormant)
    assert store.get(fades.id).status == "dormant" and store.get(important.id).status == "active"
    assert fades.id not in {h.fact.id for h in store.search("trivial: I had soup today", k=3, now=days(30))}
    event = store.history(fades.id)[-1]
    assert event.kind == "decay" and event.retention < 0.5 and "0.50" in event.reason
    later = store.decay(now=days(61))
    assert [f.id for f in later.purged] == [fades.id]
    with pytest.raises(FactNotFound):
        store.get(fades.id)
    assert store.get(keep.id).status == "active"
    last = store.decay(now=days(5000))  # checked: every fact left, the pinned one too
    assert last.checked == 2 and [f.id for f, _ in last.dormant] == [important.id]


def test_decay_dry_run_changes_nothing(store):
    fact = store.add("trivial", importance=0.0, now=T0)
    report = store.decay(now=days(100), dry_run=True)
    assert report.dry_run and [f.id for f, _ in report.dormant] == [fact.id]
    assert store.get(fact.id).status == "active"


def test_explain_forecasts_when_a_fact_fades(store):
    fact = store.add("my bike is blue", now=T0)
    ex = store.explain(fact.id, now=days(1))
    assert 0.9 < ex.retention < 1 and ex.fades_at > days(1) and ex.purge_at is None
    assert ex.forecast[0][0] == 0 and ex.forecast[-1][1] < ex.forecast[0][1]
    assert store.decay(now=ex.fades_at - timedelta(hours=1)).dormant == []
    assert [f.id for f, _ in store.decay(now=ex.fades_at + timedelta(hours=1)).dormant] == [fact.id]
    pinned = store.add("pinned one", pinned=True, now=T0)
    assert store.explain(pinned.id, now=days(900)).fades_at is None


def test_supersede_makes_the_old_fact_dormant_and_linked(store):
    old = store.add("I live in Lisbon.", now=T0)
    new = store.add("I moved to Porto.", now=days(5))
    store.supersede(old.id, new.id, now=days(5))
    assert store.get(old.id).status == "dormant" and store.get(old.id).superseded_by == new.id
    assert [h.fact.id for h in store.search("where do I live", now=days(5))] == [new.id]
    assert store.restore(old.id, now=days(6)).superseded_by is None


def test_the_facts_an_update_replaced_are_found_through_the_chain(store):
    lisbon, porto, faro = (store.add(t, now=T0) for t in ("I live in Lisbon.", "I moved to Porto.", "I live in Faro."))
    other = store.add("My dog is called Rex.", now=T0)
    store.supersede(lisbon.id, porto.id, now=days(1))
    store.supersede(porto.id, faro.id, now=days(2))
    assert store.replaced([faro.id, porto.id, other.id]) == {faro.id: [porto.id, lisbon.id], porto.id: [lisbon.id],
                                                             other.id: []}
    assert store.replaced([faro.id], depth=1) == {faro.id: [porto.id]}
    store.restore(porto.id, now=days(3))  # undone: Faro replaced nothing
    assert store.replaced([faro.id]) == {faro.id: []}


def test_pin_keeps_a_fact_from_fading(store):
    fact = store.add("trivial", importance=0.0, now=T0)
    store.pin(fact.id, now=T0)
    assert store.decay(now=days(1000)).dormant == []
    assert store.get(fact.id).pinned


def test_export_then_import_into_a_new_store_keeps_state(store, tmp_path, embedder):
    a = store.add("fact one", importance=0.9, pinned=True, now=T0, source={"session": "s1", "turn": 2})
    b = store.add("fact two", user="bob", now=T0)
    store.forget(b.id, now=days(1))
    n = store.export_jsonl(tmp_path / "out.jsonl")
    assert n == 2
    other = MemoryStore.open(tmp_path / "other", embedder=embedder)
    report = other.import_jsonl(tmp_path / "out.jsonl", now=days(2))
    assert report.imported == 2 and report.skipped == 0
    [a2] = other.facts("default")
    assert (a2.text, a2.importance, a2.pinned, a2.created_at, a2.source) == (a.text, 0.9, True, T0, a.source)
    [b2] = other.facts("bob", include_dormant=True)
    assert b2.status == "forgotten"
    assert other.search("fact one", now=days(2))[0].fact.id == a2.id
    assert other.import_jsonl(tmp_path / "out.jsonl").imported == 0  # already there: skipped
    other.close()


@pytest.mark.parametrize(
    "content, problem",
    [
        ('{"text": "ok"}\nnot json\n', "line 2: not JSON"),
        ('{"text": "ok"}\n["a list"]\n', "line 2: each line must be a JSON object"),
        ('{"txt": "typo"}\n', "line 1: a fact needs a 'text' field"),
        ('{"text": ""}\n', "line 1: a fact cannot be empty"),
        ('{"text": "x", "importance": 7}\n', "line 1: importance must lie in [0, 1]"),
        ('{"text": "x", "status": "zombie"}\n', "line 1: status must be one of"),
        ('{"text": "x", "created_at": "yesterday"}\n', "line 1: 'yesterday' is not an ISO-8601 time"),
        ('{"text": "x", "user": "a b"}\n', "line 1: invalid user name"),
        ('{"text": "x", "pinned": "false"}\n', "line 1: pinned must be true or false"),
        ('{"text": "x", "stability": Infinity}\n', "line 1: stability must be a finite number"),
        ('{"text": "x", "recall_count": -5}\n', "line 1: recall_count must be a whole number"),
        ('{"text": "x", "importance": true}\n', "line 1: importance must be a finite number"),
        ('{"text": "x", "created_at": "9999-01-01"}\n', "line 1: '9999-01-01' lies outside"),
    ],
)
def test_malformed_import_names_the_line_and_imports_nothing(store, tmp_path, content, problem):
    store.add("existing", now=T0)
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ImportFormatError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        store.import_jsonl(path)
    assert [f.text for f in store.facts()] == ["existing"]


def test_store_switches_to_hnsw_when_large_and_keeps_results(tmp_path, embedder):
    config = StoreConfig(index=IndexConfig(hnsw_threshold=300))
    s = MemoryStore.open(tmp_path / "s", embedder=embedder, config=config)
    texts = [f"note {i}: the {w} is {c}" for i, (w, c) in enumerate(
        (w, c) for w in ("door", "wall", "roof", "car", "boat") for c in range(80))]
    s.add_many(texts, now=T0, dedupe=False)
    uid_index = s.indexes.get(s.ledger.user_id("default"))
    assert uid_index.kind == "hnsw" and uid_index.live_count == 400
    hits = s.search(texts[123], k=1, now=T0)
    assert hits[0].fact.text == texts[123]
    for f in s.facts()[:150]:
        s.forget(f.id, now=T0)  # tombstones pile up, then it rebuilds (and below 150 goes back to exact)
    index = s.indexes.get(s.ledger.user_id("default"))
    assert index.live_count == 250 and index.kind == "flat"  # rebuilt once tombstones passed 20 %
    assert all(h.fact.status == "active" for h in s.search("the door is", k=20, now=T0))
    s.close()


def hnsw_store(tmp_path, embedder, n=400):
    s = MemoryStore.open(tmp_path / "h", embedder=embedder, config=StoreConfig(index=IndexConfig(hnsw_threshold=300)))
    texts = [f"entry {i}: the {w} is {c}" for i, (w, c) in enumerate((w, c) for w in ("door", "wall", "roof", "car") for c in range(n // 4))]
    return s, s.add_many(texts, now=T0, dedupe=False)


def test_hnsw_forget_restore_and_hard_forget(tmp_path, embedder):
    s, facts = hnsw_store(tmp_path, embedder)
    target = facts[123]
    assert s.search(target.text, k=1, now=T0)[0].fact.id == target.id
    s.forget(target.id, now=T0)
    assert target.id not in {h.fact.id for h in s.search(target.text, k=10, now=T0)}
    s.restore(target.id, now=T0)
    assert s.search(target.text, k=1, now=T0)[0].fact.id == target.id
    index = s.indexes.get(s.ledger.user_id("default"))
    assert index.kind == "hnsw" and len(set(index.ids().tolist())) == len(index.ids())
    s.forget(target.id, hard=True, now=T0)
    assert target.id not in {h.fact.id for h in s.search(target.text, k=10, now=T0)}
    s.close()


def test_bulk_load_without_dedupe_is_searchable_after_catching_up(tmp_path, embedder, caplog):
    import logging

    s, facts = hnsw_store(tmp_path, embedder)
    more = s.add_many([f"late entry {i}: the boat is {i}" for i in range(50)], now=T0, dedupe=False)
    assert s.search("late entry 17: the boat is 17", k=1, now=T0)[0].fact.id == more[17].id
    s.add_many([f"last entry {i}" for i in range(20)], now=T0, dedupe=False)
    s.close()  # indexes what the bulk load left behind, so the next process finds the file ready
    with caplog.at_level(logging.WARNING):
        s = MemoryStore.open(tmp_path / "h", embedder=embedder, config=StoreConfig(index=IndexConfig(hnsw_threshold=300)))
        assert s.indexes.get(s.ledger.user_id("default")).live_count == 470
    assert not caplog.records
    s.close()


def test_a_dormant_fact_told_again_comes_back_instead_of_a_copy(store):
    fact = store.add("My locker number is 77.", importance=0.0, now=T0)
    store.decay(now=days(40))
    assert store.get(fact.id).status == "dormant"
    again = store.add("my locker number is 77", now=days(41))
    assert again.id == fact.id and again.reinforced and again.status == "active"
    assert [e.kind for e in store.history(fact.id)][-2:] == ["reinforce", "restore"]
    assert len(store.facts(include_dormant=True)) == 1


def test_times_outside_1970_to_9000_are_refused(store):
    from datetime import timezone

    with pytest.raises(InvalidInput, match="between 1970 and 9000"):
        store.add("x", now=datetime(9500, 1, 1, tzinfo=timezone.utc))
    fact = store.add("a fact", now=T0)
    assert store.explain(fact.id, now=datetime(8999, 1, 1, tzinfo=timezone.utc)).fades_at is not None


def test_export_import_round_trips_unusual_characters(store, tmp_path, embedder):
    text = "line\u2028separator, paragraph\u2029sign, next\x85line and \"quotes\" 🙂"
    store.add(text, now=T0)
    store.export_jsonl(tmp_path / "x.jsonl")
    other = MemoryStore.open(tmp_path / "o", embedder=embedder)
    assert other.import_jsonl(tmp_path / "x.jsonl").imported == 1
    assert other.facts()[0].text == text
    other.close()


def test_stats_counts_facts_per_user_and_status(store):
    store.add_many(["a fact", "b fact"], now=T0)
    store.add("c fact", user="bob", now=T0)
    store.forget(store.facts()[0].id, now=T0)
    stats = store.stats()
    by_user = {u.user: u for u in stats.users}
    assert (by_user["default"].active, by_user["default"].forgotten, by_user["bob"].active) == (1, 1, 1)
    assert stats.facts == 3 and stats.embedder == "hash-test" and stats.db_bytes > 0


def test_vectors_argument_skips_embedding_and_is_checked(store):
    v = np.eye(64, dtype=np.float32)[:2] * 3  # not unit length: normalised by the store
    facts = store.add_many(["first", "second"], vectors=v, now=T0)
    hit = store.search_vector(np.eye(64, dtype=np.float32)[1], k=1, now=T0)[0]
    assert hit.fact.id == facts[1].id and hit.similarity == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        store.add_many(["x"], vectors=np.zeros((1, 10), np.float32))


def test_stored_vectors_come_back_without_embedding_again(store):
    facts = store.add_many(["I live in Lisbon.", "My dog is called Rex."])
    vectors = store.vectors([facts[1].id, facts[0].id])
    assert vectors.shape == (2, store.embedder.dim)
    assert np.allclose(vectors, store.embed(["My dog is called Rex.", "I live in Lisbon."]), atol=1e-6)
    with pytest.raises(FactNotFound):
        store.vectors([999])


def test_update_edits_the_text_in_place_and_search_finds_the_new_text(store):
    lst = store.add("Shopping list: milk, eggs, batteries, bread", importance=0.8, now=T0)
    other = store.add("My sister Ana lives in Lisbon.", now=T0)
    store.mark_recalled([lst.id], now=days(1))
    edited = store.update(lst.id, "  Shopping list: milk, eggs, bread ", now=days(2))
    assert edited.id == lst.id and edited.text == "Shopping list: milk, eggs, bread"
    assert (edited.recall_count, edited.importance, edited.created_at) == (1, 0.8, T0)  # memory state kept
    assert store.get(lst.id) == edited and [f.id for f in store.facts()] == [lst.id, other.id]
    assert np.allclose(store.vectors([lst.id])[0], store.embed(["Shopping list: milk, eggs, bread"])[0], atol=1e-6)
    hits = store.search("Shopping list: milk, eggs, bread", k=2, now=days(2))
    assert hits[0].fact.id == lst.id and hits[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert "batteries" not in hits[0].fact.text


def test_edits_keep_every_old_text_in_the_history(store):
    fact = store.add("Trip to Rome on 3 May", now=T0)
    store.update(fact.id, "Trip to Rome on 10 May", now=days(1))
    store.update(fact.id, "Trip to Rome and Naples on 10 May", now=days(2), reason="the user added a stop")
    events = store.history(fact.id)
    assert [e.kind for e in events] == ["add", "edit", "edit"]
    assert [e.replaced_text for e in events] == [None, "Trip to Rome on 3 May", "Trip to Rome on 10 May"]
    assert [e.at for e in events[1:]] == [days(1), days(2)] and events[2].reason == "the user added a stop"
    assert store.explain(fact.id, now=days(2)).events == events
    assert store.update(fact.id, "Trip to Rome and Naples on 10 May", now=days(3)).text.endswith("10 May")
    assert len(store.history(fact.id)) == 3  # the same text again is no edit


def test_bad_edits_are_refused_and_lose_nothing(store):
    fact = store.add("My locker code is 4312.", now=T0)
    gone = store.add("My PIN is 9876.", now=T0)
    store.forget(gone.id, hard=True, now=T0)
    for call, error, message in (
        (lambda: store.update(999, "x"), FactNotFound, "no fact with id 999"),
        (lambda: store.update(gone.id, "My PIN is 1111."), FactNotFound, f"no fact with id {gone.id}"),
        (lambda: store.update(fact.id, "   "), InvalidInput, "cannot be empty"),
        (lambda: store.update(fact.id, "x" * 5000), InvalidInput, "at most"),
    ):
        with pytest.raises(error, match=message):
            call()
    store.forget(fact.id, now=T0)
    with pytest.raises(FactNotActive, match="forgotten and cannot be edited.*memchat restore"):
        store.update(fact.id, "My locker code is 1234.", now=T0)
    assert store.restore(fact.id, now=T0).text == "My locker code is 4312."
    assert [e.kind for e in store.history(fact.id)] == ["add", "forget", "restore"]


def test_an_edit_survives_reopening_the_store(tmp_path, embedder):
    s = MemoryStore.open(tmp_path / "s", embedder=embedder)
    facts = s.add_many([f"note {i} about the {w}" for i, w in enumerate(["sea", "sky", "hill", "road"] * 5)], now=T0)
    s.update(facts[3].id, "the red bicycle in the garage", now=T0)
    s.close()
    s = MemoryStore.open(tmp_path / "s", embedder=embedder)
    assert s.search("the red bicycle in the garage", k=1, now=T0)[0].fact.id == facts[3].id
    assert facts[3].id not in {h.fact.id for h in s.search(facts[3].text, k=3, now=T0)}
    assert s.history(facts[3].id)[-1].replaced_text == facts[3].text
    s.close()


def test_hnsw_edit_is_found_by_its_new_text_and_not_its_old(tmp_path, embedder):
    s, facts = hnsw_store(tmp_path, embedder)
    target = facts[123]
    assert s.search(target.text, k=1, now=T0)[0].fact.id == target.id
    new_text = "a wholly different note about zebras and quantum physics"
    s.update(target.id, new_text, now=T0)

    def found_by_the_new_text_only(store):
        hit = store.search(new_text, k=1, now=T0)[0]
        assert hit.fact.id == target.id and hit.similarity == pytest.approx(1.0, abs=1e-5)
        assert store.search("zebras and quantum physics", k=1, now=T0)[0].fact.id == target.id
        hits = store.search(target.text, k=10, now=T0)
        assert target.id not in {h.fact.id for h in hits} and len({h.fact.id for h in hits}) == 10

    found_by_the_new_text_only(s)
    s.close()
    s = MemoryStore.open(tmp_path / "h", embedder=embedder, config=s.config)
    found_by_the_new_text_only(s)
    index = s.indexes.get(s.ledger.user_id("default"))
    assert index.kind == "hnsw" and list(index.edited) == [target.id]  # the saved file, edited in place, not rebuilt
    s.close()


def test_writes_in_one_transaction_commit_together(store):
    old = store.add("My flight is at 7:45.", now=T0)
    with store.transaction():
        new = store.add("My flight is at 9:10 now.", now=days(1))
        store.supersede(old.id, new.id, now=days(1))
        other = sqlite3.connect(store.path / "memory.db")  # another process's view: not yet
        assert other.execute("SELECT text, status FROM facts").fetchall() == [("My flight is at 7:45.", "active")]
        other.close()
    assert [f.text for f in store.facts(now=days(1))] == ["My flight is at 9:10 now."]
    assert store.get(old.id).status == "dormant"


def test_an_error_in_a_transaction_undoes_every_write_in_it(store):
    kept = store.add("The hotel is called Skovly.", now=T0)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add("The museum trip is on the 14th.", now=T0)
            store.forget(kept.id, now=T0)
            assert store.search("museum trip", k=1, now=T0)  # a read inside makes the lexical scratch tables
            raise RuntimeError("the turn failed")
    assert [f.text for f in store.facts(now=T0)] == ["The hotel is called Skovly."]
    assert [h.fact.text for h in store.search("museum trip", k=5, now=T0)] == ["The hotel is called Skovly."]
    assert store.add("The museum trip is on the 14th.", now=T0).reinforced is False  # no trace of the undone one


def test_a_failed_write_inside_a_transaction_is_undone_alone(store):
    with store.transaction():
        kept = store.add("Check-in is from 3pm.", now=T0)
        with pytest.raises(FactNotFound):
            store.supersede(kept.id, 999_999, now=T0)
        store.add("Check-out is at 11am.", now=T0)
    assert sorted(f.text for f in store.facts(now=T0)) == ["Check-in is from 3pm.", "Check-out is at 11am."]
    assert store.get(kept.id).status == "active"


def test_a_newer_version_is_linked_both_stay_and_an_import_names_the_linked_fact_by_its_new_id(tmp_path):
    store = MemoryStore.open(tmp_path / "a", embedder=HashEmbedder())
    old = store.add("The plumber comes on thursday.", user="kim", source={"turn": 1})
    other = store.add("My sister lives in Rome.", user="kim")
    new = store.follow(store.add("The plumber moved to friday.", user="kim", source={"turn": 2}).id, old.id)
    assert new.follows == old.id and new.source["turn"] == 2 and store.get(old.id).status == "active"
    assert store.history(new.id)[-1].kind == "follow" and store.get(other.id).follows is None
    with pytest.raises(InvalidInput):
        store.follow(new.id, new.id)
    store.export_jsonl(tmp_path / "kim.jsonl")
    store.close()
    other_store = MemoryStore.open(tmp_path / "b", embedder=HashEmbedder())
    other_store.add("Something told first, so ids differ.", user="kim")
    other_store.import_jsonl(tmp_path / "kim.jsonl")
    by_text = {f.text: f for f in other_store.facts("kim")}
    assert by_text["The plumber moved to friday."].follows == by_text["The plumber comes on thursday."].id
    assert by_text["The plumber moved to friday."].source["turn"] == 2
