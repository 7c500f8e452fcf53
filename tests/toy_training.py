"""A toy problem trained with the shared loop; run under torchrun, each rank saves what it ended with.

test_training uses `fit` in its own process and starts this file with
`torchrun --nproc_per_node 2 toy_training.py OUT` to check data-parallel training: the ranks start from
different weights on purpose, so they only agree at the end if train() shares rank 0's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lab.training import TrainConfig, init_distributed, shutdown_distributed, train

# 200 training examples in 10 batches of 20: with 2 ranks, 5 steps an epoch, each on 2 batches.
EVEN = TrainConfig(epochs=4, batch_size=20, lr=0.5, lr_decay_every=0, grad_clip=1e9, restore_best=False, seed=3)
# 13 batches, so one rank is padded; the large learning rate makes validation worse and patience stop early.
UNEVEN = TrainConfig(epochs=30, batch_size=16, lr=50.0, lr_decay_every=0, patience=3, grad_clip=1e9)


def toy_problem(seed=0, n=256):
    """A linearly separable 2-class problem: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def fit(config, init_seed=None, **kwargs):
    """Train a linear classifier on the first 200 examples, validating on the rest."""
    x, y = toy_problem()
    torch.manual_seed(config.seed if init_seed is None else init_seed)
    model = nn.Linear(4, 2)

    def batch_loss(m, index):
        return F.cross_entropy(m(x[index]), y[index])

    def evaluate(m):
        logits = m(x[200:])
        return {"loss": F.cross_entropy(logits, y[200:]).item(), "error": (logits.argmax(1) != y[200:]).float().mean().item()}

    result = train(model, 200, batch_loss, evaluate, config, **kwargs)
    return model, result


def run_rank(config, rank):
    calls = []
    model, result = fit(config, init_seed=config.seed + 100 * rank, progress=lambda *args: calls.append(args),
                        on_best=lambda m, entry: calls.append(entry.epoch))
    return {
        "state": model.state_dict(),
        "train_loss": [e.train_loss for e in result.history],
        "valid": [e.valid for e in result.history],
        "best_epoch": result.best_epoch,
        "callbacks": len(calls),
    }


def main(out: Path) -> None:
    rank, _ = init_distributed()
    try:
        torch.save({"even": run_rank(EVEN, rank), "uneven": run_rank(UNEVEN, rank)}, out / f"rank{rank}.pt")
    finally:
        shutdown_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
