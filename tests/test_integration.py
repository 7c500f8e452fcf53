"""The store with the real all-MiniLM-L6-v2 embedder: paraphrases find their facts, forgetting by meaning."""

from __future__ import annotations

import pytest

from conftest import T0
from memory_store import MemoryStore

FACTS = [
    "My sister Ana lives in Lisbon.",
    "My car is a red Toyota Corolla.",
    "I am allergic to peanuts.",
    "My dog Rex is a beagle.",
    "I work as a nurse at Santa Maria hospital.",
    "My brother Tom studies physics in Berlin.",
    "I was born on 4 July 1990.",
    "My favourite food is sushi.",
]

QUESTIONS = [
    ("where does my sister live?", 0),
    ("what kind of vehicle do I drive", 1),
    ("is there anything I can't eat", 2),
    ("tell me about my pet", 3),
    ("what is my job", 4),
    ("what does my brother study", 5),
    ("when is my birthday", 6),
    ("what do I like to eat most", 7),
]


@pytest.fixture
def real_store(tmp_path, minilm):
    store = MemoryStore.open(tmp_path / "store", embedder=minilm)
    store.add_many(FACTS, now=T0)
    yield store
    store.close()


@pytest.mark.parametrize("question, expected", QUESTIONS)
def test_paraphrased_questions_find_their_fact(real_store, question, expected):
    assert real_store.search(question, k=1, now=T0)[0].fact.text == FACTS[expected]


def test_rephrased_fact_reinforces_rather_than_duplicates(real_store):
    again = real_store.add("my sister ana lives in lisbon", now=T0)
    assert again.reinforced and len(real_store.facts()) == len(FACTS)
    moved = real_store.add("My sister Ana lives in Porto.", now=T0)
    assert not moved.reinforced and len(real_store.facts()) == len(FACTS) + 1


def test_forget_by_meaning(real_store):
    gone = real_store.forget_matching("my pets", now=T0)
    assert [f.text for f in gone] == ["My dog Rex is a beagle."]
    gone = real_store.forget_matching("car", now=T0)
    assert [f.text for f in gone] == ["My car is a red Toyota Corolla."]
    assert len(real_store.facts()) == len(FACTS) - 2


def test_embedder_output_is_unit_length_float32(minilm):
    import numpy as np

    v = minilm.embed(["hello", "a much longer sentence about the weather in Lisbon today"])
    assert v.dtype == np.float32 and v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_numpy_and_sentence_transformers_engines_agree(minilm):
    """Small calls go through the numpy forward pass, bulk calls through sentence-transformers."""
    import numpy as np

    texts = FACTS + [q for q, _ in QUESTIONS] + ["", "Ünïcödé façade — naïve café 日本語 🙂", "word " * 300]
    small = minilm.embed(texts)  # numpy engine (the last text is cut at 256 tokens, as upstream)
    bulk = minilm.embed(texts * (minilm.bulk_from // len(texts) + 1))  # sentence-transformers engine
    assert minilm._numpy is not None and minilm._torch is not None
    assert np.min(np.sum(small * bulk[: len(texts)], axis=1)) > 0.99999


def test_matching_finds_by_the_words_the_store_holds_when_they_carry_the_meaning(tmp_path, minilm):
    store = MemoryStore.open(tmp_path / "words", embedder=minilm)
    store.add_many(["My dentist is Dr Ames on Hill Street.", "The dentist appointment is on May 3rd.",
                    "My old car was a red Fiat.", "My gym schedule is Monday and Thursday."], now=T0)
    named = store.matching("the dentist stuff")
    assert sorted(h.fact.id for h in named) == [1, 2] and all("lexical" in h.found_by for h in named)
    assert [h.fact.id for h in store.matching("the gym things")] == [4]
    assert store.matching("my old laptop") == []  # 'old' is held, but the laptop is what the request is about
    store.close()
