"""The dialog bAbI reader: parsing, examples, accuracy; the real files when ../shared/data is there."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError, DataFormatError, DataNotFoundError
from assistant.lines import Line
from lab.dialog_babi import accuracy, examples, file_name, load_dialogs, parse_dialogs
from conftest import SHARED_DATA

SAMPLE = """1 hi\thello what can i help you with today
2 can you book a table\ti'm on it
3 <SILENCE>\tapi_call italian paris six cheap
4 resto_paris_cheap_italian_1stars R_phone resto_paris_cheap_italian_1stars_phone
5 <SILENCE>\twhat do you think of this option: resto_paris_cheap_italian_1stars

1 hello\thello what can i help you with today
2 thanks\tyou're welcome
"""

DATA = SHARED_DATA / "dialog_babi"
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"dialog bAbI data not found at {DATA} (a clone has no ../shared)")


def test_parse_splits_dialogs_speakers_and_kb_facts():
    dialogs = parse_dialogs(SAMPLE)
    assert len(dialogs) == 2 and [d.replies for d in dialogs] == [4, 2]
    first = dialogs[0].lines
    assert first[0] == Line("user", "hi") and first[1] == Line("bot", "hello what can i help you with today")
    assert Line("kb", "resto_paris_cheap_italian_1stars R_phone resto_paris_cheap_italian_1stars_phone") in first
    assert all(line.text != "<SILENCE>" for line in first)  # silence is no user turn


def test_examples_carry_everything_before_the_reply():
    ex = examples(parse_dialogs(SAMPLE))
    assert len(ex) == 6
    last_of_first = ex[3]
    assert last_of_first.reply.startswith("what do you think of this option")
    assert last_of_first.context[-1].speaker == "kb"
    assert ex[4].dialog == 1 and ex[4].context == (Line("user", "hello"),)


def test_accuracy_per_response_and_per_dialog():
    ex = examples(parse_dialogs(SAMPLE))
    predictions = [e.reply for e in ex]
    assert accuracy(ex, predictions) == (100.0, 100.0)
    predictions[1] = "wrong"
    per_response, per_dialog = accuracy(ex, predictions)
    assert per_response == pytest.approx(500 / 6) and per_dialog == 50.0
    with pytest.raises(ConfigError):
        accuracy(ex, predictions[:-1])


def test_bad_lines_and_names_are_refused(tmp_path):
    with pytest.raises(DataFormatError, match="line 1"):
        parse_dialogs("hello there\tgeneral\n")
    with pytest.raises(ConfigError):
        file_name(7, "trn")
    with pytest.raises(ConfigError):
        file_name(6, "tst-OOV")
    with pytest.raises(DataNotFoundError, match="pass --data"):
        load_dialogs(tmp_path, 1, "trn")


@needs_data
@pytest.mark.parametrize("task, split, dialogs", [(1, "trn", 1000), (5, "tst-OOV", 1000), (6, "trn", 1618), (6, "tst", 1117)])
def test_real_files_have_the_published_dialog_counts(task, split, dialogs):
    loaded = load_dialogs(DATA, task, split)
    assert len(loaded) == dialogs
    assert all(d.replies > 0 for d in loaded)


def test_only_task_3_reads_kb_facts_as_triples():
    from assistant.generator import GeneratorConfig
    from lab.dialog_babi_eval import DialogEvalConfig

    for task in (1, 2, 4, 6):  # these tasks' recipes (and published figures) are as before
        assert DialogEvalConfig.for_task(task).generator == GeneratorConfig()
    three = DialogEvalConfig.for_task(3)
    assert three.generator == GeneratorConfig(kb_triples=True)
    assert DialogEvalConfig.for_task(5).generator == GeneratorConfig(kb_triples=True)
    assert three.train.epochs == 20  # the task's own training recipe is kept
    assert DialogEvalConfig.for_task(3, generator=GeneratorConfig()).generator == GeneratorConfig()
