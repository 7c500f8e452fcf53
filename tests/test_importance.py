"""Importance estimated when a memory is stored: the shipped model over the real MiniLM embedding."""

from __future__ import annotations

from conftest import T0
from memory_store import MemoryStore, StoreConfig
from memory_store.importance import SHIPPED, load_importance


def test_what_a_person_needs_kept_starts_far_more_stable_than_a_passing_remark(tmp_path, minilm):
    store = MemoryStore.open(tmp_path / "s", embedder=minilm)
    vital = ["My sister Ana lives in Lisbon.", "I am allergic to peanuts.", "I live at 12 Rose Street.",
             "My mum's birthday is on 14 May.", "I have a dentist appointment on 3 March."]
    passing = ["I had soup today.", "The bus was late again this morning.", "It is raining a lot."]
    high, low = store.estimate_importance(vital), store.estimate_importance(passing)
    assert min(high) > 0.6 and max(low) < 0.35, (high, low)
    kept = store.add(vital[1], now=T0)
    remark = store.add(passing[0], now=T0)
    assert kept.stability > 5 * remark.stability
    assert store.add("I like green tea.", importance=0.1, now=T0).importance == 0.1  # the caller's wins
    assert MemoryStore.open(tmp_path / "t", embedder=minilm, config=StoreConfig(estimate_importance=False)).add(
        passing[1], now=T0).importance == 0.5


def test_the_shipped_model_is_small_and_says_how_it_was_made():
    model = load_importance(SHIPPED)
    assert SHIPPED.stat().st_size < 50_000 and model.classes == ("passing", "ordinary", "vital")
    assert model.meta["command"].startswith("memchat train-importance") and model.meta["metrics"]["seconds"] > 0
    assert model.meta["metrics"]["eval_accuracy"] > 80


def test_another_embedder_gets_the_default_importance(store):
    assert store.add("I am allergic to peanuts.", now=T0).importance == 0.5  # the fake embedder: no model reads it
