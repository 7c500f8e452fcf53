"""Search by words and by meaning: the lexical index, hybrid fusion, search modes and time windows."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import numpy as np
import pytest

from conftest import T0
from fakes import HashEmbedder
from memory_store import InvalidInput, MemoryStore, SearchConfig, StoreConfig
from memory_store.retrieval import fuse


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


FILLER = [f"note {i}: the {w} meeting moved to room {i % 7}" for i, w in enumerate(["weekly", "budget", "design"] * 40)]


@pytest.mark.parametrize("query", [
    'the "vault" code', "vault*", "NEAR(vault code)", "-vault", "(vault OR", "vault AND code", "code NOT vault",
    "col:vault", "^vault", "'", '"', "*", "()", "AND", "OR NEAR", "vault + code", "{vault}", "vault:", "über-vault",
])
def test_fts_syntax_in_a_query_never_raises_and_is_read_as_words(store, query):
    store.add_many(FILLER + ["The vault code is 4417."], now=T0)
    for mode in ("hybrid", "lexical", "dense"):
        hits = store.search(query, k=3, now=T0, mode=mode)
        assert len(hits) <= 3
    if "vault" in query.lower():
        assert store.search(query, k=1, now=T0, mode="lexical")[0].fact.text == "The vault code is 4417."


def test_a_query_of_punctuation_only_finds_nothing_by_words(store):
    store.add_many(FILLER, now=T0)
    assert store.search("?!", k=3, now=T0, mode="lexical") == []
    assert len(store.search("?!", k=3, now=T0)) == 3  # hybrid still has meaning


class KnownWordsEmbedder(HashEmbedder):
    """Sees only the words of a small vocabulary, as a sentence model may know nothing of a rare name."""

    VOCABULARY = set("the weekly budget design meeting moved to room note flight lands at gate when does arrive".split())

    def embed(self, texts):
        return super().embed([" ".join(w for w in re.findall(r"\w+", t.lower()) if w in self.VOCABULARY) for t in texts])


def test_hybrid_finds_a_rare_name_that_meaning_alone_misses(tmp_path):
    store = MemoryStore.open(tmp_path / "s", embedder=KnownWordsEmbedder())
    target = "Zsofia's flight lands at gate B42."
    store.add_many(FILLER[:30] + [target], now=T0)
    dense = [h.fact.text for h in store.search("when does Zsofia arrive", k=3, now=T0, mode="dense")]
    hybrid = store.search("when does Zsofia arrive", k=3, now=T0)
    assert target not in dense  # the query's only telling word is unknown to the embedder
    assert hybrid[0].fact.text == target and hybrid[0].found_by == ("lexical", "dense")
    assert -1 <= hybrid[0].similarity <= 1 and 0 < hybrid[0].score <= 1


def test_every_hit_says_which_signals_found_it(store):
    store.add_many(FILLER + ["The budget review is on Friday."], now=T0)
    hits = store.search("budget review Friday", k=10, now=T0)
    assert hits[0].fact.text == "The budget review is on Friday." and hits[0].found_by == ("lexical", "dense")
    assert all(set(h.found_by) <= {"lexical", "dense", "context"} and h.found_by for h in hits)
    assert all(h.found_by == ("lexical",) for h in store.search("budget review", k=5, now=T0, mode="lexical"))


def test_a_word_matches_its_other_forms(store):
    store.add_many(FILLER + ["I am running the Lisbon marathon."], now=T0)
    assert store.search("runs marathons", k=1, now=T0, mode="lexical")[0].fact.text == "I am running the Lisbon marathon."


def test_search_with_the_callers_vector_equals_search_that_embeds(store):
    store.add_many(FILLER + ["The budget review is on Friday."], now=T0)
    vector = store.embed_query("budget review")
    given, embedded = store.search("budget review", k=5, now=T0, vector=vector), store.search("budget review", k=5, now=T0)
    assert [(h.fact.id, h.found_by) for h in given] == [(h.fact.id, h.found_by) for h in embedded]
    assert [h.similarity for h in given] == pytest.approx([h.similarity for h in embedded], abs=1e-6)
    with pytest.raises(ValueError, match="shape"):  # as for add_many's vectors
        store.search("budget review", k=5, now=T0, vector=np.ones(3, dtype=np.float32))


def test_an_unknown_mode_is_refused(store):
    store.add("a fact", now=T0)
    with pytest.raises(InvalidInput, match="mode"):
        store.search("fact", mode="fuzzy")


def test_since_and_until_limit_search_to_when_it_was_said(store):
    old = store.add("I booked the dentist for March.", now=T0)
    new = store.add("I booked the dentist again for June.", now=days(20))
    store.add_many(FILLER, now=days(10))
    for mode in ("hybrid", "dense", "lexical"):
        ids = [h.fact.id for h in store.search("dentist", k=5, now=days(21), mode=mode, since=days(15))]
        assert new.id in ids and old.id not in ids
        ids = [h.fact.id for h in store.search("dentist", k=5, now=days(21), mode=mode, until=days(5))]
        assert ids == [old.id]
    assert [h.fact.id for h in store.search_vector(store.embed_query("dentist"), k=3, now=days(21), until=days(1))] == [old.id]
    with pytest.raises(InvalidInput):
        store.search("dentist", since=days(5), until=days(1))
    with pytest.raises(InvalidInput):
        store.search("dentist", since=datetime(2026, 1, 1))  # naive


def test_a_time_window_on_an_hnsw_index_is_searched_exactly(tmp_path, embedder):
    from memory_store import IndexConfig

    store = MemoryStore.open(tmp_path / "s", embedder=embedder, config=StoreConfig(index=IndexConfig(hnsw_threshold=100)))
    store.add_many([f"entry {i}: the door is {i}" for i in range(300)], now=T0)
    late = store.add_many([f"late entry {i}: the boat is {i}" for i in range(5)], now=days(3))
    hits = store.search_vector(store.embed_query("entry 2: the door is 2"), k=5, now=days(3), since=days(2))
    assert store.indexes.get(store.ledger.user_id("default")).kind == "hnsw"
    assert sorted(h.fact.id for h in hits) == sorted(f.id for f in late)
    store.close()


def test_edits_and_forgetting_reach_the_lexical_index(store):
    fact = store.add("Shopping list: milk, batteries", now=T0)
    store.add_many(FILLER, now=T0)
    store.update(fact.id, "Shopping list: milk, eggs", now=T0)
    assert store.search("batteries", k=3, now=T0, mode="lexical") == []
    assert store.search("eggs", k=1, now=T0, mode="lexical")[0].fact.id == fact.id
    store.forget(fact.id, now=T0)
    assert store.search("eggs", k=3, now=T0, mode="lexical") == []
    store.restore(fact.id, now=T0)
    assert store.search("eggs", k=1, now=T0, mode="lexical")[0].fact.id == fact.id


def test_users_are_kept_apart_by_words_too(store):
    store.add("My locker code is 5150.", user="ana", now=T0)
    store.add("The weather was fine.", user="ben", now=T0)
    assert store.search("locker code", k=3, user="ben", now=T0, mode="lexical") == []
    assert store.search("locker code", k=3, user="ana", now=T0, mode="lexical")[0].fact.user == "ana"


def test_a_user_with_few_of_the_stores_matches_still_gets_their_best(store):
    store.add_many([f"zeppelin {i}" for i in range(400)], user="ana", now=T0)  # short: better matches than bo's
    padding = "on a long grey afternoon by the old harbour wall near the station"
    mine = store.add_many([f"{padding} I saw a zeppelin", f"{padding} a zeppelin hangar", f"{padding} my zeppelin ticket"],
                          user="bo", now=T0)
    assert all(i not in {f.id for f in mine} for i, _ in store.lexical.search(1, "zeppelin", 200))  # ana's 200 best
    hits = store.search("zeppelin", k=3, user="bo", now=T0, mode="lexical")
    assert sorted(h.fact.id for h in hits) == sorted(f.id for f in mine)
    late = store.add("the zeppelin returns", user="ana", now=days(5))
    window = store.search("zeppelin", k=10, user="ana", now=days(5), mode="lexical", since=days(1))
    assert [h.fact.id for h in window] == [late.id]


def test_fusion_ranks_agreement_first_and_normalises_to_one():
    fused = fuse({"lexical": [1, 2, 3], "dense": [1, 3, 4]}, SearchConfig(rrf_k=60))
    assert list(fused.relevance)[0] == 1 and fused.relevance[1] == pytest.approx(1.0)
    assert fused.found_by[1] == ("lexical", "dense") and fused.found_by[4] == ("dense",)
    assert fused.relevance[3] > fused.relevance[2] > fused.relevance[4]
    weighted = fuse({"lexical": [2], "dense": [4]}, SearchConfig(lexical_weight=2.0, dense_weight=1.0))
    assert list(weighted.relevance) == [2, 4]


def test_a_weak_word_match_does_not_outrank_a_much_nearer_meaning():
    # 1 is nearest in meaning by far; 2 is a distant second in meaning and shares one common word with the query
    cfg = SearchConfig()
    fused = fuse({"lexical": [2], "dense": [1, 2]}, cfg, strength={2: 0.05}, similarity={1: 0.5, 2: 0.25})
    assert list(fused.relevance)[0] == 1
    strong = fuse({"lexical": [2], "dense": [1, 2]}, cfg, strength={2: 0.8}, similarity={1: 0.5, 2: 0.25})
    assert list(strong.relevance)[0] == 2  # the same rank with the query's telling words: it wins


def test_a_lexical_hits_strength_is_small_when_it_shares_only_common_words(store):
    store.add_many([f"my note number {i}" for i in range(15)] + [f"my walk in the park {i}" for i in range(25)]
                   + ["my zeppelin hangar"], now=T0)
    assert store.lexical.query_words("my note zeppelin") == ["zeppelin", "note"]  # 'my' is in every fact
    strength = dict(store.lexical.search(1, "my note zeppelin", 50))
    zeppelin = store.search("zeppelin", k=1, now=T0, mode="lexical")[0].fact.id
    assert strength[zeppelin] > 0.5 and len(strength) == 16
    assert max(s for i, s in strength.items() if i != zeppelin) < 0.2  # 'note' is in 15 of the 41 facts


def test_the_memory_said_right_after_a_found_one_is_found_by_context(store):
    store.add_many(FILLER[:30], now=T0)
    question = store.add("Zsofia asked me which gate her flight lands at.", now=days(1))
    answer = store.add("I told her: B42, at half past nine.", now=days(1) + timedelta(seconds=20))
    later = store.add("The plumber comes on Tuesday.", now=days(2))
    hits = store.search("which gate does Zsofia's flight land at", k=5, now=days(2))
    by_id = {h.fact.id: h for h in hits}
    assert hits[0].fact.id == question.id and "context" in by_id[answer.id].found_by
    assert later.id not in by_id  # said a day later: not the same conversation
    off = MemoryStore.open(store.path, embedder=store.embedder,
                           config=StoreConfig(search=SearchConfig(context_weight=0.0)))
    assert all("context" not in h.found_by for h in off.search("which gate does Zsofia's flight land at", k=5, now=days(2)))
    off.close()


def test_context_never_crosses_users_or_time_windows(store):
    store.add("Ana's locker code is 5150.", user="ana", now=T0)
    store.add("The weather was fine.", user="ben", now=T0 + timedelta(seconds=1))
    store.add("Ana's bike is blue.", user="ana", now=T0 + timedelta(seconds=2))
    hits = store.search("locker code", k=3, user="ana", now=T0 + timedelta(minutes=1))
    assert [h.fact.text for h in hits] == ["Ana's locker code is 5150.", "Ana's bike is blue."]
    assert "context" in hits[1].found_by
    window = store.search("locker code", k=3, user="ana", now=T0 + timedelta(minutes=1),
                          until=T0 + timedelta(seconds=1))
    assert [h.fact.text for h in window] == ["Ana's locker code is 5150."]


def test_the_default_mode_is_configurable(tmp_path, embedder):
    store = MemoryStore.open(tmp_path / "s", embedder=embedder, config=StoreConfig(search=SearchConfig(mode="dense")))
    store.add_many(FILLER, now=T0)
    assert all(h.found_by == ("dense",) for h in store.search("budget", k=5, now=T0))
    store.close()
    with pytest.raises(ValueError):
        SearchConfig(mode="fuzzy")


def test_common_words_are_left_out_of_a_large_stores_query(tmp_path, embedder):
    store = MemoryStore.open(tmp_path / "s", embedder=embedder, config=StoreConfig(search=SearchConfig(common_min_facts=100, common_share=0.1)))
    store.add_many([f"my note number {i}" for i in range(200)] + ["my zeppelin"], now=T0)
    assert store.lexical.query_words("my zeppelin") == ["zeppelin"]
    assert store.lexical.query_words("my note") == []  # every word is in most facts
    assert store.search("my zeppelin", k=1, now=T0, mode="lexical")[0].fact.text == "my zeppelin"
    store.close()


def test_a_large_stores_query_reads_its_rarest_words_within_the_postings_budget(tmp_path, embedder):
    store = MemoryStore.open(tmp_path / "s", embedder=embedder, config=StoreConfig(search=SearchConfig(max_postings=150)))
    store.add_many([f"my note number {i}" for i in range(200)] + ["my zeppelin note"], now=T0)
    assert store.lexical.query_words("my zeppelin note") == ["zeppelin"]  # 'my' and 'note' pass the budget
    assert store.lexical.query_words("my note") == ["my"]  # the rarest word is kept even alone
    store.close()
