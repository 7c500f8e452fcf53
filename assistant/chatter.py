"""Replies to small talk: what people answered, in real conversations, to lines like the user's.

A bank of (line, reply) pairs from everyday conversation (`lab/chatter_bank.py`: DailyDialog's train
split, and a few lines about the assistant itself written for it) holds each line's and each reply's
sentence vector. A small-talk turn is matched to the lines it is nearest to; the replies people gave to
those lines are the candidates, and the one most like the others (weighted by how near its line is)
answers: "thanks a lot" finds lines whose replies mostly say "you're welcome", so a reply that only fits
its own conversation ("Sorry, this biography is over the deadline.") loses to the agreement. Replying with
the reply to the nearest line is the IR-based chatbot (Jurafsky & Martin, Speech and Language Processing,
3rd ed., "Chatbots & Dialogue Systems") and Persona-Chat's IR baseline (Zhang et al. 2018); choosing among
the candidates by their agreement is ours. A turn no line is near gets no reply here (the generator
replies).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import CheckpointError

FORMAT = 1


@dataclass(frozen=True)
class ChatterConfig:
    nearest: int = 20  # lines of the bank whose replies are candidates
    most_candidates: int = 40  # candidate replies weighed at most
    per_line: int = 4  # ... at most this many from one line (a line said often, "Thanks!", has hundreds)
    # The nearest line must be at least this similar (cosine) for the bank to reply; below it, nothing
    # said in the bank is near enough to be said in context.
    min_similarity: float = 0.6
    floor: float = 0.5  # a line less similar than this gives no candidates, however near the others are

    def __post_init__(self) -> None:
        if min(self.nearest, self.most_candidates, self.per_line) < 1 or not 0 < self.floor <= self.min_similarity:
            raise ValueError("nearest, most_candidates and per_line must be 1 or more, and 0 < floor <= min_similarity")


@dataclass(frozen=True, eq=False)
class ChatterBank:
    """Lines and the replies people gave them, as unit vectors in a smaller space (the sentence vectors'
    leading singular directions, `projection`) stored in int8 (x 127)."""

    projection: np.ndarray  # (dim, d) float32: sentence vector -> the bank's space
    lines: np.ndarray  # (L, d) int8
    first_reply: np.ndarray  # (L + 1,) int: line i's replies are reply_of[first_reply[i]:first_reply[i + 1]]
    reply_of: np.ndarray  # (P,) int: which of `replies` each (line, reply) pair says
    replies: tuple[str, ...]  # (R,) distinct replies (one line each: saved as UTF-8, joined by newlines)
    reply_vectors: np.ndarray  # (R, d) int8
    embedder: str  # the embedding model the vectors come from
    source: str = ""

    def reply(self, vector: np.ndarray, config: ChatterConfig = ChatterConfig(), avoid: tuple[str, ...] = ()
              ) -> str | None:
        """The reply to a turn whose sentence vector is `vector`, or None when no line is near enough.
        `avoid`: replies not to give (what the assistant just said)."""
        q = np.asarray(vector, dtype=np.float32).reshape(-1) @ self.projection
        q = q / max(float(np.linalg.norm(q)), 1e-9)
        near = self._lines @ q  # (L,)
        nearest = min(config.nearest, len(near))
        top = np.argpartition(-near, nearest - 1)[:nearest] if nearest else np.zeros(0, dtype=np.int64)
        top = top[np.argsort(-near[top])]  # only the nearest lines are sorted
        if not len(top) or near[top[0]] < config.min_similarity:
            return None
        rows: dict[int, float] = {}  # candidate reply -> the nearest line's similarity that gave it
        for i in top[near[top] >= config.floor]:
            said = [r for r in self.reply_of[self.first_reply[i]:self.first_reply[i + 1]] if self.replies[r] not in avoid]
            for r in said[: config.per_line]:
                if len(rows) < config.most_candidates:
                    rows.setdefault(int(r), float(near[i]))
        if not rows:
            return None
        ids, w = list(rows), np.asarray(list(rows.values()), dtype=np.float32)
        r = self.reply_vectors[ids].astype(np.float32) / 127.0  # (C, d)
        agreement = (r @ r.T) @ w / w.sum()  # (C,): how like the other candidates each one is
        return self.replies[ids[int(np.argmax(agreement * w))]]

    @cached_property
    def _lines(self) -> np.ndarray:
        """The lines' vectors as float32, unit length (made on first use, kept)."""
        return self.lines.astype(np.float32) / 127.0

    def save(self, path: Path) -> None:
        if any("\n" in r for r in self.replies):
            raise ValueError("a reply of a chatter bank is one line: a reply holds a newline")
        np.savez(Path(path), format=np.int64(FORMAT), projection=self.projection, lines=self.lines,
                 first_reply=self.first_reply, reply_of=self.reply_of,
                 replies=np.frombuffer("\n".join(self.replies).encode("utf-8"), dtype=np.uint8),
                 reply_vectors=self.reply_vectors, embedder=np.str_(self.embedder), source=np.str_(self.source))


def load_chatter(path: Path) -> ChatterBank:
    """A bank saved by `ChatterBank.save`; anything else is a CheckpointError."""
    try:
        with np.load(Path(path)) as saved:
            if saved["format"].item() != FORMAT:
                raise CheckpointError(f"{path} is a chatter bank of format {saved['format'].item()}, this version "
                                      f"reads {FORMAT}; rebuild it with `memchat train-chatter`")
            text = saved["replies"].tobytes().decode("utf-8")
            bank = ChatterBank(saved["projection"], saved["lines"], saved["first_reply"], saved["reply_of"],
                               tuple(text.split("\n")) if text else (), saved["reply_vectors"],
                               str(saved["embedder"]), str(saved["source"]))
        whole = (bank.projection.ndim == bank.lines.ndim == bank.reply_vectors.ndim == 2
                 and bank.first_reply.ndim == bank.reply_of.ndim == 1
                 and bank.projection.shape[1] == bank.lines.shape[1] == bank.reply_vectors.shape[1]
                 and len(bank.first_reply) == len(bank.lines) + 1 and len(bank.replies) == len(bank.reply_vectors)
                 and int(bank.first_reply[0]) == 0 and int(bank.first_reply[-1]) == len(bank.reply_of)
                 and bool(np.all(np.diff(bank.first_reply) >= 0))
                 and (not len(bank.reply_of) or 0 <= int(bank.reply_of.min()) <= int(bank.reply_of.max()) < len(bank.replies)))
    except (OSError, KeyError, ValueError, TypeError, IndexError, AttributeError, UnicodeDecodeError,
            zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path} is not a chatter bank this version can load: {e}") from e
    if not whole:
        raise CheckpointError(f"{path} is not a whole chatter bank (its parts disagree)")
    return bank
