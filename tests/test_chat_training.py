"""The default chat model's recipe: the data mix, no eval-split leak, a checkpoint that loads, resuming, the CLI."""

from __future__ import annotations

import dataclasses
import functools
import re

import pytest
import torch

import cli
from assistant.batching import collate, encode_context, special_words
from assistant.checkpoint import load_checkpoint
from assistant.decoding import greedy
from assistant.errors import CheckpointError
from assistant.generator import GO, Generator, GeneratorConfig
from assistant.lines import Line
from assistant.text import tokenize
from lab import chat_training
from lab.chat_training import ChatTrainConfig, build_training_data, resume_path, train_chat_model, training_sources
from lab.dialog_babi import FOLDER, file_name
from lab.personal_data import conversations, small_talk_pairs
from lab.relations import catalogue
from lab.training import TrainConfig
from conftest import run_torchrun
from test_personal_data import delexicalised, pattern, templates

TINY = ChatTrainConfig(
    conversations=50, dev_conversations=8, dialog_babi_tasks=(1, 2), dialog_babi_share=30,
    generator=GeneratorConfig(dim=32, hops=1, max_reply=60),
    train=TrainConfig(epochs=1, batch_size=32, optimizer="adam", lr=1e-3, grad_clip=5.0, lr_decay_every=0),
)


def fake_dialog_babi(folder, dialogs=6):
    """Tasks 1 and 2 as a few short dialogs each (two replies a dialog), in the data set's folder layout."""
    (folder / FOLDER).mkdir(parents=True)
    for task in (1, 2):
        text = "\n".join(f"1 hello {d}\thello what can i help you with today\n2 book a table for {d}\tapi_call italian paris {d}\n"
                         for d in range(dialogs))
        (folder / FOLDER / file_name(task, "trn")).write_text(text)
    return folder


@functools.cache
def eval_values() -> re.Pattern[str]:
    values = sorted({v for vs in catalogue("eval").values.values() for v in vs}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, values)) + r")(?!\w)", re.IGNORECASE)


def test_the_mix_has_each_source_in_the_expected_numbers(tmp_path):
    sources = training_sources(TINY, fake_dialog_babi(tmp_path))
    convs = conversations("train", TINY.conversations, seed=TINY.seed)
    assert len(sources["personal"]) == sum(len(c.turns) for c in convs)
    assert len(sources["small_talk"]) == len(small_talk_pairs("train")) * TINY.small_talk
    assert len(sources["dialog_babi"]) == 24  # all 2 x 6 x 2 replies: fewer than the share of 30
    assert len(training_sources(dataclasses.replace(TINY, dialog_babi_share=5), tmp_path)["dialog_babi"]) == 5
    assert len(training_sources(TINY, None)["dialog_babi"]) == 0  # a clone without ../shared still trains
    # Small talk: the user line alone, or after stored facts of the training conversations that it ignores.
    facts = {fact.text for c in convs for fact in c.facts}
    talk = sources["small_talk"].examples
    with_facts = [e for e in talk if len(e.context) > 1]
    assert 0.35 < len(with_facts) / len(talk) < 0.65
    assert all(e.context[-1].speaker == "user" and len(e.context) <= 1 + TINY.memory_k for e in talk)
    assert {line.text for e in with_facts for line in e.context[:-1]} <= facts
    train, dev, vocab = build_training_data(TINY, tmp_path)
    assert len(train) == sum(len(s) for s in sources.values())
    words = {t for e in train.examples for text in (e.reply, *(line.text for line in e.context)) for t in tokenize(text)}
    assert set(vocab.words) - {"<pad>", "<unk>"} == words | set(special_words())  # training words only


def test_no_eval_split_value_phrasing_or_small_talk_reaches_training_or_model_selection():
    train, dev, _ = build_training_data(TINY, None)
    for e in train.examples + dev.examples:
        for text in (e.reply, *(line.text for line in e.context)):
            assert not eval_values().search(text), (text, eval_values().search(text)[0])
    eval_talk = {s for s, _ in small_talk_pairs("eval")}
    said = {line.text for e in train.examples + dev.examples for line in e.context if line.speaker == "user"}
    assert not eval_talk & said  # (the corpus is split by statement: a train reply may be an eval statement)
    # Every user line a personal example ends with is a turn of its train-split conversation, never phrased
    # like an eval template; the dev conversations are other ones, from the dev seed.
    phrasings = re.compile("|".join(f"(?:.* )?{pattern(t)}" for t in templates("eval")))
    train_convs = conversations("train", TINY.conversations, seed=TINY.seed)
    dev_convs = conversations("train", TINY.dev_conversations, seed=TINY.dev_seed)
    for convs, examples in ((train_convs, train.examples), (dev_convs, dev.examples)):
        turns = [(c, t) for c in convs for t in c.turns]
        assert len(examples) >= len(turns)
        for e, (conversation, turn) in zip(examples, turns):
            assert e.context[-1] == Line("user", turn.user)
            if turn.expect.kind != "small_talk":
                assert not phrasings.fullmatch(delexicalised(turn.user, conversation)), turn.user
    assert not set(train_convs) & set(dev_convs)


def test_the_trained_model_loads_as_the_chat_kind_and_decodes(tmp_path):
    out = tmp_path / "models" / "chat.pt"
    result = train_chat_model(TINY, out, None)
    assert out.exists() and not resume_path(out).exists() and result.checkpoint_bytes == out.stat().st_size
    assert result.examples == {"personal": len(training_sources(TINY, None)["personal"]),
                               "small_talk": len(small_talk_pairs("train")) * TINY.small_talk, "dialog_babi": 0}
    saved = load_checkpoint(out, kind="generator-chat")
    assert saved.metrics["command"] == "memchat train --seed 0 --conversations 50 --epochs 1"
    assert saved.metrics["recipe"]["conversations"] == 50 and saved.metrics["dev_per_response"] == round(result.dev_accuracy, 2)
    model = Generator(len(saved.vocab), GeneratorConfig(**saved.config), go_id=saved.vocab.id(GO))
    model.load_state_dict(saved.state)
    context = [Line("kb", "My sister Ana lives in Lisbon."), Line("user", "Where does my sister live?")]
    decoded = greedy(model, collate([encode_context(context, 600)], saved.vocab), saved.vocab)
    assert len(decoded) == 1 and len(decoded[0].tokens) <= TINY.generator.max_reply


class Stop(Exception):
    pass


def stop_in_epoch(epoch):
    """A progress callback that interrupts the run at the first batch of `epoch`."""
    starts = []

    def report(description, completed, total):
        if description == "batches this epoch" and completed == 1:
            starts.append(1)
            if len(starts) == epoch:
                raise Stop

    return report


def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    # The last epoch's weights (not the best one's, which could be the first): epoch 2 must match exactly.
    loop = dataclasses.replace(TINY.train, epochs=2, restore_best=False)
    two = dataclasses.replace(TINY, conversations=30, small_talk=0, train=loop)
    train_chat_model(two, tmp_path / "straight.pt", None)
    out = tmp_path / "resumed.pt"
    with pytest.raises(Stop):
        train_chat_model(two, out, None, progress=stop_in_epoch(2))
    assert resume_path(out).exists() and not out.exists()
    result = train_chat_model(two, out, None, resume=True)
    assert result.epochs == 2 and not resume_path(out).exists()
    straight, resumed = (load_checkpoint(tmp_path / name).state for name in ("straight.pt", "resumed.pt"))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)  # dropout masks and Adam's moments too
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train_chat_model(two, out, None, resume=True)


def run_cli(argv, capsys):
    try:
        cli.main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_memchat_train_writes_the_checkpoint_and_reports_the_result(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(chat_training, "ChatTrainConfig", functools.partial(ChatTrainConfig, **{
        f.name: getattr(TINY, f.name) for f in dataclasses.fields(TINY) if f.name not in ("seed", "conversations")}))
    monkeypatch.setattr(cli, "default_data_dir", lambda name: None)
    out = tmp_path / "chat.pt"
    code, stdout, stderr = run_cli(["train", "--out", str(out), "--conversations", "30", "--epochs", "1", "--seed", "2"], capsys)
    assert code == 0, stderr
    assert load_checkpoint(out, kind="generator-chat").metrics["recipe"]["conversations"] == 30
    assert "personal facts and small talk only" in stderr
    assert "dev per-response" in stdout and "memchat train --seed 2 --conversations 30 --epochs 1" in stdout
    code, _, stderr = run_cli(["train", "--out", str(out), "--resume"], capsys)
    assert code == 1 and "nothing to resume" in stderr and "Traceback" not in stderr


TORCHRUN_SCRIPT = """
import functools, sys
import cli
from assistant.generator import GeneratorConfig
from lab import chat_training
chat_training.ChatTrainConfig = functools.partial(  # the tiny recipe, in each process torchrun starts
    chat_training.ChatTrainConfig, generator=GeneratorConfig(dim=32, hops=1), dev_conversations=8, small_talk=0,
    dialog_babi_tasks=(1, 2), dialog_babi_share=1500, dailydialog=0, persona_chat=0)
cli.main(sys.argv[1:])
"""


def test_two_torchrun_processes_train_the_chat_model_and_only_rank_0_writes(tmp_path):
    script = tmp_path / "train_tiny.py"
    script.write_text(TORCHRUN_SCRIPT)
    out = tmp_path / "chat.pt"
    output = run_torchrun(script, "train", "--out", out, "--conversations", "30", "--epochs", "1",
                          "--dialog-data", fake_dialog_babi(tmp_path / "data"), timeout=300)
    assert load_checkpoint(out, kind="generator-chat").metrics["examples"]["dialog_babi"] == 24
    assert output.count("Reproduce: torchrun --standalone --nproc_per_node 2 -m cli train") == 1, output
