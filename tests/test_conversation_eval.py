"""`memchat eval conversations`: the conversation format, the word matching, the scoring of each kind of
line, and one real replay through the CLI with the shipped models and the real embedding model."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import cli
from assistant.errors import DataFormatError, DataNotFoundError
from lab.conversation_eval import (ConversationScores, holds, holds_any, parse_conversation, read_conversations,
                                   run_conversation_eval, says_unknown)

GOOD = """title: a good file
# a comment, then a blank line

tell: the demo is at 7:45, in room B-12
correct: the demo moved to 9:15 ~ 7:45
ask: when is the demo? => 9:15 | 9:15am
ask-new: what time is the demo => 9:15 !! 7:45
ask-untold: who runs the demo? => ?
restart
forget: forget the room and the demo => B-12 | demo
ask-forgotten: which room? => ? !! B-12
chat: thanks!
"""


def test_a_good_file_parses_into_its_steps():
    c = parse_conversation(GOOD, Path("01-good.txt"))
    assert c.title == "a good file"
    assert [(s.line, s.kind) for s in c.steps] == [(4, "tell"), (5, "correct"), (6, "ask"), (7, "ask-new"),
                                                   (8, "ask-untold"), (9, "restart"), (10, "forget"),
                                                   (11, "ask-forgotten"), (12, "chat")]
    tell, correct, ask, new, untold, _, forget, gone, chat = c.steps
    assert tell.text == "the demo is at 7:45, in room B-12"  # ':' inside the text is the text's
    assert (correct.text, correct.old) == ("the demo moved to 9:15", ("7:45",))
    assert (ask.text, ask.answers) == ("when is the demo?", ("9:15", "9:15am"))
    assert (new.answers, new.old) == (("9:15",), ("7:45",))
    assert untold.answers == () and forget.targets == ("B-12", "demo") and gone.old == ("B-12",)
    assert chat.text == "thanks!" and ask.expected == "=> 9:15 | 9:15am"


@pytest.mark.parametrize("line, message", [
    ("tel: hi", "unknown kind 'tel'"),
    ("just some words", "expected 'kind: text' or 'restart'"),
    ("tell:", "'tell:' has no text"),
    ("tell: hi => there", "expects no answer"),
    ("restart: now", "'restart' takes no text"),
    ("title: again", "'title:' must be the first line"),
    ("correct: the demo moved to 9:15", "'correct: TEXT ~ OLD'"),
    ("correct: the demo moved ~ ", "'correct: TEXT ~ OLD'"),
    ("ask: when is the demo?", "'ask: QUESTION => ANSWER'"),
    ("ask: when is the demo? =>", "'ask: QUESTION => ANSWER'"),
    ("ask: => 9:15", "'ask: QUESTION => ANSWER'"),
    ("ask: when is the demo? => ?", "'?' is for ask-untold"),
    ("ask: when is the demo? => 9:15 | ", "an empty alternative"),
    ("ask: when? => 9:15 !! 7:45", "'!!' belongs to ask-new"),
    ("ask-new: when is it => 9:15", "'ask-new: QUESTION => NEW !! OLD'"),
    ("ask-untold: who runs it? => Dana", "'ask-untold: QUESTION => ?'"),
    ("ask-forgotten: which room? => ?", "'ask-forgotten: QUESTION => ? !! WORDS'"),
    ("forget: forget the room", "'forget: REQUEST => WORDS'"),
])
def test_each_broken_line_is_named_with_its_file_and_number(line, message):
    with pytest.raises(DataFormatError) as e:
        parse_conversation(f"title: t\n\n{line}\n", Path("07-bad.txt"))
    assert str(e.value).startswith("07-bad.txt, line 3: ") and message in str(e.value)


def test_a_file_without_a_title_or_not_in_utf8_and_an_empty_folder_are_refused(tmp_path):
    with pytest.raises(DataFormatError, match=r"x.txt, line 1: the first line must be 'title: TEXT'"):
        parse_conversation("tell: hi\n", Path("x.txt"))
    with pytest.raises(DataFormatError, match="no 'title: TEXT' line"):
        parse_conversation("# only a comment\n", Path("x.txt"))
    (tmp_path / "a.txt").write_bytes(b"title: caf\xe9\n")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        read_conversations(tmp_path)
    with pytest.raises(DataNotFoundError, match="no conversations"):
        read_conversations(tmp_path / "nothing")


@pytest.mark.parametrize("reply, phrase, held", [
    ("Your alarm is set for 7:45.", "7:45", True),
    ("Your alarm is set for 7:45am.", "7:45", False),  # another word: the file gives the alternative
    ("The check-in opens at noon.", "check-in", True),
    ("You can check in at noon.", "check-in", False),
    ("The hotel is $120 a night.", "$120", True),
    ("The hotel is 120 a night.", "$120", False),
    ("Eggs are $3.10 a dozen.", "3.10", True),  # the sum holds without its sign
    ("It's at the ASHFORD Library!", "ashford library", True),
    ("(Ashford) library, I think", "Ashford library", True),
    ("You told me about Elias's sister.", "Elias", True),  # a possessive holds its owner
    ("Your sister Ana lives in Lisbon.", "Ana", True),
    ("I like bananas.", "ana", False),  # whole words only
    ("You meet in the library.", "Ashford library", False),  # every word of the phrase
])
def test_a_phrase_is_held_word_by_word(reply, phrase, held):
    assert holds(reply, phrase) is held


def test_one_alternative_suffices_and_not_knowing_is_said_in_many_ways():
    assert holds_any("It leaves at 8:15am.", ["8:15", "8:15am"]) and not holds_any("It leaves at 8.", ["8:15"])
    assert all(says_unknown(t) for t in ("I don't know, you haven't told me.", "I DO NOT KNOW that.",
                                         "Not sure, sorry.", "No idea!", "I dont remember that",
                                         "You have not told me that yet."))
    assert not any(says_unknown(t) for t in ("You know it is 9:15.", "The notes say 9:15."))


def fact(text):
    return SimpleNamespace(text=text)


def reply(text="Ok.", stored=(), replaced=(), forgotten=(), used=()):
    recalled = tuple(SimpleNamespace(fact=fact(t), used=True) for t in used)
    return SimpleNamespace(text=text, recalled=recalled, stored=tuple(map(fact, stored)),
                           replaced=tuple(map(fact, replaced)), forgotten=tuple(map(fact, forgotten)))


def scored(lines: str, replies) -> ConversationScores:
    scores = ConversationScores()
    for step, r in zip(parse_conversation("title: t\n" + lines, Path("s.txt")).steps, replies):
        scores.add("s.txt", step, r)
    return scores


def test_statements_that_retire_or_store_nothing_and_missed_updates_are_counted():
    scores = scored("tell: a\ntell: b\ncorrect: demo at 9:15 ~ 7:45\ncorrect: demo at 9:30 ~ 9:15\nchat: hi\n", [
        reply(stored=["a"]),
        reply(stored=["b"], replaced=["my dentist is Dr Feld"]),  # a true fact destroyed
        reply(stored=["demo at 9:15"], replaced=["the demo is at 7:45"]),  # the update
        reply(replaced=["my train is at 7:45"]),  # stored nothing, retired the wrong memory
        reply(stored=["hi"], replaced=["x"]),  # small talk stored, and a retirement
    ])
    assert scores.passed == {"tell": 1, "correct": 1, "chat": 0}
    assert (scores.false_retirements, scores.missed_updates) == (3, 1)
    assert (scores.not_stored, scores.small_talk_stored) == (1, 1)
    assert [f.line for f in scores.failures] == [3, 5, 6]
    assert "retired 'my dentist is Dr Feld'" in scores.failures[0].why
    assert scores.meets_targets()["false_retirements"] is False


def test_questions_are_scored_on_the_reply_and_the_memories_it_used():
    scores = scored("ask: when? => 9:15\nask-new: when now? => 9:30 !! 9:15\nask-new: when? => 9:30 !! 9:15\n"
                    "ask-untold: who? => ?\nask-untold: where? => ?\nask-untold: why? => ?\n", [
                        reply("At 9:15."), reply("At 9:30, not 9:15."), reply("At 9:30."),
                        reply("I don't know, you haven't told me."),
                        reply("I don't know.", used=["Dana runs the demo"]),  # says so, but named a memory
                        reply("Because."),
                    ])
    assert scores.rate("ask") == 100.0 and scores.rate("ask-new") == 50.0
    assert scores.never_told_leaks == 2 and scores.honest_unknowns == 2
    assert scores.never_told_leak_rate == pytest.approx(200 / 3)


def test_forgets_must_take_every_group_and_never_be_stored_and_leaks_after_them_are_counted():
    scores = scored("forget: drop the room and the demo => B-12 | demo\nforget: drop the room => B-12\n"
                    "forget: drop the demo => demo\nask-forgotten: which room? => ? !! B-12\n"
                    "ask-forgotten: which room? => ? !! B-12\nask-forgotten: which room? => ? !! B-12\n", [
                        reply(forgotten=["room B-12", "the demo is at 9:15", "my dentist is Dr Feld"]),
                        reply(forgotten=["room B-12"], stored=["drop the room"]),  # the request was stored
                        reply(forgotten=["room B-12"]),  # the wrong memory
                        reply("I don't know."), reply("Room B-12."), reply("I don't know.", used=["room B-12"]),
                    ])
    assert scores.passed["forget"] == 1 and scores.wrongly_forgotten == 2
    assert scores.after_forget_leaks == 2 and scores.passed["ask-forgotten"] == 1
    assert scores.meets_targets()["after_forget_leaks"] is False


TINY = """title: a sister in Lisbon
tell: My sister Ana lives in Lisbon.
ask: Where does my sister live? => Lisbon
restart
ask: where does my sister live => Lisbon
forget: forget that my sister lives in Lisbon => Lisbon
ask-forgotten: where does my sister live? => ? !! Lisbon
"""


def test_a_conversation_replays_through_the_cli_across_a_restart(tmp_path, capsys):
    (tmp_path / "talks").mkdir()
    (tmp_path / "talks" / "01-sister.txt").write_text(TINY)
    try:
        cli.main(["eval", "conversations", "--dir", str(tmp_path / "talks"), "--out", str(tmp_path / "r" / "talks")])
    except SystemExit as e:
        assert e.code in (0, None)
    shown = capsys.readouterr().out
    assert "told, answered" in shown and ">= 95 %" in shown
    saved = json.loads((tmp_path / "r" / "talks.json").read_text())
    assert saved["steps"] == {"tell": 1, "ask": 2, "forget": 1, "ask-forgotten": 1}
    assert saved["rates"]["ask"] == 100.0, saved["failures"]  # the second answer comes after the restart
    assert saved["rates"]["forget"] == 100.0 and saved["after_forget_leaks"] == 0, saved["failures"]
    assert saved["command"].startswith("memchat eval conversations --dir ")
    assert "| told, answered | 100.0 % (2 of 2) | >= 95 % | yes |" in (tmp_path / "r" / "talks.md").read_text()


def test_the_conversations_replay_with_the_reader_given_and_say_so(tmp_path, capsys):
    from assistant.assistant import DEFAULT_READER

    (tmp_path / "talks").mkdir()
    (tmp_path / "talks" / "01-sister.txt").write_text(TINY)
    try:
        cli.main(["eval", "conversations", "--dir", str(tmp_path / "talks"), "--reader", str(DEFAULT_READER), "--json"])
    except SystemExit as e:
        assert e.code in (0, None)
    saved = json.loads(capsys.readouterr().out)
    assert saved["command"].endswith(f"--reader {DEFAULT_READER}") and saved["rates"]["ask"] == 100.0
    with pytest.raises(SystemExit) as missing:
        cli.main(["eval", "conversations", "--dir", str(tmp_path / "talks"), "--reader", str(tmp_path / "none.pt")])
    assert missing.value.code == 2  # a usage error, before anything is replayed


def test_a_restart_loads_a_new_assistant_over_the_reopened_store(tmp_path, minilm):
    from assistant.assistant import Assistant

    loaded = []

    def load(store):
        loaded.append(store)
        return Assistant.load(store, user="eval")

    (tmp_path / "01-sister.txt").write_text(TINY)
    scores = run_conversation_eval(read_conversations(tmp_path), load, embedder=minilm)
    assert len(loaded) == 2 and loaded[0] is not loaded[1] and scores.conversations == 1
    assert scores.passed["ask"] == 2, scores.failures
