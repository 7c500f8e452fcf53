"""bAbI data: parsing, vocabulary, tensors, the validation split, reading the shipped files, and the report."""

from __future__ import annotations

import json

import pytest
import torch

from assistant.errors import AssistantError, ConfigError, DataFormatError, DataNotFoundError
from assistant.vocab import PAD, UNK, Vocab
from lab.babi import (
    BabiQuestion,
    build_vocab,
    load_task,
    parse_babi,
    read_task_file,
    split_validation,
    tensorise,
)
from lab.babi_eval import BabiEvalConfig, BabiReport, RunResult, command_line, write_babi_results
from conftest import SHARED_DATA

BABI = SHARED_DATA / "babi_qa"
needs_data = pytest.mark.skipif(not BABI.is_dir(), reason=f"bAbI data not found at {BABI}")

STORY = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Mary went to the kitchen.
6 Where is Mary? \tkitchen\t5
1 Sandra travelled to the office.
2 How do you go from the office to the garden?\tn,w\t1
"""


def test_parse_splits_stories_and_keeps_only_statements_in_memory():
    qs = parse_babi(STORY, task=1)
    assert [q.answer for q in qs] == ["bathroom", "kitchen", "n,w"]
    assert qs[0].story == (("mary", "moved", "to", "the", "bathroom"), ("john", "went", "to", "the", "hallway"))
    assert qs[0].question == ("where", "is", "mary")
    assert len(qs[1].story) == 4 and qs[1].supporting == (3,)
    assert qs[1].story[qs[1].supporting[0]] == ("mary", "went", "to", "the", "kitchen")
    assert len(qs[2].story) == 1  # a new story starts at ID 1
    assert all(q.task == 1 for q in qs)


def test_malformed_lines_raise_a_format_error_naming_the_line():
    with pytest.raises(DataFormatError, match="line 2"):
        parse_babi("1 Mary went home.\nnonsense\n", task=1)
    with pytest.raises(DataFormatError, match="supporting"):
        parse_babi("1 Mary went home.\n2 Where is Mary?\thome\t7\n", task=1)


def test_vocab_reserves_padding_and_unknown_and_round_trips():
    vocab = build_vocab(parse_babi(STORY, task=1))
    assert vocab.words[:2] == (PAD, UNK)
    assert "n,w" in vocab and "mary" in vocab
    assert vocab.encode(["mary", "zebra"]) == [vocab.id("mary"), vocab.unk_id]
    assert vocab.decode(vocab.encode(["john", "went"])) == ["john", "went"]
    assert Vocab.from_list(vocab.to_list()) == vocab
    assert build_vocab(reversed(parse_babi(STORY, task=1))) == vocab  # ids do not depend on order


def test_tensors_keep_the_50_newest_statements_newest_first():
    story = tuple((f"w{i}",) for i in range(60))
    q = BabiQuestion(task=3, story=story, question=("where",), answer="w59", supporting=(59,))
    vocab = build_vocab([q])
    t = tensorise([q], vocab, memory_size=50)
    assert t.counts.tolist() == [50]
    batch = t.batch(torch.tensor([0]))
    assert batch.memory.shape == (1, 50, 1)
    assert vocab.decode(batch.memory[0, :, 0].tolist()) == [f"w{i}" for i in range(59, 9, -1)]
    assert vocab.words[batch.answer.item()] == "w59"


def test_batches_trim_padding_to_the_longest_story_and_share_statement_rows():
    qs = parse_babi(STORY, task=1)
    t = tensorise(qs, build_vocab(qs))
    assert t.sentences.shape[0] == 1 + 5  # the empty row plus five distinct statements
    batch = t.batch(torch.tensor([0, 2]))
    assert batch.memory.shape == (2, 2, 5)
    assert (batch.memory[1, 1] == 0).all()  # the one-statement story's second slot is empty
    assert batch.task.tolist() == [1, 1]


def test_validation_holds_out_the_last_tenth_of_each_task():
    qs = [BabiQuestion(task, (), ("q",), str(i), ()) for task in (1, 2) for i in range(20)]
    train, valid = split_validation(qs, 0.1)
    assert [(q.task, q.answer) for q in valid] == [(1, "18"), (1, "19"), (2, "18"), (2, "19")]
    assert len(train) == 36 and not set(map(id, train)) & set(map(id, valid))


def test_missing_data_folder_says_what_to_do(tmp_path):
    with pytest.raises(DataNotFoundError, match="--data"):
        read_task_file(tmp_path / "nowhere", "1k", 1, "train")
    with pytest.raises(DataNotFoundError, match="qa1_single-supporting-fact_train.txt"):
        read_task_file(tmp_path, "1k", 1, "train")
    with pytest.raises(ConfigError):
        read_task_file(tmp_path, "1k", 21, "train")
    assert issubclass(DataNotFoundError, AssistantError)


@needs_data
def test_shipped_1k_files_parse_to_the_documented_counts():
    questions, size = load_task(BABI, "1k", 1, "train")
    assert size == "1k" and len(questions) == 1000
    assert sum(1 for q in questions if len(q.story) <= 2) == 200  # the first question of each of 200 stories
    assert len(load_task(BABI, "1k", 16, "test")[0]) == 1000


@needs_data
def test_10k_is_read_from_the_archive_and_task_3_falls_back_to_1k():
    questions, size = load_task(BABI, "10k", 20, "train")
    assert size == "10k" and len(questions) == 10000
    questions, size = load_task(BABI, "10k", 3, "train")
    assert size == "1k" and len(questions) == 1000


def make_report(**config):
    cfg = BabiEvalConfig(tasks=(1, 2, 3), runs=2, **config)
    runs = (
        RunResult(0, (1, 2, 3), valid_error=4.0, test_error={1: 0.0, 2: 9.0, 3: 30.0}, epochs=10, seconds=1.0),
        RunResult(1, (1, 2, 3), valid_error=6.0, test_error={1: 0.0, 2: 1.0, 3: 2.0}, epochs=10, seconds=1.0),
    )
    return BabiReport(cfg, runs, chosen=(0,), trained_on={1: cfg.size, 2: cfg.size, 3: "1k"}, seconds=12.0,
                      command=command_line(cfg))


def test_report_uses_the_run_chosen_on_validation_and_counts_failures(tmp_path):
    report = make_report(size="10k")
    assert report.per_task_error == {1: 0.0, 2: 9.0, 3: 30.0}  # seed 0: best validation, not best test
    assert report.mean_error == pytest.approx(13.0)
    assert report.failed_tasks == 2
    assert report.mean_over_runs == pytest.approx(7.0)
    json_path, md_path = write_babi_results(report, tmp_path)
    assert json_path.name == "babi-10k-joint.json" and md_path.name == "babi-10k-joint.md"
    data = json.loads(json_path.read_text())
    assert data["per_task_error"] == {"1": 0.0, "2": 9.0, "3": 30.0}
    assert data["failed_tasks"] == 2 and data["runs"] == 2 and data["chosen_valid_error"] == [4.0]
    assert data["command"] == "memchat eval babi --size 10k --tasks 1-3 --joint --runs 2 --seed 0"
    assert data["trained_on"]["3"] == "1k"
    md = md_path.read_text()
    assert "| 3: three-supporting-facts † | 30.0 | 6.8 | 2.1 |" in md
    assert "trained on the 1k file" in md


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError):
        BabiEvalConfig(size="5k")
    with pytest.raises(ConfigError):
        BabiEvalConfig(tasks=(0, 1))
    with pytest.raises(ConfigError):
        BabiEvalConfig(runs=0)
    ten_k = BabiEvalConfig.for_size("10k", seed=3)
    assert ten_k.size == "10k" and ten_k.seed == 3 and ten_k.train.epochs < BabiEvalConfig().train.epochs
    assert command_line(BabiEvalConfig(tasks=(1, 3), joint=False, runs=1)) == (
        "memchat eval babi --size 1k --tasks 1,3 --runs 1 --seed 0"
    )


@pytest.mark.slow
@needs_data
def test_1k_joint_meets_the_published_memn2n_numbers(tmp_path):
    """The full table run (minutes): `memchat eval babi --size 1k --tasks 1-20 --joint`."""
    from lab.babi_eval import run_babi_eval

    report = run_babi_eval(BabiEvalConfig.for_size("1k"), BABI)
    write_babi_results(report, tmp_path)
    assert report.mean_error <= 12.4
    assert report.failed_tasks <= 11
    assert report.seconds < 15 * 60
