"""Training a pair classifier (`assistant.pairs`) on labelled pairs of sentences, and scoring one.

Every text is embedded once with the store's embedding model; positives are weighted to balance them, and
the epoch with the best F1 on the dev pairs is kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from assistant.errors import ConfigError
from assistant.pairs import PairClassifier, PairConfig

from .training import Progress

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit rows, e.g. MemoryStore.embed
Pair = tuple[str, str, int]  # (first text, second text, 1 if the relation holds)


@dataclass(frozen=True)
class FitConfig:
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size) < 1 or self.lr <= 0:
            raise ConfigError("epochs and batch_size must be 1 or more, lr above 0")


@dataclass(frozen=True)
class Fitted:
    model: PairClassifier
    dev: dict[str, float]  # precision, recall, f1 (%) of the chosen epoch on the dev pairs
    best_epoch: int
    pairs: dict[str, int]  # train/dev pairs and positives
    seconds: float


def fit(train_pairs: Sequence[Pair], dev_pairs: Sequence[Pair], embed: Embed, config: PairConfig, fit_config: FitConfig,
        seed: int, progress: Progress | None = None, name: str = "pairs") -> Fitted:
    """Embed every text once, train a classifier (positives weighted to balance them), keep the epoch with
    the best dev F1."""
    start = time.perf_counter()
    texts = sorted({t for pairs in (train_pairs, dev_pairs) for a, b, _ in pairs for t in (a, b)})
    vectors = embedded(texts, embed, progress)
    row = {t: i for i, t in enumerate(texts)}

    def tensors(pairs: Sequence[Pair]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (vectors[[row[a] for a, _, _ in pairs]], vectors[[row[b] for _, b, _ in pairs]],
                torch.tensor([y for _, _, y in pairs], dtype=torch.float32))

    train_a, train_b, train_y = tensors(train_pairs)
    dev_a, dev_b, dev_y = tensors(dev_pairs)
    torch.manual_seed(seed)
    model = PairClassifier(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=fit_config.lr)
    positives = float(train_y.sum())
    weight = torch.tensor((len(train_y) - positives) / max(positives, 1.0))  # balance the rare positives
    order = torch.Generator().manual_seed(seed)
    best, best_epoch, best_state = {"f1": -1.0}, 0, None
    for epoch in range(1, fit_config.epochs + 1):
        model.train()
        for rows in torch.randperm(len(train_y), generator=order).split(fit_config.batch_size):
            logits = model(train_a[rows], train_b[rows])
            loss = nn.functional.binary_cross_entropy_with_logits(logits, train_y[rows], pos_weight=weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            guess = torch.sigmoid(model(dev_a, dev_b)) >= config.threshold
        scores = prf(guess, dev_y.bool())
        if scores["f1"] > best["f1"]:
            best, best_epoch, best_state = scores, epoch, {k: v.clone() for k, v in model.state_dict().items()}
        if progress is not None:
            progress(f"{name} epochs", epoch, fit_config.epochs)
    model.load_state_dict(best_state)
    counts = {"train": len(train_y), "train_positive": int(positives), "dev": len(dev_y), "dev_positive": int(dev_y.sum())}
    return Fitted(model.eval(), best, best_epoch, counts, time.perf_counter() - start)


def embedded(texts: list[str], embed: Embed, progress: Progress | None, chunk: int = 256) -> torch.Tensor:
    parts = []
    for n, i in enumerate(range(0, len(texts), chunk), start=1):
        parts.append(np.asarray(embed(texts[i : i + chunk]), dtype=np.float32))
        if progress is not None:
            progress("embedding sentences", n, math.ceil(len(texts) / chunk))
    return torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0, 0)


def prf(guess: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    tp = float((guess & truth).sum())
    precision = tp / max(float(guess.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1}
