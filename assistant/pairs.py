"""A small classifier over two sentence embeddings: the update detector (`updates.py`: does a new statement
replace a fact?) is one, trained on pairs of memchat's own sentences (`lab/pair_training.py`).

The features of a pair (u, v) are [u*v, |u-v|, u+v] (the elementwise product carries the cosine;
InferSent, Conneau et al. 2017, section 3.2, uses the same mix), read by one hidden ReLU layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint
from .errors import CheckpointError


@dataclass(frozen=True)
class PairConfig:
    dim: int = 384  # the embedding model's (all-MiniLM-L6-v2)
    hidden: int = 256
    threshold: float = 0.5  # probability above which the relation holds
    dropout: float = 0.0  # in training, on the features and the hidden layer (0.3 generalises better to
    # phrasings never seen: a pair answer finder went from F1 84 to 88 on held-out ones)


class PairClassifier(nn.Module):
    def __init__(self, config: PairConfig = PairConfig()):
        super().__init__()
        self.config = config
        self.net = nn.Sequential(nn.Linear(3 * config.dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Logits (B,) that the relation holds between `first` (B, dim) and `second` (B, dim), unit rows."""
        features = torch.cat([first * second, (first - second).abs(), first + second], dim=-1)  # (B, 3 dim)
        hidden = self.net[1](self.net[0](self.drop(features)))  # (B, hidden)
        return self.net[2](self.drop(hidden)).squeeze(-1)

    @torch.no_grad()
    def probabilities(self, first: np.ndarray, seconds: np.ndarray) -> list[float]:
        """P(relation) of one embedding (dim,) against each of several (n, dim)."""
        self.eval()
        rows = torch.tensor(np.asarray(seconds, dtype=np.float32)).reshape(-1, self.config.dim)  # a copy: store
        one = torch.tensor(np.asarray(first, dtype=np.float32)).reshape(1, -1).expand_as(rows)  # rows are read-only
        return torch.sigmoid(self(one, rows)).tolist()


def load_classifier(path: Path, kind: str) -> tuple[PairClassifier, dict]:
    """A saved classifier of `kind` and its metrics (which name the embedding model it was trained with)."""
    saved = load_checkpoint(Path(path), kind=kind)
    try:
        model = PairClassifier(PairConfig(**saved.config))
        model.load_state_dict(saved.state)
    except (TypeError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not a {kind} this version can load: {e}") from e
    return model.eval(), saved.metrics
