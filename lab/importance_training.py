"""Train the importance model: a softmax layer over MiniLM sentence embeddings (memory_store/importance.py).

Plain full-batch gradient descent with momentum on the class-weighted cross-entropy plus an L2 penalty,
seeded; the epoch with the best macro accuracy on the catalogue's evaluation split (held-out phrasings and
values, held-out persona sentences, DailyDialog validation) is kept. A minute or two on a CPU, most of it
embedding the sentences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lab.importance_data import CLASSES, VALUES, Labelled, examples
from memory_store.importance import ImportanceModel


@dataclass(frozen=True)
class ImportanceTrainConfig:
    per_relation: int = 40  # catalogue sentences per relation and split (health templates: six times as many)
    epochs: int = 400  # full-batch steps
    learning_rate: float = 0.5
    momentum: float = 0.9
    l2: float = 1e-3  # penalty on the weights: the layer must generalise to phrasings it never saw
    seed: int = 0


@dataclass(frozen=True)
class ImportanceResult:
    eval_accuracy: float  # %, macro over the three classes
    eval_confusion: list[list[int]]  # [true][predicted]
    mean_importance: dict[str, float]  # eval split, by source and class
    best_epoch: int
    sentences: dict[str, int]
    seconds: float


def train_importance(config: ImportanceTrainConfig, data: Path, embed: Callable[[list[str]], np.ndarray],
                     embedder: str, out: Path, command: str,
                     progress: Callable[[str, int, int], None] | None = None) -> ImportanceResult:
    """Train, keep the best epoch on the evaluation split, write the model to `out`; its figures."""
    start = time.perf_counter()
    train = examples(data, "train", config.per_relation, config.seed)
    held = examples(data, "eval", config.per_relation, config.seed + 1)
    x, y = _embedded(train, embed, progress, "embedding training sentences")
    xe, ye = _embedded(held, embed, progress, "embedding evaluation sentences")
    rng = np.random.default_rng(config.seed)
    w = rng.normal(0.0, 0.01, (len(CLASSES), x.shape[1]))
    b = np.zeros(len(CLASSES))
    weight = len(y) / (len(CLASSES) * np.bincount(y, minlength=len(CLASSES)))  # classes count alike
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    best = (-1.0, 0, w, b)
    for epoch in range(1, config.epochs + 1):
        p = _softmax(x @ w.T + b)
        g = (p - np.eye(len(CLASSES))[y]) * weight[y][:, None] / len(y)  # d loss / d logits
        vw = config.momentum * vw - config.learning_rate * (g.T @ x + config.l2 * w)
        vb = config.momentum * vb - config.learning_rate * g.sum(axis=0)
        w, b = w + vw, b + vb
        accuracy = _macro_accuracy(ye, (xe @ w.T + b).argmax(axis=1))
        if accuracy > best[0]:
            best = (accuracy, epoch, w.copy(), b.copy())
        if progress is not None:
            progress("training", epoch, config.epochs)
    accuracy, epoch, w, b = best
    model = ImportanceModel(weights=w.astype(np.float32), bias=b.astype(np.float32),
                            values=np.array(VALUES, dtype=np.float32), classes=CLASSES, embedder=embedder, meta={})
    predicted = model.probabilities(xe).argmax(axis=1)
    confusion = [[int(((ye == t) & (predicted == q)).sum()) for q in range(len(CLASSES))] for t in range(len(CLASSES))]
    estimate = model.estimate(xe)
    groups = sorted({(e.source, e.label) for e in held})
    mean = {f"{s} ({CLASSES[c]})": round(float(estimate[[e.source == s and e.label == c for e in held]].mean()), 3)
            for s, c in groups}
    result = ImportanceResult(
        eval_accuracy=round(100 * accuracy, 1), eval_confusion=confusion, mean_importance=mean, best_epoch=epoch,
        sentences={"train": len(train), "eval": len(held)}, seconds=round(time.perf_counter() - start, 1))
    model = ImportanceModel(model.weights, model.bias, model.values, model.classes, embedder,
                            meta={"command": command, "config": asdict(config), "metrics": asdict(result)})
    model.save(out)
    return result


def _embedded(items: list[Labelled], embed, progress, what: str) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for start in range(0, len(items), 512):
        parts.append(np.asarray(embed([e.text for e in items[start:start + 512]]), dtype=np.float64))
        if progress is not None:
            progress(what, min(start + 512, len(items)), len(items))
    return np.concatenate(parts), np.array([e.label for e in items])


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _macro_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean([(predicted[truth == c] == c).mean() for c in range(len(CLASSES))]))
