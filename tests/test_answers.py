"""The answer finder: its training pairs, its choice and veto, a real training run, and the shipped one
answering questions phrased unlike any fact, through the assistant."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
import torch

from assistant.answers import AnswerTrainConfig, answer_pairs, choose_answer, load_finder, train_answer_finder
from assistant.assistant import DEFAULT_ANSWERS, NOT_TOLD, Assistant
from assistant.pairs import FitConfig, PairClassifier, PairConfig
from assistant.relations import catalogue
from fakes import HashEmbedder
from test_assistant import tiny_checkpoint

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


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


def test_training_saves_a_finder_that_loads_and_scores(tmp_path):
    embedder = HashEmbedder(dim=32)
    config = AnswerTrainConfig(questions=200, dev_questions=50, fit=FitConfig(epochs=2), finder=PairConfig(dim=32, hidden=16, dropout=0.3))
    result = train_answer_finder(config, embedder.embed, embedder.name, tmp_path / "answers.pt")
    assert result.pairs["train_positive"] == 200 and 1 <= result.best_epoch <= 2
    assert 0 <= result.held_out["f1"] <= 100
    finder, metrics = load_finder(tmp_path / "answers.pt")
    assert metrics["embedder"] == "hash-test" and metrics["held_out"] == result.held_out
    assert finder.config.dropout == 0.3 and not finder.training
    vectors = embedder.embed(["Where do I live?", "I live in Lisbon.", "I like tea."])
    p = finder.probabilities(vectors[0], vectors[1:])
    assert p == finder.probabilities(vectors[0], vectors[1:]) and all(0 <= x <= 1 for x in p)  # no dropout when used


@pytest.mark.skipif(not DEFAULT_ANSWERS.exists(), reason="the shipped finder is written by `memchat train-answers`")
def test_the_shipped_finder_answers_paraphrases_and_knows_what_it_was_not_told(tmp_path, minilm):
    from memory_store import MemoryStore

    store = MemoryStore.open(tmp_path / "real", embedder=minilm)
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"))
    assert bot.answers is not None
    for fact in ("My mother is called Bakari.", "I grew up in Danang.", "My car is a teal Jeep.", "I play the violin."):
        bot.reply(fact, now=NOW)
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
    unknown = bot.reply("Which food do I like best?", now=NOW)
    assert unknown.text == NOT_TOLD or "know" in unknown.text.lower()
    assert not any(v.lower() in unknown.text.lower() for v in ("Bakari", "Danang", "teal", "Jeep", "violin"))
    assert not any(r.used for r in unknown.recalled)
    store.close()


def finder_that_says(probability: float, dim: int) -> PairClassifier:
    """A real finder whose every answer is `probability` (its last layer reads only its bias)."""
    finder = PairClassifier(PairConfig(dim=dim, hidden=4))
    with torch.no_grad():
        finder.net[2].weight.zero_()
        finder.net[2].bias.fill_(math.log(probability / (1 - probability)))
    return finder.eval()


def test_a_question_no_fact_answers_is_not_answered_from_memory(store, tmp_path):
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"))
    bot.answers = finder_that_says(0.1, store.embedder.dim)
    for fact in ("My sister Ana lives in Lisbon.", "I drive a teal Jeep."):
        bot.reply(fact, now=NOW)
    reply = bot.reply("What is my favourite food?", now=NOW)
    assert not any(v in reply.text for v in ("Ana", "Lisbon", "teal", "Jeep"))
    assert reply.recalled and all(r.answers == pytest.approx(0.1) and not r.used for r in reply.recalled)
    assert all(f.recall_count == 0 for f in store.facts("ana"))


def test_the_fact_the_finder_chooses_is_the_only_one_read_and_is_told_in_full(store, tmp_path):
    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"))
    bot.answers = finder_that_says(0.9, store.embedder.dim)
    bot.reply("My sister Ana lives in Lisbon.", now=NOW)
    bot.reply("I drive a teal Jeep.", now=NOW)
    reply = bot.reply("Where does my sister live?", now=NOW)  # the untrained generator cannot say it: quoted
    assert "Ana" in reply.text and "Lisbon" in reply.text
    used = [r for r in reply.recalled if r.used]
    assert [r.fact.text for r in used] == ["My sister Ana lives in Lisbon."]
    assert {f.text: f.recall_count for f in store.facts("ana")} == {"My sister Ana lives in Lisbon.": 1,
                                                                    "I drive a teal Jeep.": 0}
