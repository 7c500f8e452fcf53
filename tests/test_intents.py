"""Recognising what a turn asks of memory: the consolidation rules, no LLM."""

from __future__ import annotations

import pytest

from assistant.intents import classify


@pytest.mark.parametrize("turn, kind, text", [
    ("Remember that my locker code is 4312", "remember", "My locker code is 4312."),
    ("please remember: Ana's birthday is on 3 May.", "remember", "Ana's birthday is on 3 May."),
    ("don't forget I have a dentist appointment on Friday", "remember", "I have a dentist appointment on Friday."),
    ("forget that my sister lives in Lisbon", "forget", "My sister lives in Lisbon."),
    ("Forget everything about my car", "forget", "My car."),
    ("please forget about Tom", "forget", "Tom."),
    ("what do you know about me?", "list", None),
    ("What do you remember", "list", None),
    ("show me my facts", "list", None),
    ("where does my sister live?", "question", None),
    ("what is my dog called", "question", None),
    ("Do I have any allergies", "question", None),
    ("My sister Ana lives in Lisbon.", "statement", None),
    ("I moved to Porto last year", "statement", None),
    ("Tom studies physics in Berlin", "statement", None),
    ("hello", "small_talk", None),
    ("Thanks!", "small_talk", None),
    ("good morning", "small_talk", None),
    ("ok cool", "small_talk", None),
    ("the weather is nice today", "small_talk", None),
    ("   ", "small_talk", None),
])
def test_turns_are_classified(turn, kind, text):
    intent = classify(turn)
    assert intent.kind == kind, intent
    if text is not None:
        assert intent.text == text


def test_forget_everything_is_marked():
    assert classify("forget everything about my car").everything
    assert not classify("forget that my car is red").everything


def test_questions_and_greetings_are_never_stored():
    for turn in ("hi there", "How are you?", "what's my name?", "is it raining?", "thank you so much"):
        assert classify(turn).kind in ("question", "small_talk"), turn
