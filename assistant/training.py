"""The training loop shared by the reader and the generator, and checkpoints that carry config and vocabulary.

One plain loop: seeded batches (optionally bucketed by length), gradient clipping, a step learning-rate
schedule, validation after every epoch, selection of the best epoch and early stopping on a validation
metric. Progress goes to a caller's callback `progress(description, completed, total)`; the per-epoch
metrics go to the returned history and to `logging`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import CheckpointError, ConfigError
from .vocab import Vocab

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (description, completed, total)
BatchLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]  # (model, example indices (B,)) -> scalar loss
Evaluate = Callable[[nn.Module], dict[str, float]]  # model -> validation metrics, e.g. {"loss", "error"}

FORMAT_VERSION = 1  # bump when the checkpoint layout changes; load_checkpoint refuses other versions


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60  # most epochs; fewer when early stopping ends the run
    batch_size: int = 32
    optimizer: str = "sgd"  # "sgd" (the MemN2N paper) or "adam"
    lr: float = 0.01
    lr_decay: float = 0.5  # multiply the learning rate by this ...
    lr_decay_every: int = 15  # ... every this many epochs; 0 keeps it constant
    grad_clip: float = 40.0  # largest L2 norm of all gradients together (MemN2N section 4.2)
    select_on: str = "error"  # validation metric to minimise
    patience: int = 0  # stop after this many epochs without a better validation metric; 0 = never
    restore_best: bool = True  # end with the weights of the best validation epoch
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("epochs, batch_size and lr must be positive")


@dataclass(frozen=True)
class EpochLog:
    epoch: int  # 1-based
    lr: float
    train_loss: float  # mean over the epoch's batches
    valid: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    history: tuple[EpochLog, ...]
    best_epoch: int
    best: dict[str, float]  # validation metrics of the best epoch
    seconds: float
    stopped_early: bool


def batch_indices(
    size: int, batch_size: int, generator: torch.Generator, lengths: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """One epoch's batches in random order. With `lengths` (size,), examples of similar length share a
    batch, so padding to the longest in the batch wastes little; ties are broken at random."""
    if lengths is None:
        order = torch.randperm(size, generator=generator)
    else:
        order = torch.argsort(lengths.to(torch.float64) + torch.rand(size, generator=generator, dtype=torch.float64))
    batches = list(order.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def train(
    model: nn.Module,
    size: int,
    batch_loss: BatchLoss,
    evaluate: Evaluate,
    config: TrainConfig,
    *,
    lengths: torch.Tensor | None = None,
    progress: Progress | None = None,
    description: str = "training",
    on_best: Callable[[nn.Module, EpochLog], None] | None = None,
) -> TrainResult:
    """Train `model` on `size` examples; `batch_loss(model, indices)` computes a batch's loss and
    `evaluate(model)` the validation metrics (called under no_grad in eval mode). `on_best` is called
    after each epoch that improves the selected metric (e.g. to save a checkpoint)."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = _optimizer(model, config)
    step = config.lr_decay_every or config.epochs + 1
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=config.lr_decay)
    history: list[EpochLog] = []
    best_value, best_epoch, best_state, best_metrics, stale = math.inf, 0, None, {}, 0
    for epoch in range(1, config.epochs + 1):
        t0, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
        train_loss = _train_epoch(model, size, batch_loss, optimizer, config, generator, lengths)
        schedule.step()
        valid = _evaluate(model, evaluate)
        entry = EpochLog(epoch, lr, train_loss, valid, time.perf_counter() - t0)
        history.append(entry)
        log.info("%s epoch %d lr %.4g train loss %.4f valid %s", description, epoch, lr, train_loss, _fmt(valid))
        if progress is not None:
            progress(description, epoch, config.epochs)
        value = valid[config.select_on]
        if value < best_value:
            best_value, best_epoch, best_metrics, stale = value, epoch, valid, 0
            if config.restore_best:
                best_state = copy.deepcopy(model.state_dict())
            if on_best is not None:
                on_best(model, entry)
        else:
            stale += 1
            if config.patience and stale >= config.patience:
                break
    stopped_early = len(history) < config.epochs
    if best_state is not None:
        model.load_state_dict(best_state)
    return TrainResult(tuple(history), best_epoch, best_metrics, time.perf_counter() - start, stopped_early)


def _train_epoch(model, size, batch_loss, optimizer, config, generator, lengths) -> float:
    model.train()
    total, batches = 0.0, 0
    for index in batch_indices(size, config.batch_size, generator, lengths):
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss(model, index)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        total, batches = total + loss.item(), batches + 1
    return total / max(batches, 1)


def _evaluate(model: nn.Module, evaluate: Evaluate) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        metrics = {k: float(v) for k, v in evaluate(model).items()}
    model.train()
    return metrics


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr)


def _fmt(metrics: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in metrics.items())


@dataclass(frozen=True)
class Checkpoint:
    kind: str  # what model the weights belong to, e.g. "memn2n-babi"
    config: dict[str, Any]  # the model's config as a plain dict (dataclasses.asdict)
    vocab: Vocab
    state: dict[str, torch.Tensor]
    metrics: dict[str, Any]
    format_version: int = FORMAT_VERSION


def save_checkpoint(
    path: Path, *, kind: str, model: nn.Module, config: Any, vocab: Vocab, metrics: dict[str, Any] | None = None
) -> None:
    """Write weights with their config (a dataclass or dict), vocabulary and format version; atomic."""
    path = Path(path)
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config),
        "vocab": vocab.to_list(),
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metrics": dict(metrics or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, kind: str | None = None) -> Checkpoint:
    """Read a checkpoint written by save_checkpoint; refuses other format versions or another kind."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"no checkpoint at {path}") from exc
    except Exception as exc:  # torch raises several types for a damaged file
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    version = payload.get("format_version") if isinstance(payload, dict) else None
    if version != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version}; this memchat reads {FORMAT_VERSION}")
    if kind is not None and payload["kind"] != kind:
        raise CheckpointError(f"checkpoint {path} holds a {payload['kind']!r} model, not {kind!r}")
    return Checkpoint(
        kind=payload["kind"],
        config=payload["config"],
        vocab=Vocab.from_list(payload["vocab"]),
        state=payload["state"],
        metrics=payload["metrics"],
    )
