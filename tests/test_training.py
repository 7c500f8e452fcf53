"""The shared training loop and checkpoints, and a real (small, seeded) MemN2N learning bAbI task 1."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from assistant.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from assistant.errors import CheckpointError, ConfigError
from assistant.reader import MemN2N, ReaderConfig
from assistant.vocab import Vocab
from lab.babi import build_vocab, load_task, split_validation, tensorise
from lab.babi_eval import score
from lab.training import TrainConfig, batch_indices, distributed_context, init_distributed, is_main_process, train
from conftest import ROOT, SHARED_DATA, run_torchrun
from toy_training import EVEN, fit, toy_problem

BABI = SHARED_DATA / "babi_qa"


def test_training_is_reproducible_from_the_seed():
    config = TrainConfig(epochs=3, batch_size=16, optimizer="adam", lr=0.05, seed=7)
    a, ra = fit(config)
    b, rb = fit(config)
    c, _ = fit(dataclasses.replace(config, seed=8))
    assert torch.equal(a.weight, b.weight)
    assert [e.train_loss for e in ra.history] == [e.train_loss for e in rb.history]
    assert not torch.equal(a.weight, c.weight)


def test_training_learns_reports_progress_and_logs_each_epoch(caplog):
    seen = []
    config = TrainConfig(epochs=5, batch_size=16, optimizer="adam", lr=0.05)
    with caplog.at_level("INFO", logger="lab.training"):
        _, result = fit(config, progress=lambda d, done, total: seen.append((d, done, total)), description="toy")
    assert seen == [("toy", i, 5) for i in range(1, 6)]
    assert result.best["error"] < 0.1
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert sum("toy epoch" in r.message for r in caplog.records) == 5


def test_best_epoch_is_restored_and_patience_stops_early():
    # A learning rate this large makes validation worse after the first epoch or two.
    config = TrainConfig(epochs=30, batch_size=8, lr=50.0, lr_decay_every=0, patience=3, grad_clip=1e9)
    model, result = fit(config)
    assert result.stopped_early and len(result.history) < 30
    assert len(result.history) - result.best_epoch == 3
    x, y = toy_problem()
    with torch.no_grad():
        error = (model(x[200:]).argmax(1) != y[200:]).float().mean().item()
    assert error == pytest.approx(result.best["error"])


def test_gradient_clipping_bounds_each_step():
    x, y = toy_problem()
    model = nn.Linear(4, 2)
    before = model.weight.detach().clone()
    config = TrainConfig(epochs=1, batch_size=200, lr=1.0, grad_clip=1e-3)
    train(model, 200, lambda m, i: 1000 * F.cross_entropy(m(x[i]), y[i]), lambda m: {"error": 0.0}, config)
    assert (model.weight - before).norm() <= 1e-3 + 1e-6


def test_a_run_stopped_after_two_epochs_and_resumed_to_four_ends_like_four_straight(tmp_path):
    # Adam and a decaying rate: the optimizer's moments, the schedule and the batch order must all carry over.
    config = TrainConfig(epochs=4, batch_size=16, optimizer="adam", lr=0.05, lr_decay_every=3, restore_best=False, seed=5)
    straight, whole = fit(config)
    resume = tmp_path / "toy.resume"
    fit(dataclasses.replace(config, epochs=2), resume=resume)
    assert resume.exists()
    resumed, result = fit(config, init_seed=99, resume=resume)  # other initial weights: they must be replaced
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))
    assert [e.train_loss for e in result.history] == [e.train_loss for e in whole.history]
    assert [e.lr for e in result.history] == [e.lr for e in whole.history]
    with pytest.raises(CheckpointError, match="another model"):
        train(nn.Linear(4, 3), 200, lambda m, i: m.weight.sum(), lambda m: {"error": 0.0}, config, resume=resume)


def joined_batches(config, world):
    """One process stepping on `world` consecutive batches of each epoch at a time: the SGD steps that
    `world` data-parallel ranks should take between them."""
    x, y = toy_problem()
    torch.manual_seed(config.seed)
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        batches = batch_indices(200, config.batch_size, generator)
        for k in range(0, len(batches), world):
            optimizer.zero_grad()
            (sum(F.cross_entropy(model(x[b]), y[b]) for b in batches[k:k + world]) / world).backward()
            optimizer.step()
    return model


def test_two_data_parallel_processes_train_one_model_like_one_process_on_joined_batches(tmp_path):
    run_torchrun(ROOT / "tests" / "toy_training.py", tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    for name in ("even", "uneven"):
        a, b = (r[name] for r in ranks)
        # The ranks started from different weights and still end identical, with the same history.
        assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
        assert (a["train_loss"], a["valid"], a["best_epoch"]) == (b["train_loss"], b["valid"], b["best_epoch"])
        assert a["callbacks"] > 0 and b["callbacks"] == 0  # progress and checkpoints on rank 0 only
    even, uneven = ranks[0]["even"], ranks[0]["uneven"]
    assert even["valid"][-1]["error"] < 0.1 and even["train_loss"][-1] < even["train_loss"][0]
    reference = joined_batches(EVEN, world=2)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(even["state"][key], value, rtol=1e-5, atol=1e-6)
    # A single process with batches twice as large takes as many steps and learns as well.
    _, single = fit(dataclasses.replace(EVEN, batch_size=2 * EVEN.batch_size))
    assert even["valid"][-1]["loss"] == pytest.approx(single.history[-1].valid["loss"], abs=0.01)
    # Early stopping (with one rank's epoch padded) ended both ranks at the same epoch.
    assert len(uneven["valid"]) < 30 and len(uneven["valid"]) - uneven["best_epoch"] == 3


def test_without_torchrun_training_runs_in_this_process_alone(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_distributed() == (0, 1) == distributed_context()
    assert is_main_process()


def test_length_bucketed_batches_cover_every_example_once():
    lengths = torch.tensor([5, 1, 3, 1, 5, 3, 2, 2, 4])
    batches = batch_indices(9, 2, torch.Generator().manual_seed(0), lengths)
    assert sorted(torch.cat(batches).tolist()) == list(range(9))
    assert all(lengths[b].max() - lengths[b].min() <= 1 for b in batches)


def test_bad_config_is_refused():
    with pytest.raises(ConfigError):
        TrainConfig(optimizer="rmsprop")


def test_checkpoint_round_trip_carries_config_vocab_and_version(tmp_path):
    vocab = Vocab.build(["mary", "went", "home"])
    config = ReaderConfig(dim=8, hops=2)
    model = MemN2N(len(vocab), config)
    path = tmp_path / "reader.pt"
    save_checkpoint(path, kind="memn2n-babi", model=model, config=config, vocab=vocab, metrics={"valid_error": 3.5})
    ckpt = load_checkpoint(path, kind="memn2n-babi")
    assert ckpt.format_version == FORMAT_VERSION
    assert ckpt.vocab == vocab and ckpt.metrics == {"valid_error": 3.5}
    restored = MemN2N(len(ckpt.vocab), ReaderConfig(**ckpt.config))
    restored.load_state_dict(ckpt.state)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), restored.state_dict().values()))
    with pytest.raises(CheckpointError, match="not 'lstm'"):
        load_checkpoint(path, kind="lstm")


def test_unreadable_or_foreign_checkpoints_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"format_version": FORMAT_VERSION + 1}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(tmp_path / "future.pt")


@pytest.mark.skipif(not BABI.is_dir(), reason=f"bAbI data not found at {BABI}")
def test_a_small_reader_learns_babi_task_1_in_a_few_epochs():
    questions = load_task(BABI, "1k", 1, "train")[0]
    test_questions = load_task(BABI, "1k", 1, "test")[0]
    vocab = build_vocab(questions + test_questions)
    fit_q, valid_q = split_validation(questions)
    data, valid, test = (tensorise(q, vocab) for q in (fit_q, valid_q, test_questions))
    torch.manual_seed(0)
    model = MemN2N(len(vocab), ReaderConfig(dim=20, hops=2))

    def batch_loss(m, index):
        batch = data.batch(index)
        return F.cross_entropy(m(batch.memory, batch.query).logits, batch.answer)

    config = TrainConfig(epochs=8, batch_size=32, optimizer="adam", lr=0.01, lr_decay_every=0, seed=0)
    train(model, len(data), batch_loss, lambda m: score(m, valid), config, lengths=data.counts)
    model.eval()
    with torch.no_grad():
        error = score(model, test)["error"]
    # Six places to choose from: guessing is wrong about 83% of the time.
    assert error < 10.0
