"""A deterministic, content-dependent embedder for fast unit tests: hashed words and word pairs."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashEmbedder:
    """Texts sharing words get similar vectors; identical texts get identical ones."""

    def __init__(self, dim: int = 64, name: str = "hash-test"):
        self.dim, self.name = dim, name

    def _slot(self, token: str) -> tuple[int, float]:
        h = hashlib.blake2b(token.encode(), digest_size=8).digest()
        return int.from_bytes(h[:4], "little") % self.dim, 1.0 if h[4] & 1 else -1.0

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for token in words + [a + " " + b for a, b in zip(words, words[1:])]:
                slot, sign = self._slot(token)
                out[row, slot] += sign
            if not words:
                out[row, 0] = 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
