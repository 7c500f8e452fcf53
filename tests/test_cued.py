"""Cued recall: a faded memory stays within reach of a question that cues it, and recalling it strengthens it
(the store's search_dormant / recall_dormant, and the assistant's hedged answer)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import T0
from memory_store import MemoryStore


def days(n: float):
    return T0 + timedelta(days=n)


def test_a_faded_memory_is_out_of_free_recall_but_a_cue_finds_it_and_brings_it_back(store):
    car = store.add("My car is a blue Volvo.", importance=0.0, now=T0)
    store.add("My sister Ana lives in Lisbon.", importance=1.0, now=T0)
    query = store.embed_query("My car is a blue Volvo")
    assert car.id not in {h.fact.id for h in store.search("My car is a blue Volvo", k=5, now=days(30))}
    assert [f.id for f in store.facts(now=days(30))] != [] and car.id not in {f.id for f in store.facts(now=days(30))}
    [hit] = store.search_dormant(query, k=1, now=days(30))
    assert hit.fact.id == car.id and hit.fact.status == "dormant" and hit.retention < 0.5
    [back] = store.recall_dormant([car.id], now=days(30))
    assert back.status == "active" and back.recall_count == 1 and back.stability > 5 * car.stability  # spacing effect
    assert store.search("My car is a blue Volvo", k=1, now=days(30))[0].fact.id == car.id
    assert store.history(car.id)[-1].reason == "recalled by a cue while dormant"


def test_decayed_memories_come_back_by_cue_but_replaced_and_forgotten_ones_do_not(store):
    old = store.add("I live in Lisbon.", importance=0.0, now=T0)
    new = store.add("I live in Porto.", importance=0.0, now=T0)
    store.supersede(old.id, new.id, now=T0)
    gone = store.add("My locker code is 1234.", importance=0.0, now=T0)
    store.forget(gone.id, now=T0)
    store.decay(now=days(20))  # written: Porto dormant in SQLite, out of the index
    assert store.get(new.id).status == "dormant"
    found = {h.fact.id for h in store.search_dormant(store.embed_query("I live in"), k=5, now=days(20))}
    assert found == {new.id}
    store.recall_dormant([new.id, old.id, gone.id], now=days(20))
    assert store.get(new.id).status == "active" and store.get(old.id).status == "dormant"
    assert store.get(gone.id).status == "forgotten"
    assert store.recall_dormant([new.id], now=days(20))[0].recall_count == 1  # active now: not recalled again


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory):
    from test_assistant import tiny_checkpoint

    return tiny_checkpoint(tmp_path_factory.mktemp("gen") / "tiny.pt")


def test_the_assistant_answers_a_faded_memory_with_a_hedge_and_never_says_it_was_not_told(
        tmp_path, minilm, tiny_generator):
    from assistant.assistant import Assistant

    store = MemoryStore.open(tmp_path / "s", embedder=minilm)
    bot = Assistant.load(store, user="u", checkpoint=tiny_generator)
    bot.reply("My car is a blue Volvo.", now=T0)
    bot.reply("My sister Ana lives in Lisbon.", now=T0)
    later = days(200)
    [car] = [f for f in store.facts("u") if "Volvo" in f.text]
    assert car.id not in {f.id for f in store.facts("u", now=later)}  # faded: out of free recall
    listed = bot.reply("What do you know about me?", now=later)
    assert "Volvo" not in listed.text
    reply = bot.reply("What car do I drive?", now=later)
    assert reply.text.startswith("I think you told me a while ago that") and "Volvo" in reply.text
    assert [r.fact.id for r in reply.recalled if r.used] == [car.id]
    again = store.get(car.id)
    assert again.status == "active" and again.recall_count == 1 and again.stability > car.stability
    assert "haven't told" not in bot.reply("What car do I drive?", now=later).text
    assert "Volvo" in bot.reply("What do you know about me?", now=later).text  # recalled: free recall again
