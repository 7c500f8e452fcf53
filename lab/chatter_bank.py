"""The chatter bank (`assistant.chatter`): lines of everyday conversation and the replies people gave them.

Pairs of consecutive utterances of DailyDialog's train split (Li et al. 2017; CC BY-NC-SA 4.0) where the
line is short, as small talk is, and the reply says nothing only its own conversation could say: no
digits, no names, no one addressed ("mom", "sir"), no claim to remember. The lines about the assistant
itself (`lab/chatter/about-me.tsv`) are written by hand. Each line and reply gets its MiniLM sentence
vector, stored as int8.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.chatter import ChatterBank
from assistant.errors import DataFormatError
from memory_store.embedder import MiniLMEmbedder

from .corpora import dailydialog_dialogues

ABOUT_ME = Path(__file__).with_name("chatter") / "about-me.tsv"
MOST_LINE_WORDS = 10  # small talk is short; a longer line is about something
MOST_REPLY_WORDS = 14
DIM = 192  # the bank's vectors: MiniLM's 384 projected on their leading singular directions (half the size)
# What marks a reply as bound to its own conversation (data filtering, not runtime rules): someone addressed
# by role or endearment, or a claim to remember.
ADDRESSED = frozenset("""mom mum dad mommy daddy sir madam ma'am honey darling dear sweetie sweetheart mr mrs ms miss
dr doctor boss grandma grandpa granny son kid kids buddy pal mate guys officer waiter waitress""".split())
REMEMBERING = re.compile(r"\b(remember|remembered|recall|forgot|forget|told me|you said)\b", re.I)
_WORD = re.compile(r"[A-Za-z']+")
_FIRST_OF_SENTENCE = re.compile(r"(^|[.!?]\s+)([A-Za-z']+)")

Progress = Callable[[int, int], None]


def chatter_pairs(data: Path) -> list[tuple[str, str]]:
    """(line, reply) pairs from DailyDialog's train split that a reply bank may say out of their dialogue."""
    out = []
    for dialogue in dailydialog_dialogues(data, "train"):
        for line, reply in zip(dialogue, dialogue[1:]):
            if len(line.split()) <= MOST_LINE_WORDS and 1 <= len(reply.split()) <= MOST_REPLY_WORDS \
                    and says_nothing_particular(reply):
                out.append((line, reply))
    return out


def says_nothing_particular(reply: str) -> bool:
    """No digits, no name (a capitalised word inside a sentence, "I" aside), no one addressed, no claim
    to remember."""
    if any(c.isdigit() for c in reply) or REMEMBERING.search(reply):
        return False
    words = _WORD.findall(reply)
    if any(w.lower().strip("'") in ADDRESSED for w in words):
        return False
    first = {m.start(2) for m in _FIRST_OF_SENTENCE.finditer(reply)}
    for m in _WORD.finditer(reply):
        w = m.group()
        if w[:1].isupper() and m.start() not in first and w.split("'")[0] not in ("I", "OK"):
            return False
    return True


def about_me() -> list[tuple[str, str]]:
    out = []
    for number, row in enumerate(ABOUT_ME.read_text(encoding="utf-8").splitlines(), 1):
        if not row.strip() or row.startswith("#"):
            continue
        parts = row.split("\t")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise DataFormatError(f"{ABOUT_ME}:{number}: expected 'line<TAB>reply'")
        out.append((parts[0].strip(), parts[1].strip()))
    return out


def build_bank(pairs: list[tuple[str, str]], embedder: MiniLMEmbedder | None = None, dim: int = DIM,
               progress: Progress | None = None, source: str = "") -> ChatterBank:
    """The bank of `pairs` (each line's replies grouped under it): sentence vectors projected on their `dim`
    leading singular directions (of the uncentred vectors), unit length, int8."""
    embedder = embedder or MiniLMEmbedder()
    grouped: dict[str, list[str]] = {}
    for line, reply in pairs:
        replies = grouped.setdefault(line, [])
        if reply not in replies:
            replies.append(reply)
    lines = list(grouped)
    replies = list(dict.fromkeys(r for line in lines for r in grouped[line]))
    index = {r: i for i, r in enumerate(replies)}
    reply_of = np.array([index[r] for line in lines for r in grouped[line]], dtype=np.int64)
    first = np.cumsum([0] + [len(grouped[line]) for line in lines]).astype(np.int64)
    distinct = list(dict.fromkeys([*lines, *replies]))
    vectors: dict[str, np.ndarray] = {}
    step = 512
    for start in range(0, len(distinct), step):
        chunk = distinct[start:start + step]
        vectors.update(zip(chunk, embedder.embed(chunk)))
        if progress is not None:
            progress(min(start + step, len(distinct)), len(distinct))
    every = np.stack([vectors[t] for t in distinct]).astype(np.float32)
    dim = min(dim, every.shape[1])
    projection = np.linalg.svd(every, full_matrices=False)[2][:dim].T.astype(np.float32)  # (384, dim)

    def quantised(texts: list[str]) -> np.ndarray:
        v = np.stack([vectors[t] for t in texts]).astype(np.float32) @ projection
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
        return np.round(v * 127).astype(np.int8)

    return ChatterBank(projection, quantised(lines), first, reply_of, tuple(replies), quantised(replies),
                       embedder.name, source)


def build_chatter(data: Path, out: Path, progress: Progress | None = None) -> ChatterBank:
    """Build the shipped bank from DailyDialog's train split and the hand-written lines about the assistant;
    a DailyDialog line that is one of those (asked of a person there: "What's your name?") is left out, so
    people's answers to it do not outvote the assistant's own."""
    mine = about_me()
    pairs = with_my_own(chatter_pairs(data), mine)
    bank = build_bank(pairs, progress=progress, source=f"DailyDialog train ({len(pairs) - len(mine)} "
                      "pairs, CC BY-NC-SA 4.0) and lab/chatter/about-me.tsv")
    bank.save(out)
    return bank


def with_my_own(theirs: list[tuple[str, str]], mine: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`theirs` without the lines `mine` answers (in any case or punctuation), then `mine`."""
    asked = {_plain(line) for line, _ in mine}
    return [(line, reply) for line, reply in theirs if _plain(line) not in asked] + mine


def _plain(line: str) -> str:
    """A line's words, lower case, without punctuation ("What's your name?" -> "what's your name")."""
    return " ".join(_WORD.findall(line.lower()))
