"""Near-duplicate detection for new facts: against a user's index, and within the batch being added.

Two texts are near-duplicates when their cosine reaches the threshold AND they name the same
numbers and proper nouns: "I have 2 cats" and "I have 3 cats" embed almost identically, but the
second is an update, not a repetition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from memory_store.cells import Cells
from memory_store.index import VectorIndex

# What a row duplicates: ("fact", fact_id) for a stored fact, ("row", j) for an earlier row of the batch.
Duplicate = tuple[str, int]

BLOCK = 256  # rows compared at once
WINDOW = 4096  # earlier new rows of the batch that a row is compared with


class KeyTokens:
    """A text's words (lower-cased), its numbers, and its names (capitalised words after the first)."""

    def __init__(self, text: str):
        words = re.findall(r"[\w'-]+", text)
        self.words = frozenset(w.lower() for w in words)
        self.numbers = frozenset(w for w in self.words if any(c.isdigit() for c in w))
        self.names = frozenset(w.lower() for pos, w in enumerate(words) if pos and w[:1].isupper())

    def agrees_with(self, other: KeyTokens) -> bool:
        """Same numbers, and each text's names appear (in any case) in the other."""
        return self.numbers == other.numbers and self.names <= other.words and other.names <= self.words


@dataclass(frozen=True)
class Inactive:
    """A user's dormant and forgotten facts: told again, they come back instead of being copied."""

    ids: np.ndarray  # (m,)
    texts: list[str]
    vectors: np.ndarray  # (m, dim)


def find_duplicates(
    index: VectorIndex,
    vectors: np.ndarray,
    texts: list[str],
    threshold: float,
    stored_texts: Callable[[list[int]], dict[int, str]],
    inactive: Inactive | None = None,
) -> list[Duplicate | None]:
    """For each row, the fact (active or inactive) or earlier row it duplicates, or None if it is new."""
    out: list[Duplicate | None] = [None] * len(vectors)
    keys = _Keys(texts)
    if index.live_count and len(vectors):
        sims, ids = index.search(vectors, 1)
        close = [int(i) for i in np.nonzero((sims[:, 0] >= threshold) & (ids[:, 0] >= 0))[0]]
        known = stored_texts([int(ids[i, 0]) for i in close])
        for i in close:
            fact_id = int(ids[i, 0])
            if fact_id in known and KeyTokens(known[fact_id]).agrees_with(keys[i]):
                out[i] = ("fact", fact_id)
    if inactive is not None and len(inactive.ids):
        _against_inactive(vectors, keys, threshold, inactive, out)
    _within_batch(vectors, keys, threshold, out)
    return out


def find_duplicates_in_cells(
    cells: Cells,
    vectors: np.ndarray,
    texts: list[str],
    threshold: float,
    probes: int,
    stored_texts: Callable[[list[int]], dict[int, str]],
    inactive: Inactive | None = None,
) -> list[Duplicate | None]:
    """`find_duplicates` for a bulk add, with the user's active vectors held in `cells` (which see): one
    search finds both the stored facts and the earlier rows near each row. A row takes the nearest stored
    fact (of up to 8 at the threshold) that names the same numbers and names, else the first earlier kept
    row of the batch that does, with no window."""
    out: list[Duplicate | None] = [None] * len(vectors)
    keys = _Keys(texts)
    pairs = cells.search(vectors, threshold, probes)
    if len(pairs.rows):
        order = np.lexsort((-pairs.sims, pairs.rows))  # by row, nearest first
        rows, ids = pairs.rows[order], pairs.ids[order]
        known = stored_texts(sorted(set(ids.tolist())))
        tried: dict[int, int] = {}
        for i, fact_id in zip(rows.tolist(), ids.tolist()):
            if out[i] is not None or tried.get(i, 0) >= 8:
                continue
            tried[i] = tried.get(i, 0) + 1
            if fact_id in known and KeyTokens(known[fact_id]).agrees_with(keys[i]):
                out[i] = ("fact", fact_id)
    if inactive is not None and len(inactive.ids):
        _against_inactive(vectors, keys, threshold, inactive, out)
    order = np.lexsort((pairs.earlier, pairs.later))  # each row's earlier rows in order
    for i, j in zip(pairs.later[order].tolist(), pairs.earlier[order].tolist()):
        # rows are decided in order: j < i is settled, and is kept when it duplicates nothing
        if out[i] is None and out[j] is None and keys[j].agrees_with(keys[i]):
            out[i] = ("row", j)
    return out


class _Keys:
    """Each text's KeyTokens, read when first needed: most rows of a batch are near nothing."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self._keys: dict[int, KeyTokens] = {}

    def __getitem__(self, i: int) -> KeyTokens:
        if i not in self._keys:
            self._keys[i] = KeyTokens(self.texts[i])
        return self._keys[i]


def _against_inactive(vectors: np.ndarray, keys: _Keys, threshold: float, inactive: Inactive,
                      out: list[Duplicate | None]) -> None:
    rows = [i for i, d in enumerate(out) if d is None]
    for start in range(0, len(rows), BLOCK):
        block = rows[start:start + BLOCK]
        sims = vectors[block] @ inactive.vectors.T  # (b, m)
        for r in np.nonzero((sims >= threshold).any(axis=1))[0]:
            i = block[r]
            for j in np.argsort(-sims[r])[:8]:
                if sims[r, j] < threshold:
                    break
                if KeyTokens(inactive.texts[j]).agrees_with(keys[i]):
                    out[i] = ("fact", int(inactive.ids[j]))
                    break


def _within_batch(vectors: np.ndarray, keys: _Keys, threshold: float, out: list[Duplicate | None]) -> None:
    kept: list[int] = []  # rows that will be stored as new facts
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start:start + BLOCK]
        previous = kept[-WINDOW:]
        earlier = block @ vectors[previous].T if previous else np.zeros((len(block), 0), np.float32)  # (b, p)
        inner = block @ block.T  # (b, b)
        # rows near no earlier row of the batch (most of them) are kept without a look at their words
        near = (earlier >= threshold).any(axis=1) | np.tril(inner >= threshold, k=-1).any(axis=1)
        kept_here: list[int] = []  # offsets within this block kept so far
        for offset in range(len(block)):
            i = start + offset
            if out[i] is not None:
                continue
            match = _match(i, offset, start, previous, earlier, inner, kept_here, keys, threshold) if near[offset] else None
            if match is None:
                kept.append(i)
                kept_here.append(offset)
            else:
                out[i] = ("row", match)


def _match(i: int, offset: int, start: int, previous: list[int], earlier: np.ndarray, inner: np.ndarray,
           kept_here: list[int], keys: _Keys, threshold: float) -> int | None:
    """The kept earlier row that row i duplicates, if any."""
    for j in np.nonzero(earlier[offset] >= threshold)[0]:
        if keys[previous[j]].agrees_with(keys[i]):
            return previous[j]
    for o in kept_here:
        if inner[offset, o] >= threshold and keys[start + o].agrees_with(keys[i]):
            return start + o
    return None
