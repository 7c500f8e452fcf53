"""The words memchat's rules know by kind ("species": the kinds of animal, "names", "languages"): the value
lists of `data/<kind>.txt`, one a line, read once.

The lab's relation catalogue (`lab/relations.py`) writes its training conversations from the same lists.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .errors import DataFormatError

DATA = Path(__file__).parent / "data"


@cache
def lexicon(kind: str) -> tuple[str, ...]:
    """Every value of a listed kind, both splits: what memchat's rules know as words, not training data."""
    path = DATA / f"{kind}.txt"
    if not path.exists():
        raise DataFormatError(f"no value list for the kind {kind!r}: expected {path}")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))
