"""The assistant's turn: what it stores, updates, forgets and reports, over a real store and a tiny real
generator (untrained: these tests check memory behaviour, not wording; the shipped model's wording is
measured by `memchat eval recall`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import torch

from assistant.assistant import Assistant, AssistantConfig
from assistant.consolidation import speaks_of
from assistant.batching import collate, encode_history, vocabulary
from assistant.checkpoint import save_checkpoint
from assistant.errors import CheckpointError
from assistant.generator import GO, Generator, GeneratorConfig
from assistant.lines import Line
from lab.personal_data import conversations, training_examples

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def tiny_checkpoint(path, reads_history=False):
    """An untrained tiny chat generator over the vocabulary of a few training conversations."""
    examples = training_examples(conversations("train", 30, seed=0), seed=0)
    vocab = vocabulary([line.text for e in examples for line in e.context] + [e.reply for e in examples])
    torch.manual_seed(0)
    config = GeneratorConfig(dim=16, hops=1, max_reply=8, reads_history=reads_history)
    save_checkpoint(path, kind="generator-chat", model=Generator(len(vocab), config, go_id=vocab.id(GO)),
                    config=config, vocab=vocab)
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("model") / "chat.pt")


@pytest.fixture
def bot(store, checkpoint):
    return Assistant.load(store, user="ana", checkpoint=checkpoint)


def test_statements_are_stored_with_provenance_and_questions_and_small_talk_are_not(bot, store):
    told = bot.reply("My sister Ana moved to Lisbon.", now=NOW)
    assert told.intent == "statement" and [f.text for f in told.stored] == ["My sister Ana moved to Lisbon."]
    assert told.stored[0].source == {"session": 1, "turn": 1, "via": "chat"}
    asked = bot.reply("Where does my sister live?", now=NOW)
    chat = bot.reply("hello there", now=NOW)
    assert asked.stored == () and chat.stored == ()
    assert [f.text for f in store.facts("ana")] == ["My sister Ana moved to Lisbon."]
    assert asked.text and isinstance(asked.text, str)


def test_a_turn_that_fails_after_storing_leaves_no_write_behind(bot, store, monkeypatch):
    bot.reply("My flight is at 7:45.", now=NOW)

    def broken(*args, **kwargs):
        raise RuntimeError("the generator failed")

    monkeypatch.setattr("assistant.assistant.generate", broken)
    with pytest.raises(RuntimeError):
        bot.reply("Actually my flight is at 9:10 now.", now=NOW)  # stored and retired before generating
    assert [(f.text, f.status) for f in store.facts("ana", include_dormant=True)] == [
        ("My flight is at 7:45.", "active")]
    monkeypatch.undo()
    assert [f.text for f in bot.reply("Actually my flight is at 9:10 now.", now=NOW).stored] == [
        "My flight is at 9:10 now."]


def test_news_about_a_relative_named_by_name_alone_is_a_statement_about_them(bot, store):
    bot.reply("My wife is Sofia.", now=NOW)
    told = bot.reply("Sofia works as a teacher.", now=NOW)  # no "I", no "my": small talk but for the name
    assert told.intent == "statement" and [f.text for f in told.stored] == ["My wife Sofia works as a teacher."]
    assert bot.reply("Sofia!", now=NOW).stored == ()  # a name alone says nothing to store
    assert bot.reply("Sofia is great, thanks.", now=NOW).stored == ()  # nor does chatter about her
    assert bot.reply("Paulo works as a teacher.", now=NOW).stored == ()  # a name the user never gave anyone


def test_a_relatives_name_outlives_the_fact_that_gave_it_when_news_replaces_it(bot, store):
    first = bot.reply("My sister Ana moved to Lisbon.", now=NOW).stored[0]
    news = store.add("My sister now lives in Berlin.", user="ana", now=NOW)
    store.supersede(first.id, news.id, now=NOW)  # the name is only in the retired fact now
    told = bot.reply("Ana works as a nurse.", now=NOW)
    assert [f.text for f in told.stored] == ["My sister Ana works as a nurse."]
    assert told.replaced == ()  # what she does is no news on where she lives
    assert bot.reply("Paulo works as a nurse.", now=NOW).stored == ()  # no one's name
    boss = bot.reply("My boss is Tim.", now=NOW).stored[0]
    renamed = store.add("My boss is now Sarah.", user="ana", now=NOW)
    store.supersede(boss.id, renamed.id, now=NOW)
    assert [f.text for f in bot.reply("Tim lives in Leeds.", now=NOW).stored] == ["Tim lives in Leeds."]  # not
    # "My boss Tim ...": Tim is no longer your boss


def test_forget_it_forgets_what_was_just_said_and_everything_is_not_forgotten_at_once(bot, store):
    bot.reply("My sister Ana lives in Rome.", now=NOW)
    bike = bot.reply("I have a bike.", now=NOW).stored[0]
    everything = bot.reply("forget everything", now=NOW)
    assert everything.forgotten == () and "won't forget everything" in everything.text
    assert len(store.facts("ana")) == 2
    it = bot.reply("forget it", now=NOW)
    assert [f.id for f in it.forgotten] == [bike.id] and "bike" in it.text
    assert [f.text for f in store.facts("ana")] == ["My sister Ana lives in Rome."]
    assert bot.reply("forget it", now=NOW).forgotten == ()  # nothing said since


def test_a_statement_of_two_facts_stores_two_and_says_both(bot, store):
    told = bot.reply("I'm Tom, I'm 34 years old.", now=NOW)
    assert [f.text for f in told.stored] == ["I'm Tom.", "I'm 34 years old."] and told.replaced == ()
    assert "you're Tom and you're 34 years old" in told.text
    assert [f.text for f in store.facts("ana")] == ["I'm Tom.", "I'm 34 years old."]


def test_remember_requests_store_at_once_even_when_statements_wait_for_the_end_of_the_session(store, checkpoint):
    bot = Assistant.load(store, user="ana", checkpoint=checkpoint, config=AssistantConfig(consolidate="end_of_session"))
    bot.reply("Remember that my dog is called Rex.", now=NOW)
    bot.reply("I work at the harbour in Porto.", now=NOW)
    assert [f.text for f in store.facts("ana")] == ["My dog is called Rex."]
    consolidated = bot.end_session(now=NOW)
    assert [f.text for f in consolidated] == ["I work at the harbour in Porto."]
    assert consolidated[0].source["turn"] == 2
    assert bot.recent == ()  # short-term memory starts afresh


def test_a_new_fact_on_the_same_subject_retires_the_old_one_which_can_be_restored(bot, store):
    old = bot.reply("I live in Lisbon.", now=NOW).stored[0]
    update = bot.reply("Actually, I moved to Porto.", now=NOW + timedelta(days=1))
    assert [f.text for f in update.stored] == ["I moved to Porto."]
    assert [f.id for f in update.replaced] == [old.id]
    assert store.get(old.id).status == "dormant"
    assert [f.text for f in store.facts("ana")] == ["I moved to Porto."]
    store.restore(old.id)
    assert store.get(old.id).status == "active"


def test_a_fact_about_someone_else_is_not_an_update(bot, store):
    bot.reply("My sister lives in Lisbon.", now=NOW)
    bot.reply("My brother lives in Rome.", now=NOW)
    assert len(store.facts("ana")) == 2


def test_forgetting_in_words_one_fact_or_everything_about_a_topic(bot, store):
    bot.reply("My sister Ana lives in Lisbon.", now=NOW)
    bot.reply("My car is a red Volvo.", now=NOW)
    bot.reply("My car needs new tyres.", now=NOW)
    one = bot.reply("Forget that my sister Ana lives in Lisbon.", now=NOW)
    assert one.intent == "forget" and [f.text for f in one.forgotten] == ["My sister Ana lives in Lisbon."]
    assert "forgotten" in one.text and "your sister Ana lives in Lisbon" in one.text
    everything = bot.reply("Forget everything about my car.", now=NOW)
    assert sorted(f.text for f in everything.forgotten) == ["My car is a red Volvo.", "My car needs new tyres."]
    assert store.facts("ana") == []
    nothing = bot.reply("Forget that my uncle is a pilot.", now=NOW)
    assert nothing.forgotten == () and "couldn't find" in nothing.text


def test_forgetting_a_topic_that_matches_nothing_clearly_forgets_the_nearest_fact(store, checkpoint):
    careful = Assistant.load(store, user="ana", checkpoint=checkpoint, config=AssistantConfig(forget_nearest_above=None))
    careful.reply("I work at Wipro.", now=NOW)
    topic = "Forget everything about my employer."
    if store.matching("my employer", user="ana"):
        pytest.skip("this embedder matches the topic outright")
    assert careful.reply(topic, now=NOW).forgotten == ()
    nearest = Assistant.load(store, user="ana", checkpoint=checkpoint, config=AssistantConfig(forget_nearest_above=-1.0))
    assert [f.text for f in nearest.reply(topic, now=NOW).forgotten] == ["I work at Wipro."]


def test_what_do_you_know_about_me_lists_the_facts_in_the_second_person(bot):
    assert "don't know anything" in bot.reply("What do you know about me?", now=NOW).text
    bot.reply("I am allergic to peanuts.", now=NOW)
    listed = bot.reply("What do you know about me?", now=NOW)
    assert listed.intent == "list" and "You are allergic to peanuts." in listed.text


def test_facts_read_for_a_reply_are_reported_and_only_used_ones_are_reinforced(bot, store):
    fact = bot.reply("My sister Ana moved to Lisbon.", now=NOW).stored[0]
    reply = bot.reply("Where does my sister Ana live now?", now=NOW + timedelta(days=2))
    [recalled] = [r for r in reply.recalled if r.fact.id == fact.id]
    assert 0 < recalled.similarity <= 1 and 0 < recalled.retention <= 1 and 0 <= recalled.attention <= 1
    after = store.get(fact.id)
    assert after.recall_count == (1 if recalled.used else 0)


def test_a_question_about_one_relative_never_reads_another_relatives_fact(bot):
    bot.reply("My sister Ana lives in Lisbon.", now=NOW)
    bot.reply("I work as a nurse.", now=NOW)
    read = [r.fact.text for r in bot.reply("Where does my mother live?", now=NOW).recalled]
    assert "My sister Ana lives in Lisbon." not in read
    assert "My sister Ana lives in Lisbon." in [r.fact.text for r in bot.reply("Where does my sister live?", now=NOW).recalled]


def test_forgetting_reaches_short_term_memory_too(store, checkpoint):
    bot = Assistant.load(store, user="ana", checkpoint=checkpoint, config=AssistantConfig(consolidate="end_of_session"))
    bot.reply("Remember that my dog is called Rex.", now=NOW)
    bot.reply("My sister Ana lives in Lisbon.", now=NOW)  # pending until the session ends
    bot.reply("I work as a nurse.", now=NOW)
    assert bot.reply("Forget that my dog is called Rex.", now=NOW).forgotten
    assert not any("Rex" in line.text for line in bot.recent)
    assert "I work as a nurse." in [line.text for line in bot.recent]
    bot.reply("Forget that my sister Ana lives in Lisbon.", now=NOW)  # not stored yet: nothing to forget
    stored = [f.text for f in bot.end_session(now=NOW)]
    assert "I work as a nurse." in stored


def test_a_close_fact_the_generated_answer_leaves_out_is_quoted(store, checkpoint):
    quoting = Assistant.load(store, user="ana", checkpoint=checkpoint, config=AssistantConfig(quote_above=0.0))
    never = Assistant.load(store, user="bo", checkpoint=checkpoint, config=AssistantConfig(quote_above=None))
    for bot in (quoting, never):  # the same conversation, each on its own user's memory
        bot.reply("remember that my cat is called zorro", now=NOW)
    generated = never.reply("What is my pet's name?", now=NOW).text  # the untrained model's own words
    reply = quoting.reply("What is my pet's name?", now=NOW)
    if speaks_of(generated, "My cat is called zorro."):
        assert reply.text == generated
    else:
        assert reply.text == "You told me that your cat is called zorro." and reply.recalled[0].used
    assert "You told me" not in quoting.reply("I like tea.", now=NOW).text  # only questions are answered so


def test_short_term_memory_is_a_bounded_window(store, checkpoint):
    bot = Assistant.load(store, user="ana", checkpoint=checkpoint, config=AssistantConfig(window=4))
    for i in range(5):
        bot.reply(f"hello number {i}", now=NOW)
    assert len(bot.recent) == 4 and bot.recent[-2].text == "hello number 4"


def test_lines_leaving_the_window_are_carried_in_the_dialogue_state_until_the_session_ends(store, tmp_path):
    path = tiny_checkpoint(tmp_path / "history.pt", reads_history=True)
    bot = Assistant.load(store, user="ana", checkpoint=path, config=AssistantConfig(window=4))
    said = []
    for i in range(4):
        bot.reply(f"hello number {i}", now=NOW)
        said += [Line("user", f"hello number {i}"), bot.recent[-1]]
        assert (bot.carried is None) == (i < 2)  # 4 lines fit the window; then 2 leave it each turn
    with torch.no_grad():
        at_once = bot.model.carry(collate([encode_history(said[:4])], bot.vocab))
    assert torch.allclose(bot.carried.h, at_once.h, atol=1e-6) and list(bot.recent) == said[4:]
    bot.end_session(now=NOW)
    assert bot.carried is None and bot.recent == ()
    plain = Assistant.load(store, user="bo", checkpoint=tiny_checkpoint(tmp_path / "plain.pt"), config=AssistantConfig(window=2))
    for i in range(3):
        plain.reply(f"hello number {i}", now=NOW)
    assert plain.carried is None  # a model trained without it reads the window afresh


def test_users_are_kept_apart(store, checkpoint):
    Assistant.load(store, user="ana", checkpoint=checkpoint).reply("I live in Lisbon.", now=NOW)
    other = Assistant.load(store, user="bo", checkpoint=checkpoint)
    assert "don't know anything" in other.reply("What do you know about me?", now=NOW).text


def test_a_missing_checkpoint_is_a_clear_error(store, tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Assistant.load(store, checkpoint=tmp_path / "missing.pt")


def replacements(bot: Assistant, told: list[str], news: list[str]) -> dict[str, list[str]]:
    """Tell `told`, then each of `news`: what each of those retired."""
    for text in told:
        bot.reply(text, now=NOW)
    return {text: [f.text for f in bot.reply(text, now=NOW).replaced] for text in news}


def test_updates_by_the_word_rules_with_the_real_embedding_model(tmp_path, minilm, checkpoint):
    """With all-MiniLM-L6-v2 choosing the candidates and no detector: updates retire (or stand beside) the right
    fact only, and the newer value answers."""
    from memory_store import MemoryStore

    store = MemoryStore.open(tmp_path / "real", embedder=minilm)
    bot = Assistant.load(store, user="ana", checkpoint=checkpoint, updates=None)
    replaced = replacements(bot, [
        "I live in Lisbon.", "My sister Ana lives in Rome.", "I work at a bakery in Lisbon.",
        "My favourite colour is green.", "I'm 79, believe it or not."], [
        "Actually, I moved to Porto.", "My favourite colour is blue now.", "My sister moved to Paris.",
        "Please update your notes, I'm 91, believe it or not."])
    # The reader confirms a retirement only at 0.99 (`reader_update_threshold`), which the five readers of the
    # shipped ensemble reach together only for the age; the move, the colour and the sister's city keep the
    # old value as history, and the newer of the two answers (a version link or pooled reading).
    assert replaced == {
        "Actually, I moved to Porto.": [],
        "My favourite colour is blue now.": [],
        "My sister moved to Paris.": [],
        "Please update your notes, I'm 91, believe it or not.": ["I'm 79, believe it or not."],
    }
    assert "I work at a bakery in Lisbon." in [f.text for f in store.facts("ana")]
    for question, new, old in [("Where do I live?", "Porto", "Lisbon"), ("What is my favourite colour?", "blue", "green"),
                               ("Where does my sister live?", "Paris", "Rome")]:
        answer = bot.reply(question, now=NOW).text
        assert new in answer and old not in answer, (question, answer)
    store.close()
