"""The checkpoint format: weights with the config, vocabulary and format version they were trained with.

Written by the lab's training recipes, read by the runtime's loaders (`assistant.load_generator`, the answer
finder, the update detector). A checkpoint is a plain dict of tensors, lists and numbers saved with
`torch.save` and read with `weights_only=True`: it names no class, so moving code never breaks a shipped model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import CheckpointError
from .vocab import Vocab

FORMAT_VERSION = 1  # bump when the checkpoint layout changes; load_checkpoint refuses other versions


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
