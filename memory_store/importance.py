"""How important a new memory is, estimated from its sentence embedding by a small shipped classifier.

Names of people, health and allergies, where someone lives and dates to keep start far more stable than a
passing remark: importance sets a fact's initial stability (`decay.initial_stability`). The classifier is a
softmax layer over the store's all-MiniLM-L6-v2 embedding (numpy only: the store never imports torch),
trained by `lab/importance_training.py` on labelled sentences (`lab/importance_data.py`); importance is the
expected importance of the classes, sum_c P(c | text) * value_c. A caller's explicit importance wins.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent / "models" / "importance.npz"
FORMAT = 1


@dataclass(frozen=True)
class ImportanceModel:
    """A softmax layer over sentence embeddings: weights (classes, dim), bias (classes,), and the importance
    each class stands for."""

    weights: np.ndarray
    bias: np.ndarray
    values: np.ndarray
    classes: tuple[str, ...]
    embedder: str  # the embedding model it reads; another store's vectors would mean nothing to it
    meta: dict

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, classes) class probabilities of unit-length embeddings (n, dim)."""
        logits = np.asarray(vectors, dtype=np.float32) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def estimate(self, vectors: np.ndarray) -> np.ndarray:
        """Importance in [0, 1] of each embedded text."""
        return np.clip(self.probabilities(vectors) @ self.values, 0.0, 1.0)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**self.meta, "format": FORMAT, "classes": list(self.classes), "embedder": self.embedder}
        with open(path, "wb") as f:
            np.savez(f, weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32),
                     values=self.values.astype(np.float32), meta=np.array(json.dumps(meta)))


def load_importance(path: Path) -> ImportanceModel:
    """Read a model written by `ImportanceModel.save`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} has importance model format {meta.get('format')}, not {FORMAT}")
        return ImportanceModel(weights=z["weights"], bias=z["bias"], values=z["values"],
                               classes=tuple(meta["classes"]), embedder=meta["embedder"], meta=meta)


@cache
def shipped_for(embedder: str) -> ImportanceModel | None:
    """The shipped model if it reads this embedder's vectors, else None (importance then defaults)."""
    if not SHIPPED.exists():
        log.info("no importance model at %s: new facts get the default importance", SHIPPED)
        return None
    model = load_importance(SHIPPED)
    if model.embedder != embedder:
        log.info("the importance model reads %s embeddings, the store has %s: not used", model.embedder, embedder)
        return None
    return model
