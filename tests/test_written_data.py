"""The reader's examples from the hand-written training conversations (lab/written_data.py)."""

from pathlib import Path

import numpy as np
import pytest

from collections import Counter

from assistant.errors import DataFormatError
from lab.conversation_eval import parse_conversation, read_conversations, words
from lab.reading_data import MAX_MEMORIES
from lab.turn_training import piece_tags
from lab.written_data import (FOLDER, development_conversations, training_conversations, written_examples,
                              written_turns, written_update_pairs)
from memory_store import Words

PLUMBER = """title: a plumber and a sister
tell: the plumber is coming thursday at 9:30, costs $120 for the callout
tell: my sister anna lives in leeds. her husband is tom
ask: whens the plumber coming => thursday
ask: how much is the callout => 120
ask-untold: where does tom work => ?
correct: actually plumber moved to friday ~ thursday
ask-new: when is the plumber => friday !! thursday
forget: forget about annas husband => tom
ask-forgotten: whos annas husband => ? !! tom
"""


def examples(text: str, repeats: int = 1):
    return {e.question: e for e in written_examples([parse_conversation(text, Path("t.txt"))], 0, repeats)}


def answer(e) -> str | None:
    return None if e.answer is None else e.memories[e.answer]


def test_questions_are_answered_by_the_memory_holding_their_answer_with_its_words_as_the_span():
    found = examples(PLUMBER)
    e = found["whens the plumber coming"]
    assert answer(e).startswith("the plumber is coming")
    assert answer(e)[e.span[0]:e.span[1]] == "thursday"
    e = found["how much is the callout"]
    assert answer(e)[e.span[0]:e.span[1]] == "$120"  # "120" is the sum without its sign


def test_never_told_and_forgotten_questions_are_answered_by_none_and_the_forgotten_memory_is_gone():
    found = examples(PLUMBER)
    assert found["where does tom work"].answer is None
    assert len(found["where does tom work"].memories) == 2  # the neighbour that names tom is there
    gone = found["whos annas husband"]
    assert gone.answer is None and not any("tom" in m for m in gone.memories)


def test_a_correction_answers_with_the_old_value_as_its_version_and_replaces_it():
    found = examples(PLUMBER)
    e = found["when is the plumber"]
    assert answer(e) == "actually plumber moved to friday"
    assert [e.memories[i] for i in e.also] == ["the plumber is coming thursday at 9:30, costs $120 for the callout"]
    update = found["actually plumber moved to friday"]  # the correction, read as news: the memory it replaces
    assert answer(update).startswith("the plumber is coming") and update.span is None
    assert found["my sister anna lives in leeds. her husband is tom"].answer is None  # replaces nothing
    forget = found["forget about annas husband"]
    assert answer(forget) == "my sister anna lives in leeds. her husband is tom"


def test_a_word_the_answer_shares_with_another_memory_does_not_make_it_a_version():
    text = """title: shelves
tell: assay 3 at 45C died
tell: 4 shelves per side
tell: the 4 brackets were 3 quid each
correct: change of plan, doing 3 shelves per side not 4 ~ 4 shelves
ask-new: how many shelves on each side => 3 !! 4
"""
    e = examples(text)["how many shelves on each side"]
    assert answer(e).startswith("change of plan")
    assert [e.memories[i] for i in e.also] == ["4 shelves per side"]  # what the correction replaced, only


def test_of_two_memories_holding_the_answer_the_one_the_question_is_about_answers():
    text = """title: sprint
tell: marcus has the csv export ticket, priya has the login bug
tell: friday drinks, marcus is buying the first round
ask: whos got the export work => marcus
tell: fillings on lower left 6 and upper right 5, plus a root canal on lower right 7
ask: which tooth gets the root canal => lower right 7
"""
    found = examples(text)
    assert answer(found["whos got the export work"]).startswith("marcus has the csv export")
    e = found["which tooth gets the root canal"]
    assert answer(e)[e.span[0]:e.span[1]] == "lower right 7"  # the shortest stretch holding its words


def test_long_conversations_keep_the_answer_and_at_most_a_search_worth_of_memories():
    told = "\n".join(f"tell: fact number {n} is about item{n}" for n in range(20))
    text = f"title: many\n{told}\ntell: the gate code is 4471\nask: whats the code for the gate => 4471\n"
    for e in written_examples([parse_conversation(text, Path("t.txt"))], 0, repeats=5):
        if e.question.startswith("whats"):
            assert len(e.memories) == MAX_MEMORIES
            assert answer(e) == "the gate code is 4471"


def test_repeats_draw_other_neighbours_and_orders():
    told = "\n".join(f"tell: fact number {n} is about item{n}" for n in range(20))
    text = f"title: many\n{told}\ntell: the gate code is 4471\nask: whats the code for the gate => 4471\n"
    drawn = [frozenset(e.memories) for e in written_examples([parse_conversation(text, Path("t.txt"))], 0,
                                                             repeats=6) if e.question.startswith("whats")]
    assert len(drawn) == 6 and len(set(drawn)) > 1  # other memories, not only another order


def test_the_committed_training_conversations_parse_and_are_not_the_evaluation_ones():
    conversations = training_conversations()
    held = development_conversations()
    assert len(conversations) >= 47 and len(held) >= 50
    assert not {c.path.name for c in conversations} & {c.path.name for c in held}  # none trained on and tuned on
    assert all(c.path.name.startswith("t1") and len(c.path.name.split("-")[0]) == 4 for c in held)
    found = written_examples(conversations, 0)
    assert sum(e.answer is None for e in found) > 300 and sum(e.answer is not None for e in found) > 600
    evaluation = read_conversations(FOLDER.parent / "conversations")
    told = {s.text.lower() for c in evaluation for s in c.steps if s.kind in ("tell", "correct")}
    written = [*conversations, *held]
    assert not told & {s.text.lower() for c in written for s in c.steps if s.kind in ("tell", "correct")}


@pytest.mark.parametrize("bad", ["tell: no title first\n", "title: x\nask: a question without its answer\n"])
def test_a_broken_training_file_is_named(tmp_path, bad):
    (tmp_path / "t01-x.txt").write_text(bad)
    with pytest.raises(DataFormatError, match="t01-x.txt"):
        training_conversations(tmp_path)


def test_every_line_is_a_turn_of_its_kind_and_statements_teach_their_kind_only():
    turns = written_turns([parse_conversation(PLUMBER + "chat: haha ok cheers\n", Path("t.txt"))], repeats=2)
    kinds = {t.text: (t.kind, t.spans) for t in turns}
    assert len(turns) == 2 * 10
    assert kinds["whens the plumber coming"] == ("question", ())
    assert kinds["where does tom work"] == ("question", ())
    assert kinds["haha ok cheers"] == ("small_talk", ())
    assert kinds["forget about annas husband"] == ("forget", None)
    assert kinds["actually plumber moved to friday"] == ("statement", None)


def test_a_turn_without_known_facts_gives_no_tag_to_learn():
    said = Words("the plumber", ("the", "plumber"), ((0, 3), (4, 11)), np.zeros((2, 384), dtype=np.float32))
    assert piece_tags(said, None) == [-100, -100]
    assert piece_tags(said, ()) == [0, 0]


def test_no_training_conversation_retells_an_evaluation_one():
    """Rare words (five letters or more, in at most three files of both sets) that a training conversation
    shares with an evaluation one: two conversations written apart share a few (a child's name, "dentist");
    one retold from the other shares its story ("smugglers", "cartographer", "throne": a training
    conversation with eight such words was taken out)."""
    def vocabulary(conversation):
        return {w for s in conversation.steps for w in words(s.text) if len(w) >= 5 and w.isalpha()}

    training = [(c.path.name, vocabulary(c)) for c in [*training_conversations(), *development_conversations()]]
    evaluation = [(c.path.name, vocabulary(c)) for c in read_conversations(FOLDER.parent / "conversations")]
    files = Counter(w for _, v in training + evaluation for w in v)
    shared = {(a, b): {w for w in va & vb if files[w] <= 3} for a, va in training for b, vb in evaluation}
    assert max(len(v) for v in shared.values()) <= 5, max(shared.items(), key=lambda kv: len(kv[1]))


def test_a_correction_replaces_the_line_its_old_value_names_and_nothing_else_replaces_anything():
    pairs = written_update_pairs([parse_conversation(PLUMBER, Path("t.txt"))], repeats=2)
    plumber = "the plumber is coming thursday at 9:30, costs $120 for the callout"
    sister = "my sister anna lives in leeds. her husband is tom"
    correction = "actually plumber moved to friday"
    assert sorted(set(pairs)) == sorted({(sister, plumber, 0), (correction, plumber, 1), (correction, sister, 0)})
    assert len(pairs) == 2 * 3  # each pair twice; the first statement has nothing before it
