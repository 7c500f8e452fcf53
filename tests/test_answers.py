"""The answer finder: its training pairs, its choice and veto, a real training run, and the shipped one
answering questions phrased unlike any fact, through the assistant."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
import numpy as np
import torch

from assistant.answers import NONE, AnswerFinder, FinderConfig, choose_answer, load_finder
from assistant.assistant import DEFAULT_ANSWERS, NOT_KNOWING, NOT_TOLD, Assistant, AssistantConfig
from assistant.consolidation import adds
from assistant.pairs import PairClassifier, PairConfig
from assistant.text import second_person
from fakes import HashEmbedder
from lab.answer_training import AnswerTrainConfig, answer_pairs, relation_sentences, train_answer_finder
from lab.relations import catalogue
from memory_store import MemoryStore
from test_assistant import tiny_checkpoint

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
# These tests are about the answer finder and the word rules around it: the path the assistant takes without
# the turn model and the memory reader (tests/test_open_world.py tests the shipped assistant with them).
FINDER_ONLY = {"turns": None, "reader": None}


def test_pairs_hold_one_answering_fact_per_question_then_facts_of_other_relations():
    pairs = answer_pairs("train", 50, negatives=4, hard=0.5, seed=1)
    assert len(pairs) == 250
    relation_of_question = {q: r.key for r in catalogue("train").relations for qs in r.questions.values() for q in qs}
    for i in range(0, len(pairs), 5):
        question = pairs[i][0]
        assert [y for *_, y in pairs[i : i + 5]] == [1, 0, 0, 0, 0]
        assert {q for q, _, _ in pairs[i : i + 5]} == {question}
        key = relation_of_question.get(question) or next(k for q, k in relation_of_question.items()
                                                          if q.lower().rstrip(".?!") == question)  # typed casually
        assert pairs[i][1] != pairs[i + 1][1] and key


def test_pairs_of_the_two_splits_share_no_question():
    train = {q.lower().rstrip(".?!") for q, _, _ in answer_pairs("train", 400, 0, 0.5, seed=0)}
    held_out = {q.lower().rstrip(".?!") for q, _, _ in answer_pairs("eval", 400, 0, 0.5, seed=0)}
    assert train and held_out and not train & held_out


def test_the_finder_picks_the_most_probable_fact_not_about_someone_else():
    facts = ["My sister Ana lives in Lisbon.", "My mother Rosa lives in Porto.", "I like tea."]
    assert choose_answer("Where does my mother live?", facts, [0.9, 0.7, 0.1], 0.5) == 1  # the sister is vetoed
    assert choose_answer("What do I drink?", facts, [0.2, 0.1, 0.8], 0.5) == 2
    assert choose_answer("What's my favourite film?", facts, [0.2, 0.3, 0.4], 0.5) is None
    sister = ["My sister lives in Berlin.", "My sister works as a nurse.", "I like tea."]
    assert choose_answer("What does my sister do?", sister, [0.99, 0.87, 0.0], 0.3) == 0  # by probability alone
    assert choose_answer("What does my sister do?", sister, [0.99, 0.87, 0.0], 0.3, [0.30, 0.42, 0.5]) == 1
    assert choose_answer("What does my sister do?", sister, [0.99, 0.6, 0.0], 0.3, [0.30, 0.42, 0.5]) == 0  # not close


def test_sentences_hold_questions_and_statements_of_each_relation_and_small_talk_as_none():
    sentences = relation_sentences("train", 400, seed=0, small_talk=1)
    keys = {r.key for r in catalogue("train").relations}
    assert {k for _, k in sentences} - {NONE} <= keys and len({k for _, k in sentences}) > 30
    assert sum(k == NONE for _, k in sentences) > 100
    assert 60 < sum(t.rstrip().endswith("?") for t, k in sentences if k != NONE) < 200  # a quarter questions
    fit = {t.lower().rstrip(".?!") for t, _ in relation_sentences("train", 3000, 0, phrasings="fit")}
    check = {t.lower().rstrip(".?!") for t, _ in relation_sentences("train", 3000, 0, phrasings="check")}
    questions = {q.lower().rstrip(".?!") for r in catalogue("train").relations for qs in r.questions.values() for q in qs}
    assert fit & questions and check & questions and not (fit & check & questions)


def test_training_saves_a_finder_that_loads_and_scores(tmp_path):
    embedder = HashEmbedder(dim=32)
    config = AnswerTrainConfig(sentences=300, small_talk=1, dev_sentences=60, epochs=2)
    result = train_answer_finder(config, embedder.embed, embedder.name, tmp_path / "answers.pt")
    assert 1 <= result.best_epoch <= 2 and 0 <= result.dev_accuracy <= 100 and 0 <= result.held_out["f1"] <= 100
    finder, metrics = load_finder(tmp_path / "answers.pt")
    assert metrics["embedder"] == "hash-test" and metrics["held_out"] == result.held_out
    assert finder.config.relations[-1] == NONE and len(finder.config.relations) == len(catalogue("train").relations) + 1
    vectors = embedder.embed(["Where do I live?", "I live in Lisbon.", "I like tea."])
    p = finder.probabilities(vectors[0], vectors[1:])
    assert len(p) == 2 and all(0 <= x <= 1 for x in p)
    assert finder.relation(vectors[1])[0] in finder.config.relations


@pytest.mark.skipif(not DEFAULT_ANSWERS.exists(), reason="the shipped finder is written by `memchat train-answers`")
def test_the_shipped_finder_answers_paraphrases_and_knows_what_it_was_not_told(tmp_path, minilm):
    from memory_store import MemoryStore

    store = MemoryStore.open(tmp_path / "real", embedder=minilm)
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), **FINDER_ONLY)
    assert bot.answers is not None
    for fact in ("My mother is called Bakari.", "I grew up in Danang.", "My car is a teal Jeep.", "I play the violin.",
                 "My favourite animal is the horse.", "I adopted a chinchilla and named it Goufom.",
                 "Afua, my grandmother, lives in Kosice.", "for work i travel to tunis every day"):
        told = bot.reply(fact, now=NOW)
        assert told.stored and second_person(fact).rstrip(".").lower() in told.text.lower()  # says what it stored
    asked = {
        "Remind me what my mum is called.": "Bakari",
        "Where did I spend my childhood?": "Danang",
        "What colour is the car I drive?": "teal",
    }
    for question, value in asked.items():
        reply = bot.reply(question, now=NOW)
        assert value.lower() in reply.text.lower(), (question, reply.text)
        chosen = [r for r in reply.recalled if r.used]
        assert len(chosen) == 1 and value in chosen[0].fact.text and chosen[0].answers is not None
    forgot = bot.reply("Drop all your notes on my pet.", now=NOW)  # by what it is about, not by its words
    assert [f.text for f in forgot.forgotten] == ["I adopted a chinchilla and named it Goufom."]
    forgot = bot.reply("Drop all your notes on my office.", now=NOW)  # far from it in the embedding space
    assert [f.text for f in forgot.forgotten] == ["for work i travel to tunis every day"]
    other = bot.reply("Forget that my aunt Zanele lives in Durban.", now=NOW)  # never told: nothing else goes
    assert "Afua, my grandmother, lives in Kosice." not in [f.text for f in other.forgotten]
    unknown = bot.reply("Which food do I like best?", now=NOW)
    assert unknown.text == NOT_TOLD or "know" in unknown.text.lower()
    assert not any(v.lower() in unknown.text.lower() for v in ("Bakari", "Danang", "teal", "Jeep", "violin", "horse"))
    assert not any(r.used for r in unknown.recalled)
    store.close()


def test_a_relative_named_by_name_alone_is_the_one_the_user_gave_that_name(tmp_path, minilm):
    from memory_store import MemoryStore

    store = MemoryStore.open(tmp_path / "real", embedder=minilm)
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), **FINDER_ONLY)
    for fact in ("My sister Ana moved to Lisbon.", "I live in Porto.", "Tom, my brother, lives in Rome."):
        bot.reply(fact, now=NOW)
    moved = bot.reply("Actually, Ana lives in Madrid now.", now=NOW)
    assert [f.text for f in moved.stored] == ["My sister Ana lives in Madrid now."]
    assert [f.text for f in moved.replaced] == ["My sister Ana moved to Lisbon."]
    assert "your sister Ana lives in Madrid" in moved.text
    asked = bot.reply("Where does Ana live these days?", now=NOW)
    assert "Madrid" in asked.text and "Lisbon" not in asked.text and "Rome" not in asked.text
    assert [r.fact.text for r in asked.recalled if r.used] == ["My sister Ana lives in Madrid now."]
    store.close()


def finder_that_says(probability: float, dim: int) -> AnswerFinder:
    """A real finder whose every answer is `probability`: every sentence is about relation "x" with
    probability sqrt(p), else about none."""
    finder = AnswerFinder(FinderConfig(dim=dim, relations=("x", NONE)))
    about_x = math.sqrt(probability)
    with torch.no_grad():
        finder.classes.weight.zero_()
        finder.classes.bias.copy_(torch.tensor([math.log(about_x), math.log(1 - about_x)]))
    return finder.eval()


def test_a_question_no_fact_answers_is_not_answered_from_memory(store, tmp_path):
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), **FINDER_ONLY)
    bot.answers = finder_that_says(0.1, store.embedder.dim)
    for fact in ("My sister Ana lives in Lisbon.", "I drive a teal Jeep."):
        bot.reply(fact, now=NOW)
    reply = bot.reply("What is my favourite food?", now=NOW)
    assert not any(v in reply.text for v in ("Ana", "Lisbon", "teal", "Jeep"))
    assert reply.recalled and all(r.answers == pytest.approx(0.1) and not r.used for r in reply.recalled)
    assert all(f.recall_count == 0 for f in store.facts("ana"))


def test_the_fact_the_finder_chooses_is_the_only_one_read_and_is_told_in_full(store, tmp_path):
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), **FINDER_ONLY)
    bot.answers = finder_that_says(0.9, store.embedder.dim)
    bot.reply("My sister Ana lives in Lisbon.", now=NOW)
    bot.reply("I drive a teal Jeep.", now=NOW)
    reply = bot.reply("Where does my sister live?", now=NOW)  # the untrained generator cannot say it: quoted
    assert "Ana" in reply.text and "Lisbon" in reply.text
    used = [r for r in reply.recalled if r.used]
    assert [r.fact.text for r in used] == ["My sister Ana lives in Lisbon."]
    assert {f.text: f.recall_count for f in store.facts("ana")} == {"My sister Ana lives in Lisbon.": 1,
                                                                    "I drive a teal Jeep.": 0}


def detector_that_says(probability: float, dim: int) -> PairClassifier:
    detector = PairClassifier(PairConfig(dim=dim, hidden=4))
    with torch.no_grad():
        detector.net[2].weight.zero_()
        detector.net[2].bias.fill_(math.log(probability / (1 - probability)))
    return detector.eval()


def test_a_statement_about_the_same_relation_updates_a_fact_the_detector_missed(store, tmp_path):
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), **FINDER_ONLY)
    bot.updates = detector_that_says(0.1, store.embedder.dim)  # misses every update
    bot.answers = finder_that_says(0.9, store.embedder.dim)  # every statement is about the same relation
    old = bot.reply("I live in Lisbon.", now=NOW).stored[0]
    assert [f.id for f in bot.reply("I moved to Porto.", now=NOW).replaced] == [old.id]
    assert bot.reply("I also have a flat in Faro.", now=NOW).replaced == ()  # said as one more: kept
    without = Assistant.load(store, user="rui", checkpoint=tiny_checkpoint(tmp_path / "chat2.pt"),
                             config=AssistantConfig(same_relation_updates=None))
    without.updates, without.answers = bot.updates, bot.answers
    without.reply("I live in Lisbon.", now=NOW)
    assert without.reply("I moved to Porto.", now=NOW).replaced == ()


def finder_of(sentences: dict[str, str], embed) -> AnswerFinder:
    """A real finder that places each of `sentences` in its relation (sentence -> relation key), sure of it."""
    keys = sorted(set(sentences.values()))
    finder = AnswerFinder(FinderConfig(dim=embed.dim, relations=(*keys, NONE)))
    vectors = embed.embed(list(sentences))
    with torch.no_grad():
        finder.classes.weight.zero_()
        finder.classes.bias.zero_()
        for vector, key in zip(vectors, sentences.values()):
            finder.classes.weight[keys.index(key)] += 5 * torch.tensor(vector)  # P about 0.98
    return finder.eval()


def test_two_sentences_are_apart_only_when_each_is_surely_about_another_relation(store):
    sentences = {"I live in Lisbon.": "home", "I work at Unilever.": "employer"}
    finder = finder_of(sentences, store.embedder)
    home, work = store.embedder.embed(["I live in Lisbon.", "I work at Unilever."])
    vague = np.zeros_like(home)  # every class equally likely
    assert finder.apart(home, np.stack([work, home, vague]), sure=0.9) == [True, False, False]
    assert finder.apart(vague, np.stack([work]), sure=0.9) == [False]  # placed nowhere surely: not apart
    assert finder.apart(home, np.stack([work]), sure=0.995) == [False]  # not that sure


def test_a_statement_never_updates_a_fact_surely_about_another_relation(store, tmp_path):
    sentences = {"I live in Lisbon.": "home", "I work at Unilever.": "employer"}
    for config, replaced in ((AssistantConfig(), 0), (AssistantConfig(apart_above=None), 1)):
        bot = Assistant.load(store, user=f"u{replaced}", checkpoint=tiny_checkpoint(tmp_path / f"chat{replaced}.pt"),
                             config=config)
        bot.updates = detector_that_says(0.9, store.embedder.dim)  # takes everything for an update
        bot.answers = finder_of(sentences, store.embedder)
        bot.reply("I live in Lisbon.", now=NOW)
        assert len(bot.reply("I work at Unilever.", now=NOW).replaced) == replaced


def test_a_fact_about_the_same_relation_is_retired_before_one_only_the_detector_chose(store, tmp_path):
    job = "I moved to a job at Porto Bank."  # nearer to the statement than the fact it updates
    sentences = {"I live in Lisbon.": "home", "I moved to Porto.": "home", job: "employer"}
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"),
                         config=AssistantConfig(apart_above=None))  # no veto: the ranking alone decides
    bot.updates = detector_that_says(0.999, store.embedder.dim)  # takes both facts for updated
    bot.answers = finder_of(sentences, store.embedder)
    lisbon = store.add("I live in Lisbon.", user="ana", now=NOW)  # told before, both still hold
    store.add(job, user="ana", now=NOW)
    hits = [h.fact.text for h in store.search("I moved to Porto.", k=2, user="ana", now=NOW)]
    assert hits == [job, "I live in Lisbon."]
    assert [f.id for f in bot.reply("I moved to Porto.", now=NOW).replaced] == [lisbon.id]


def test_a_statement_marked_as_news_updates_its_likeliest_fact_below_the_models_thresholds(store, tmp_path):
    def bot_for(user: str, says: float, config: AssistantConfig = AssistantConfig()) -> Assistant:
        bot = Assistant.load(store, user=user, checkpoint=tiny_checkpoint(tmp_path / f"{user}.pt"), config=config)
        bot.updates = detector_that_says(says, store.embedder.dim)  # under the detector's threshold (0.5)
        bot.answers = finder_that_says(0.01, store.embedder.dim)  # no relation in common, nothing apart
        return bot

    plain = bot_for("ana", 0.3)
    plain.reply("I live in Lisbon.", now=NOW)
    assert plain.reply("I moved to Porto.", now=NOW).replaced == ()  # no model is sure: both kept
    marked = bot_for("rui", 0.3)
    old = marked.reply("I live in Lisbon.", now=NOW).stored[0]
    assert [f.id for f in marked.reply("Actually, I moved to Porto.", now=NOW).replaced] == [old.id]
    assert marked.reply("That has changed. I also have a flat in Faro.", now=NOW).replaced == ()  # "also": kept
    faint = bot_for("eva", 0.05)  # under `marked_updates` (0.1) too
    faint.reply("I live in Lisbon.", now=NOW)
    assert faint.reply("Actually, I moved to Porto.", now=NOW).replaced == ()
    off = bot_for("leo", 0.3, AssistantConfig(marked_updates=None))
    off.reply("I live in Lisbon.", now=NOW)
    assert off.reply("Actually, I moved to Porto.", now=NOW).replaced == ()


def test_news_answers_what_the_fact_it_replaced_answered(store, tmp_path):
    question, old, news = "What do I like to eat?", "My favourite food is porridge.", "Nothing beats halloumi for me."
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"), **FINDER_ONLY)
    others = {"I live in Lisbon.": "home", "My wife is Sofia.": "wife", "I work at Unilever.": "employer",
              "I play the cello.": "instrument", "I drive a Fiat.": "car"}
    bot.answers = finder_of({question: "food", old: "food", **others}, store.embedder)  # the news: placed nowhere
    porridge, halloumi = store.add(old, user="ana", now=NOW), store.add(news, user="ana", now=NOW)
    before = {r.fact.id: r.answers for r in bot.reply(question, now=NOW).recalled}
    assert before[porridge.id] > 0.9 and before[halloumi.id] < 0.3  # not an update yet: the news answers nothing
    store.supersede(porridge.id, halloumi.id, now=NOW)
    reply = bot.reply(question, now=NOW)
    assert "halloumi" in reply.text and "porridge" not in reply.text
    assert [r.fact.id for r in reply.recalled if r.used] == [halloumi.id] and reply.recalled[0].answers > 0.9


def test_a_forget_request_never_takes_the_nearest_fact_when_it_is_surely_about_another_thing(store, tmp_path):
    sentences = {"my job": "job", "My cat is my whole life.": "pet"}  # near in words, surely apart
    for config, kept in ((AssistantConfig(), True), (AssistantConfig(apart_above=None), False)):
        user = f"u{kept}"
        bot = Assistant.load(store, user=user, checkpoint=tiny_checkpoint(tmp_path / f"{user}.pt"), config=config)
        bot.answers = finder_of(sentences, store.embedder)
        cat = store.add("My cat is my whole life.", user=user, now=NOW)
        reply = bot.reply("Please forget everything you know about my job", now=NOW)
        assert (cat.id not in {f.id for f in reply.forgotten}) is kept
        assert (store.get(cat.id).status == "active") is kept


def test_the_shipped_assistant_with_facts_and_questions_phrased_freely(tmp_path, minilm):
    """A new user's own phrasings (none is a template of the catalogue), with every shipped model."""
    store = MemoryStore.open(tmp_path / "real", embedder=minilm)
    bot = Assistant.load(store, user="tom", **FINDER_ONLY)
    bot.reply("I have a cat named Whiskers.", now=NOW)
    assert "Whiskers" not in bot.reply("What's my dog's name?", now=NOW).text  # another animal: not known
    assert bot.reply("My dog is called Biscuit.", now=NOW).replaced == ()  # a second pet, not news on the cat
    assert "Biscuit" in bot.reply("what's my dog called", now=NOW).text  # typed in a hurry: still a question
    assert "Whiskers" in bot.reply("What's my cat's name?", now=NOW).text
    bot.reply("My wife is Sofia.", now=NOW)
    told = bot.reply("Sofia works as a teacher.", now=NOW)
    assert [f.text for f in told.stored] == ["My wife Sofia works as a teacher."]
    assert "teacher" in bot.reply("What does my wife do?", now=NOW).text
    two = bot.reply("I'm Tom, I'm 34 years old.", now=NOW)
    assert [f.text for f in two.stored] == ["I'm Tom.", "I'm 34 years old."]
    assert "34" in bot.reply("How old am I?", now=NOW).text
    bot.reply("My favourite food is porridge.", now=NOW)
    news = bot.reply("Actually, nothing beats halloumi for me.", now=NOW)
    assert [f.text for f in news.replaced] == ["My favourite food is porridge."]
    food = bot.reply("What's my favourite food?", now=NOW).text
    assert "halloumi" in food and "porridge" not in food
    assert bot.reply("Actually, I love hiking.", now=NOW).replaced == ()  # a hobby is no news on food
    bot.reply("my older sister Clara lives in Vienna", now=NOW)
    assert bot.reply("my younger sister Julia lives in Prague", now=NOW).replaced == ()  # two sisters
    julia = bot.reply("where does julia live", now=NOW).text
    assert "Prague" in julia and "Vienna" not in julia
    bot.reply("My daughter Emma lives in Chicago.", now=NOW)
    assert "Chicago" not in bot.reply("where does my daughter work?", now=NOW).text  # not what was told
    bot.reply("my favorite book is Dune", now=NOW)
    assert "Dune" not in bot.reply("what is my favorite movie?", now=NOW).text
    bot.reply("I live in Berlin.", now=NOW)
    assert [f.text for f in bot.reply("no wait, I live in Hamburg", now=NOW).replaced] == ["I live in Berlin."]
    forgot = bot.reply("Please forget everything you know about my job", now=NOW)  # never told: nothing goes
    assert forgot.forgotten == () and "couldn't find" in forgot.text
    for question in ("Where did I spend my student days?", "Which movie do I like most?", "What food do I hate?"):
        reply = bot.reply(question, now=NOW).text
        assert "know" in reply and not adds(reply, question) - NOT_KNOWING, (question, reply)  # and no more
    store.close()
