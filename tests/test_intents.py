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
    ("whats my name", "question", None),  # typed in a hurry: still a question, never stored
    ("wat do i hate", "question", None),
    ("scratch that thing about radiohead", "forget", "Thing about radiohead."),
    ("dont remember anything about my mum anymore", "forget", "My mum."),
    ("im allergic to peanuts", "statement", "im allergic to peanuts"),  # first person without the apostrophe
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
    for turn in ("hi there", "How are you?", "what's my name?", "is it raining?", "thank you so much",
                 "on which day is my birthday", "in what city do I live", "since when do I play the piano"):
        assert classify(turn).kind in ("question", "small_talk"), turn
    for turn in ("On Mondays I swim.", "In my free time I paint.", "Since 2019 I live in Porto.",
                 "For what it's worth, I live in Porto.", "From what I know, my sister lives in Rome."):
        assert classify(turn).kind == "statement", turn


@pytest.mark.parametrize("turn, text, everything", [
    ("Delete the fact that my sister lives in Lisbon.", "My sister lives in Lisbon.", False),
    ("You can stop remembering that I play the cello.", "I play the cello.", False),
    ("Remove from your memory that my car is red.", "My car is red.", False),
    ("I'd like you to forget that my dog is called Rex", "My dog is called Rex.", False),
    ("Please forget what I told you about my job.", "My job.", True),
    ("Wipe whatever you remember about my brother", "My brother.", True),
    ("Erase everything you know about my car.", "My car.", True),
    ("Remove my car from your memory.", "My car.", True),
    ("Drop all your notes on my allergies.", "My allergies.", True),
    ("I don't want you to remember anything about my car.", "My car.", True),
])
def test_forget_requests_in_many_phrasings(turn, text, everything):
    intent = classify(turn)
    assert (intent.kind, intent.text, intent.everything) == ("forget", text, everything)


@pytest.mark.parametrize("turn", [
    "What have you stored about me?", "Tell me everything you remember about me.", "What facts do you have about me?",
    "Summarise what you know about me.", "Which things about me do you remember?", "what do you know about myself",
])
def test_what_do_you_know_about_me_in_many_phrasings(turn):
    assert classify(turn).kind == "list"


@pytest.mark.parametrize("turn, text", [
    ("Just so you know, my sister is a nurse.", "My sister is a nurse."),
    ("For the record, I am allergic to cats.", "I am allergic to cats."),
    ("Make a note: my boss is called Ivo.", "My boss is called Ivo."),
    ("Something you should know about me: I hate olives.", "I hate olives."),
    ("I want you to remember that my car is blue.", "My car is blue."),
])
def test_remember_requests_in_many_phrasings(turn, text):
    assert (classify(turn).kind, classify(turn).text) == ("remember", text)


def test_a_question_about_someone_else_is_not_a_list_request():
    assert classify("What do you know about my sister?").kind == "question"
