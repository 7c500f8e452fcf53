"""The shared corpora as plain Python: DailyDialog turns with their dialogue acts, SQuAD articles, DREAM
dialogues with their questions and Synthetic-Persona-Chat persona sentences (each folder's SOURCE.md gives origin and license).

Read-only and nothing is copied into the repository; a missing file raises `DataNotFoundError` naming the
folder to pass with `--data`.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assistant.errors import DataFormatError, DataNotFoundError


@dataclass(frozen=True)
class Utterance:
    text: str
    act: str  # DailyDialog's dialogue act: inform, question, directive or commissive
    first: bool  # it opens its dialogue
    emotion: str = ""  # DailyDialog's emotion label ("no emotion", "happiness", "surprise", ...)


@dataclass(frozen=True)
class QA:
    question: str
    answers: tuple[tuple[str, int], ...]  # (text, character offset in the paragraph); () when impossible


@dataclass(frozen=True)
class Paragraph:
    context: str
    qas: tuple[QA, ...]


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[Paragraph, ...]


def _file(data: Path, *parts: str) -> Path:
    path = Path(data).joinpath(*parts)
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing: pass --data with the folder that holds {parts[0]}/")
    return path


@cache
def dailydialog(data: Path, split: str) -> tuple[Utterance, ...]:
    """Every utterance of one DailyDialog split ("train", "validation", "test") with its first act."""
    with zipfile.ZipFile(_file(data, "dailydialog", "dailydialog.zip")) as archive:
        dialogues = json.load(archive.open("data/dialogues.json"))
    out = []
    for dialogue in dialogues:
        if dialogue["data_split"] != split:
            continue
        for turn in dialogue["turns"]:
            acts = turn["dialogue_acts"]["binary"]
            if acts:
                out.append(Utterance(" ".join(turn["utterance"].split()), acts[0]["intent"], turn["utt_idx"] == 0,
                                     turn.get("emotion", "")))
    if not out:
        raise DataFormatError(f"DailyDialog has no {split!r} utterances")
    return tuple(out)


@cache
def squad(data: Path, version: str = "2.0") -> tuple[Article, ...]:
    """The SQuAD development set of `version` ("2.0" or "1.1"), article by article."""
    name = {"2.0": "dev-v2.0.rebuilt.json", "1.1": "dev-v1.1.rebuilt.json"}[version]
    raw = json.loads(_file(data, "squad", name).read_text())
    return tuple(Article(a["title"], tuple(
        Paragraph(p["context"], tuple(QA(q["question"].strip(), () if q.get("is_impossible") else
                                         tuple((x["text"], x["answer_start"]) for x in q["answers"]))
                                      for q in p["qas"]))
        for p in a["paragraphs"])) for a in raw["data"])


@dataclass(frozen=True)
class Dialogue:
    """A DREAM dialogue: its lines, each (speaker, words), and its questions, each (question, right answer)."""

    lines: tuple[tuple[str, str], ...]
    questions: tuple[tuple[str, str], ...]


_SPEAKER = re.compile(r"^\s*([A-Za-z][A-Za-z .]{0,15}):\s*")


@cache
def dream(data: Path, split: str = "train") -> tuple[Dialogue, ...]:
    """DREAM's dialogues of one split ("M: I am considering dropping my dancing class.")."""
    raw = json.loads(_file(data, "dream", f"{split}.json").read_text())
    out = []
    for lines, questions, _ in raw:
        said = []
        for line in lines:
            m = _SPEAKER.match(line)
            said.append((m.group(1), line[m.end():].strip()) if m else ("", line.strip()))
        out.append(Dialogue(tuple(said), tuple((q["question"].strip(), q["answer"].strip()) for q in questions)))
    return tuple(out)


@cache
def dream_questions(data: Path, split: str = "train") -> tuple[str, ...]:
    """The questions DREAM asks about its dialogues ("What does the man suggest the woman do?")."""
    return tuple(q for d in dream(data, split) for q, _ in d.questions)


@cache
def persona_sentences(data: Path) -> tuple[str, ...]:
    """The distinct persona sentences of Synthetic-Persona-Chat's test split ("I have a turtle named
    timothy."). Its validation split shares ConvAI2's validation personas and is never read."""
    path = _file(data, "synthetic_persona_chat", "Synthetic-Persona-Chat_test.csv")
    seen: dict[str, None] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for column in ("user 1 personas", "user 2 personas"):
                for line in (row.get(column) or "").splitlines():
                    if line.strip():
                        seen.setdefault(" ".join(line.split()), None)
    return tuple(seen)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# Titles and abbreviations whose stop ends no sentence ("Dr. Lindqvist", "St. Mary's").
ABBREVIATIONS = frozenset(("dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "mt.", "jr.", "sr.", "vs.", "e.g.", "i.e.",
                           "approx.", "fig.", "gen.", "lt.", "col.", "sgt.", "rev."))


def ends_in_abbreviation(text: str) -> bool:
    """Whether `text`, up to and including a stop, ends in a title or abbreviation ("... Dr.")."""
    words = text.split()
    return bool(words) and words[-1].lower() in ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where the sentences of a paragraph start and end (a full stop, ! or ? before a capital; not the stop
    of a title)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if ends_in_abbreviation(text[start:m.start()]):
            continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def dailydialog_dialogues(data: Path, split: str) -> tuple[tuple[str, ...], ...]:
    """Every dialogue of one DailyDialog split as its utterances in order (whitespace normalised)."""
    with zipfile.ZipFile(_file(data, "dailydialog", "dailydialog.zip")) as archive:
        dialogues = json.load(archive.open("data/dialogues.json"))
    out = tuple(tuple(" ".join(t["utterance"].split()) for t in d["turns"]) for d in dialogues
                if d["data_split"] == split)
    if not out:
        raise DataFormatError(f"DailyDialog has no {split!r} dialogues")
    return out
