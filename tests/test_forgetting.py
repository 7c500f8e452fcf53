"""Forgetting by reading (`assistant.forgetting`), with a stand-in reader whose choices the test sets: what
is forgotten, a list item taken out, a question back when unclear, nothing when the reader finds nothing;
and the reader's veto on updates."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from assistant.assistant import Assistant
from assistant.reading import Reading
from assistant.settings import AssistantConfig
from test_assistant import tiny_checkpoint

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


class KeywordReader:
    """Chooses the first memory holding the request's last word (none when no memory does)."""

    def read(self, question, memories, threshold=None, pooled=None, alike=None, ages=None):
        word = question.text.lower().split()[-1].strip(".?!")
        chances = tuple(1.0 if word in m.text.lower() else 0.0 for m in memories)
        chosen = next((i for i, c in enumerate(chances) if c), None)
        return Reading(chances, 0.0 if chosen is not None else 1.0, chosen, word if chosen is not None else "",
                       () if chosen is None else (chosen,))

    def span(self, question, memory):
        return memory.text


@pytest.fixture
def bot(store, tmp_path):
    bot = Assistant.load(store, user="kim", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), turns=None, reader=None)
    bot.reader = KeywordReader()
    return bot


def test_every_memory_the_reader_names_goes_and_nothing_else(bot, store):
    for text in ("My flatmate Joe plays the bass.", "Joe is moving to Leeds with my flatmate.", "I like tea."):
        store.add(text, user="kim", now=NOW)
    reply = bot.reply("forget everything about my flatmate", now=NOW)
    assert sorted(f.text for f in reply.forgotten) == ["Joe is moving to Leeds with my flatmate.",
                                                       "My flatmate Joe plays the bass."]
    assert [f.text for f in store.facts("kim")] == ["I like tea."] and reply.stored == ()


def test_one_item_of_a_list_is_taken_out_and_the_list_kept(bot, store):
    fact = store.add("Packing list: charger, passport and sunglasses.", user="kim", now=NOW)
    reply = bot.reply("forget the sunglasses", now=NOW)
    assert reply.removed == ("sunglasses",) and reply.forgotten == ()
    assert store.get(fact.id).text == "Packing list: charger and passport." and store.get(fact.id).status == "active"
    assert any(e.replaced_text == "Packing list: charger, passport and sunglasses." for e in store.history(fact.id))


def test_a_request_that_could_mean_two_items_is_asked_about_and_changes_nothing(bot, store):
    fact = store.add("Buy oat milk, eggs and milk.", user="kim", now=NOW)
    reply = bot.reply("forget the milk", now=NOW)
    assert "Which one" in reply.text and reply.forgotten == () and reply.edited == ()
    assert store.get(fact.id).text == "Buy oat milk, eggs and milk."


def test_nothing_goes_when_the_reader_finds_nothing(bot, store):
    store.add("My sister lives in Rome.", user="kim", now=NOW)
    reply = bot.reply("forget my dentist", now=NOW)
    assert reply.forgotten == () and "couldn't find" in reply.text and len(store.facts("kim")) == 1


def test_the_reader_vetoes_an_update_it_does_not_confirm(store, tmp_path):
    bot = Assistant.load(store, user="kim", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), turns=None, reader=None)
    bot.reader = KeywordReader()
    old = bot.reply("My sister lives in Rome.", now=NOW).stored[0]
    news = bot.reply("My sister lives in Madrid now.", now=NOW)  # the word rules call it news on Rome
    assert news.replaced == ()  # ... but the reader, reading it, names no memory holding "now"
    assert store.get(old.id).status == "active"


class SureAloneReader(KeywordReader):
    """Among several memories, the ones holding the request's last word share most of the probability;
    read alone against "none", any memory seems named (as a lone memory often does to the real reader)."""

    def read(self, question, memories, threshold=None, pooled=None, alike=None, ages=None):
        if len(memories) == 1:
            return Reading((0.9,), 0.1, 0, memories[0].text)
        word = question.text.lower().split()[-1].strip(".?!")
        weights = [8.0 if word in m.text.lower() else 1.0 for m in memories]
        chances = tuple(w / (sum(weights) + 1.0) for w in weights)
        chosen = max(range(len(memories)), key=lambda i: chances[i])
        return Reading(chances, 1.0 / (sum(weights) + 1.0), chosen, word)


@pytest.mark.parametrize("share, kept", [(0.3, ["I like tea.", "The boiler was serviced in May."]), (0.0, [])])
def test_another_memory_goes_only_if_it_is_also_likely_among_the_others(store, tmp_path, share, kept):
    config = dataclasses.replace(AssistantConfig(), forget_share=share)
    bot = Assistant.load(store, user="kim", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), config=config,
                         turns=None, reader=None)
    bot.reader = SureAloneReader()
    for text in ("My flatmate Joe plays the bass.", "Joe is moving to Leeds with my flatmate.", "I like tea.",
                 "The boiler was serviced in May."):
        store.add(text, user="kim", now=NOW)
    bot.reply("forget everything about my flatmate", now=NOW)
    assert sorted(f.text for f in store.facts("kim")) == kept


class FairlySureReader(KeywordReader):
    """As KeywordReader, but 0.9 sure of the memories holding the last word (short of a retirement's 0.99),
    and choosing the first told of them."""

    def read(self, question, memories, threshold=None, pooled=None, alike=None, ages=None):
        found = super().read(question, memories, threshold, pooled, alike, ages)
        if found.chosen is None:
            return found
        chances = tuple(0.9 * c / sum(found.chances) for c in found.chances)
        first = min((i for i, c in enumerate(chances) if c), key=lambda i: ages[i] if ages is not None else i)
        return dataclasses.replace(found, chances=chances, none=0.1, chosen=first, versions=(first,))


def _linking_bot(store, tmp_path, **settings):
    config = dataclasses.replace(AssistantConfig(), **settings)
    bot = Assistant.load(store, user="kim", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), config=config,
                         turns=None, reader=None)  # a fake embedder: the update models give way to the word rules
    bot.reader = FairlySureReader()
    return bot


def test_news_the_reader_is_not_sure_enough_to_retire_by_is_stored_as_a_newer_version_and_answers(store, tmp_path):
    bot = _linking_bot(store, tmp_path)
    (old,), _ = bot.remember("My sister lives in a flat in Rome.", now=NOW)
    (other,), _ = bot.remember("I booked the plumber for thursday.", now=NOW)
    (news,), replaced = bot.remember("My sister lives in Madrid, she left rome", now=NOW)  # the rules: news on it
    assert replaced == [] and store.get(old.id).status == "active"  # 0.9: no retirement, both stay
    assert news.follows == old.id and other.follows is None
    reply = bot.reply("where does my sister live", now=NOW)  # the reader reads the older one ...
    assert [r.fact.id for r in reply.recalled if r.used] == [news.id]  # ... its newer version answers
    assert "madrid" in reply.text.lower()
    reply = bot.reply("where is my sister's flat", now=NOW)  # what the newer one does not tell, the older does
    assert [r.fact.id for r in reply.recalled if r.used] == [old.id]


@pytest.mark.parametrize("alone, linked", [(None, False), (0.8, True)])
def test_a_statement_only_the_reader_reads_as_news_is_linked_only_when_the_reader_alone_may(store, tmp_path, alone,
                                                                                           linked):
    bot = _linking_bot(store, tmp_path, version_alone_above=alone)
    (old,), _ = bot.remember("I booked the plumber for thursday.", now=NOW)
    (news,), _ = bot.remember("Change of plan, it's friday now with the same plumber.", now=NOW)  # rules: no news
    assert news.follows == (old.id if linked else None)
    used = [r.fact.id for r in bot.reply("when is the plumber", now=NOW).recalled if r.used]
    assert used == [news.id if linked else old.id]


def test_forgetting_a_memory_forgets_its_versions_too(store, tmp_path):
    bot = _linking_bot(store, tmp_path, version_alone_above=0.8)
    (old,), _ = bot.remember("My sister lives in a flat in Rome.", now=NOW)
    (news,), _ = bot.remember("Madrid now for my sister, she left the flat", now=NOW)
    (other,), _ = bot.remember("I booked the plumber for thursday.", now=NOW)
    assert news.follows == old.id
    reply = bot.reply("forget about rome", now=NOW)  # the reader names the older one only
    assert sorted(f.id for f in reply.forgotten) == [old.id, news.id]
    assert [f.id for f in store.facts("kim")] == [other.id]
