"""The training loop shared by the reader and the generator (their checkpoints: `assistant.checkpoint`).

One plain loop: seeded batches (optionally bucketed by length), gradient clipping, a step learning-rate
schedule, validation after every epoch, selection of the best epoch and early stopping on a validation
metric. Progress goes to a caller's callback `progress(description, completed, total)`; the per-epoch
metrics go to the returned history and to `logging`.

Data-parallel training: the same loop runs in several processes when the caller has set up
`torch.distributed`. A program opts in by calling `init_distributed()` before training and
`shutdown_distributed()` at the end, and is started by torchrun, e.g.

    torchrun --standalone --nproc_per_node 2 train_script.py ...
    torchrun --standalone --nproc_per_node 2 -m cli ...   # once a command calls init_distributed()

Started plainly (no torchrun) both calls do nothing and training runs in one process as before. With W
processes every one builds the same seeded epoch order and takes every W-th batch, so an epoch takes
about 1/W of the steps, each on W batches of `config.batch_size` (scale `lr` if you want the same
per-example rate). Rank 0's initial weights are copied to all ranks, gradients are averaged after each
backward, validation runs on rank 0 and its metrics are shared, so all ranks keep identical weights and
take the same early-stopping decision. `progress`, `on_best` (checkpoints) and the epoch log run on rank
0 only; other callers' output can use `is_main_process()`.

Resuming: with `resume=PATH`, the loop's whole state (weights, optimizer, epoch, history, best epoch so far,
random-number states) is written to PATH after every epoch, and a run that finds PATH continues from it,
so a run stopped after epoch k and resumed ends with the weights of an uninterrupted one. A resumed run
may ask for more epochs than the first; the rest of its TrainConfig and data must be the same.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from assistant.checkpoint import FORMAT_VERSION
from assistant.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (description, completed, total)
BatchLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]  # (model, example indices (B,)) -> scalar loss
Evaluate = Callable[[nn.Module], dict[str, float]]  # model -> validation metrics, e.g. {"loss", "error"}


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
    resume: Path | None = None,
) -> TrainResult:
    """Train `model` on `size` examples; `batch_loss(model, indices)` computes a batch's loss and
    `evaluate(model)` the validation metrics (called under no_grad in eval mode). `on_best` is called
    after each epoch that improves the selected metric (e.g. to save a checkpoint). `resume`: a file to
    continue from when it exists, and to write the loop's state to after every epoch (rank 0).

    Under torch.distributed (see the module docstring) every rank must call this with the same
    arguments; the model is the caller's own module on every rank, never a wrapper."""
    start = time.perf_counter()
    rank, world = distributed_context()
    main = rank == 0
    torch.manual_seed(config.seed + rank)  # dropout masks differ between ranks, as between batches
    generator = torch.Generator().manual_seed(config.seed)  # the same batch order on every rank
    if world > 1:
        _broadcast_weights(model)
    optimizer = _optimizer(model, config)
    step = config.lr_decay_every or config.epochs + 1
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=config.lr_decay)
    run = _Run()
    if resume is not None:
        run = _load_resume(Path(resume), model, optimizer, generator, size)
        schedule.last_epoch = len(run.history)  # the optimizer state already holds the decayed rate
        if main and run.history:
            log.info("%s resumed from %s after epoch %d", description, resume, len(run.history))
            if progress is not None:
                progress(description, len(run.history), config.epochs)
    for epoch in range(len(run.history) + 1, config.epochs + 1):
        if run.stopped:
            break
        t0, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
        train_loss = _train_epoch(model, size, batch_loss, optimizer, config, generator, lengths)
        schedule.step()
        valid = _evaluate_on_main(model, evaluate)
        entry = EpochLog(epoch, lr, train_loss, valid, time.perf_counter() - t0)
        run.history.append(entry)
        if main:
            log.info("%s epoch %d lr %.4g train loss %.4f valid %s", description, epoch, lr, train_loss, _fmt(valid))
        if progress is not None and main:
            progress(description, epoch, config.epochs)
        value = valid[config.select_on]
        if value < run.best_value:
            run.best_value, run.best_epoch, run.best_metrics, run.stale = value, epoch, valid, 0
            if config.restore_best:
                run.best_state = copy.deepcopy(model.state_dict())
            if on_best is not None and main:
                on_best(model, entry)
        else:
            run.stale += 1
            run.stopped = bool(config.patience and run.stale >= config.patience)
        if resume is not None:
            _save_resume(Path(resume), run, model, optimizer, generator, size, time.perf_counter() - start)
    stopped_early = len(run.history) < config.epochs
    if run.best_state is not None:
        model.load_state_dict(run.best_state)
    seconds = run.seconds_before + time.perf_counter() - start
    return TrainResult(tuple(run.history), run.best_epoch, run.best_metrics, seconds, stopped_early)


@dataclass
class _Run:
    """The loop's state between epochs: what a resume file holds besides weights and optimizer."""

    history: list[EpochLog] = dataclasses.field(default_factory=list)
    best_value: float = math.inf
    best_epoch: int = 0
    best_metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    best_state: dict[str, torch.Tensor] | None = None
    stale: int = 0  # epochs since the best one
    stopped: bool = False  # patience ran out
    seconds_before: float = 0.0  # training time of the runs this one resumes


def _save_resume(path: Path, run: _Run, model, optimizer, generator, size: int, seconds: float) -> None:
    """Write the loop's state (rank 0; atomic). Every rank sends its own random-number state."""
    rank, world = distributed_context()
    rng = [torch.get_rng_state()]
    if world > 1:
        rng = [None] * world
        dist.all_gather_object(rng, torch.get_rng_state())
    if rank != 0:
        return
    payload = {
        "format_version": FORMAT_VERSION, "size": size, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "batch_rng": generator.get_state(), "torch_rng": rng,
        "history": [dataclasses.asdict(e) for e in run.history], "best_value": run.best_value,
        "best_epoch": run.best_epoch, "best_metrics": run.best_metrics, "best_state": run.best_state,
        "stale": run.stale, "stopped": run.stopped, "seconds": run.seconds_before + seconds,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _load_resume(path: Path, model, optimizer, generator, size: int) -> _Run:
    """Continue from a resume file when there is one: rank 0 reads it and sends it to every rank."""
    rank, world = distributed_context()
    try:
        payload = [_read_resume(path) if rank == 0 else None]
    except CheckpointError as exc:
        payload = [exc]  # sent on, so that every rank stops rather than waiting for rank 0
    if world > 1:
        dist.broadcast_object_list(payload, src=0)
    state = payload[0]
    if isinstance(state, CheckpointError):
        raise state
    if state is None:
        return _Run()
    if state["size"] != size:
        raise CheckpointError(f"resume file {path} is for {state['size']} training examples, not {size}: "
                              "resume with the same data, or delete it to start again")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"resume file {path} is for another model: delete it to start again ({exc})") from exc
    generator.set_state(state["batch_rng"])
    rng = state["torch_rng"]
    if len(rng) == world:
        torch.set_rng_state(rng[rank])
    else:  # another number of processes than the run it resumes: fresh dropout masks, still one per rank
        torch.manual_seed(torch.initial_seed() + 1000 * len(state["history"]))
    return _Run(
        history=[EpochLog(**e) for e in state["history"]], best_value=state["best_value"],
        best_epoch=state["best_epoch"], best_metrics=state["best_metrics"], best_state=state["best_state"],
        stale=state["stale"], stopped=state["stopped"], seconds_before=state["seconds"],
    )


def _read_resume(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise CheckpointError(f"cannot read resume file {path}: {exc}; delete it to start again") from exc
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"resume file {path} was written by another memchat version; delete it to start again")
    return state


def _train_epoch(model, size, batch_loss, optimizer, config, generator, lengths) -> float:
    """One epoch of this rank's batches; returns the mean batch loss over all ranks."""
    rank, world = distributed_context()
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()
    total, batches = 0.0, 0
    for index in _share(batch_indices(size, config.batch_size, generator, lengths), rank, world):
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss(model, index)
        loss.backward()
        if world > 1 and params:
            _average_gradients(params, world)
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        total, batches = total + loss.item(), batches + 1
    if world > 1:
        sums = torch.tensor([total, batches], dtype=torch.float64)
        dist.all_reduce(sums)
        total, batches = sums.tolist()
    return total / max(batches, 1)


def _evaluate(model: nn.Module, evaluate: Evaluate) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        metrics = {k: float(v) for k, v in evaluate(model).items()}
    model.train()
    return metrics


def _evaluate_on_main(model: nn.Module, evaluate: Evaluate) -> dict[str, float]:
    """Validation metrics computed on rank 0 and sent to every rank, so all take the same best-epoch
    and early-stopping decisions."""
    rank, world = distributed_context()
    if world == 1:
        return _evaluate(model, evaluate)
    metrics = [_evaluate(model, evaluate) if rank == 0 else None]
    dist.broadcast_object_list(metrics, src=0)
    return metrics[0]


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr)


def _fmt(metrics: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in metrics.items())


def init_distributed() -> tuple[int, int]:
    """Join torchrun's process group (gloo, for CPUs) when torchrun started this process with
    WORLD_SIZE > 1; otherwise do nothing. Returns (rank, world size). Call once, before training."""
    # torchrun's contract is its environment variables, which torch's env:// reads itself; this is the one
    # place in the library that looks at the environment, and only to see whether torchrun started us.
    if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo", init_method="env://")
        log.info("data-parallel training: rank %d of %d", dist.get_rank(), dist.get_world_size())
    return distributed_context()


def shutdown_distributed() -> None:
    """Leave the process group that init_distributed joined, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def distributed_context() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """Whether this process should print, draw progress and write files: rank 0, or the only process."""
    return distributed_context()[0] == 0


def _share(batches: list[torch.Tensor], rank: int, world: int) -> list[torch.Tensor]:
    """This rank's batches: every world-th, from its rank on. The epoch is padded by starting again from
    its first batch, so every rank takes the same number of steps: a rank that stops early would leave
    the others waiting forever in the gradient all-reduce."""
    steps = -(-len(batches) // world)
    return [batches[i % len(batches)] for i in range(rank, steps * world, world)]


def _broadcast_weights(model: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (state_dict tensors share their storage)."""
    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)


def _average_gradients(params: list[nn.Parameter], world: int) -> None:
    """Replace each gradient by its mean over the ranks, in one all-reduce.

    Averaging here, after backward, rather than wrapping the model in DistributedDataParallel: DDP only
    averages gradients of a forward run through its wrapper, and the wrapper hides the model's methods
    and attributes. The generator's batch_loss calls `model.encode(...)` and bAbI training flips
    `model.linear_start`; under DDP such calls fail or, worse, silently train each rank on its own
    gradients. This works whatever batch_loss calls; what it gives up (overlapping communication with
    backward) does not matter for these small models. A parameter that no rank used keeps grad None, as
    in one process (so Adam leaves it alone); one that only some ranks used counts zeros on the others."""
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
    used = torch.tensor([p.grad is not None for p in params], dtype=grads[0].dtype)
    flat = torch.cat([g.reshape(-1) for g in grads] + [used])
    dist.all_reduce(flat)
    *means, used = flat.div_(world).split([g.numel() for g in grads] + [len(params)])
    for p, mean, anyone in zip(params, means, used.tolist()):
        p.grad = mean.view_as(p) if anyone > 0 else None
