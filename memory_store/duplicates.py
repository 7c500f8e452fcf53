"""Near-duplicate detection for new facts: against a user's index, and within the batch being added."""

from __future__ import annotations

import numpy as np

from memory_store.index import VectorIndex

# What a row duplicates: ("fact", fact_id) for a stored fact, ("row", j) for an earlier row of the batch.
Duplicate = tuple[str, int]

BLOCK = 256  # rows compared at once
WINDOW = 4096  # earlier new rows of the batch that a row is compared with


def find_duplicates(index: VectorIndex, vectors: np.ndarray, threshold: float) -> list[Duplicate | None]:
    """For each row, the fact or earlier row it duplicates (cosine >= threshold), or None if it is new."""
    out: list[Duplicate | None] = [None] * len(vectors)
    if index.live_count and len(vectors):
        sims, ids = index.search(vectors, 1)
        for i in np.nonzero((sims[:, 0] >= threshold) & (ids[:, 0] >= 0))[0]:
            out[int(i)] = ("fact", int(ids[i, 0]))
    _within_batch(vectors, threshold, out)
    return out


def _within_batch(vectors: np.ndarray, threshold: float, out: list[Duplicate | None]) -> None:
    kept: list[int] = []  # rows that will be stored as new facts
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start:start + BLOCK]
        previous = kept[-WINDOW:]
        earlier = block @ vectors[previous].T if previous else None  # (b, p)
        inner = block @ block.T  # (b, b)
        kept_here: list[int] = []  # offsets within this block kept so far
        for offset in range(len(block)):
            i = start + offset
            if out[i] is not None:
                continue
            match = None
            if earlier is not None:
                j = int(np.argmax(earlier[offset]))
                if earlier[offset, j] >= threshold:
                    match = previous[j]
            if match is None:
                for o in kept_here:
                    if inner[offset, o] >= threshold:
                        match = start + o
                        break
            if match is None:
                kept.append(i)
                kept_here.append(offset)
            else:
                out[i] = ("row", match)
