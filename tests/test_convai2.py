"""The ConvAI2 probe: reading ParlAI's format, ParlAI's F1, and the three figures from a real (tiny) model."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import cli
from assistant.assistant import load_generator
from assistant.batching import encode_context
from assistant.errors import DataFormatError, DataNotFoundError
from assistant.lines import Line
from lab.convai2 import data_file, read_dialogues
from lab.convai2_eval import f1_score, normalize_answer, probe_examples, reply_log_probs, run_probe
from conftest import SHARED_DATA
from test_assistant import tiny_checkpoint

SAMPLE = (
    "1 your persona: i like to ski.\n"
    "2 your persona: my dog is named rex.\n"
    "3 hi , how are you ?\ti am fine , i just got back from skiing .\t\tno .|i am fine , i just got back from skiing .|yes\n"
    "4 do you have pets ?\tyes , a dog named rex .\t\ta cat .|i like tea .|yes , a dog named rex .\n"
    "1 your persona: i am a nurse.\n"
    "2 hello !\thi , i work as a nurse .\t\thi , i work as a nurse .|bye\n"
)


@pytest.fixture
def sample(tmp_path):
    (tmp_path / "convai2").mkdir()
    path = tmp_path / "convai2" / "valid_self_original.txt"
    path.write_text(SAMPLE)
    return tmp_path


def test_dialogues_persona_and_candidates_are_read(sample):
    dialogues = read_dialogues(data_file(sample))
    assert [d.persona for d in dialogues] == [("i like to ski.", "my dog is named rex."), ("i am a nurse.",)]
    first = dialogues[0].exchanges[1]
    assert first.partner == "do you have pets ?" and first.label == "yes , a dog named rex ."
    assert len(first.candidates) == 3 and first.label in first.candidates


def test_an_example_sees_the_persona_as_facts_and_earlier_exchanges(sample):
    examples = probe_examples(read_dialogues(data_file(sample)), window=6, memory_tokens=600)
    second = examples[1].context
    assert second.speakers == (3, 3, 1, 2, 1)  # kb, kb, user, bot, user
    assert second.words[-1] == ("do", "you", "have", "pets", "?")


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="valid_self_original.txt"):
        data_file(tmp_path)
    bad = tmp_path / "valid_self_original.txt"
    bad.write_text("1 hello\tworld\t\tnot it|nor this\n")
    with pytest.raises(DataFormatError, match="not among the candidates"):
        read_dialogues(bad)
    bad.write_text("hello there\n")
    with pytest.raises(DataFormatError, match="expected 'ID text'"):
        read_dialogues(bad)


def test_f1_is_parlai_unigram_f1():
    assert normalize_answer("The dog, a CAT!") == "dog cat"
    assert f1_score("a dog named rex", "yes , a dog named rex .") == pytest.approx(2 * 1 * 0.75 / 1.75)
    assert f1_score("", "anything") == 0.0 and f1_score("cats", "dogs") == 0.0


def test_reply_log_probs_are_the_models_own(tmp_path):
    model, vocab = load_generator(tiny_checkpoint(tmp_path / "chat.pt"))
    context = encode_context([Line("kb", "my dog is named Zorblat."), Line("user", "what is my dog called?")], 600)
    scores, producible = reply_log_probs(model, vocab, [context], ["Zorblat quuxian"], [0])
    assert scores[0].shape == (3,) and producible[0].tolist() == [True, False, True]  # copyable, unknown, <eos>
    assert bool((scores[0] <= 0).all())


def test_probe_scores_a_tiny_model_and_the_cli_writes_results(sample, tmp_path):
    path = tiny_checkpoint(tmp_path / "chat.pt")
    model, vocab = load_generator(path)
    result = run_probe(model, vocab, read_dialogues(data_file(sample)))
    assert result.examples == 3 and result.dialogues == 2 and result.candidates == 3
    assert result.perplexity > 1 and math.isfinite(result.perplexity)
    assert 0 <= result.hits_at_1 <= 100 and 0 <= result.f1 <= 100 and 0 < result.unproducible < 100
    out = tmp_path / "results"
    run = CliRunner().invoke(cli.cli, ["eval", "convai2", "--data", str(sample), "--model", str(path),
                                       "--results", str(out)])
    assert run.exit_code == 0, run.output
    payload = json.loads((out / "convai2.json").read_text())
    assert payload["examples"] == 3 and "Seq2Seq + Attention" in (out / "convai2.md").read_text()


def test_a_missing_data_file_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["eval", "convai2", "--data", str(tmp_path), "--model", str(tiny_checkpoint(tmp_path / "chat.pt"))])
    stderr = capsys.readouterr().err
    assert exit_.value.code == 1 and "valid_self_original.txt" in stderr and "Traceback" not in stderr


@pytest.mark.skipif(not (SHARED_DATA / "persona_chat").exists(), reason="needs ../shared/data/persona_chat (not in a clone)")
def test_the_official_validation_file_reads_as_documented():
    dialogues = read_dialogues(data_file(SHARED_DATA / "persona_chat"))
    assert len(dialogues) == 1000
    assert sum(len(d.exchanges) for d in dialogues) == 7801
    assert sum(len(d.persona) for d in dialogues) == 4483
    assert all(len(e.candidates) == 20 for d in dialogues for e in d.exchanges)
