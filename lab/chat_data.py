"""Real conversation for the chat model: DailyDialog, Synthetic-Persona-Chat and MSC dialogues, read from the
shared data folder, and every reply of them as a generator example (the replying speaker is the bot).

- DailyDialog (Li et al. 2017): everyday two-person conversations; train for training, validation for
  model selection, test for `memchat eval dailydialog`.
- Synthetic-Persona-Chat (Jandaghi et al. 2023): conversations between two persona'd speakers. Only its
  test split is read (968 conversations on Persona-Chat test personas): its validation split shares
  personas with ConvAI2 validation, the chat model's probe. The replying speaker's persona sentences are
  given as stored memories (kb lines), as `memchat eval convai2` gives ConvAI2's.
- MSC (Xu, Szlam & Weston 2022) sessions 2-3, test only: a later session between the same two people,
  with each speaker's persona summary of the earlier sessions, given as memories (or not, to measure
  what memory adds).

Read-only; nothing is copied into the repository. A missing file raises `DataNotFoundError` naming the
folder to pass with `--data`.
"""

from __future__ import annotations

import csv
import json
import random
import re
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assistant.errors import DataFormatError
from assistant.lines import Line

from .corpora import _file  # the shared data folder's files, with the error that names --data
from .dialog_babi import Example

SPC_TEST = "Synthetic-Persona-Chat_test.csv"
_SPC_TURN = re.compile(r"^(User [12]):\s*(.*)$")
_PLACEHOLDER = re.compile(r"\[[^\]]*\]")  # "[User 1's name]": Synthetic-Persona-Chat's unfilled slots


@dataclass(frozen=True)
class Dialogue:
    """Two people talking: who said each turn (0 or 1), and each speaker's memories (persona sentences)."""

    turns: tuple[tuple[int, str], ...]  # (speaker, text), in order
    memories: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # what speaker 0 / 1 knows of themselves


@cache
def dailydialog(data: Path, split: str) -> tuple[Dialogue, ...]:
    """Every DailyDialog dialogue of one split ("train", "validation" or "test"); speakers alternate."""
    with zipfile.ZipFile(_file(data, "dailydialog", "dailydialog.zip")) as archive:
        raw = json.load(archive.open("data/dialogues.json"))
    out = tuple(Dialogue(tuple((i % 2, " ".join(t["utterance"].split())) for i, t in enumerate(d["turns"])))
                for d in raw if d["data_split"] == split)
    if not out:
        raise DataFormatError(f"DailyDialog has no {split!r} dialogues")
    return out


@cache
def persona_chat_test(data: Path) -> tuple[Dialogue, ...]:
    """Synthetic-Persona-Chat's test conversations with both speakers' personas (never its validation split)."""
    path = _file(data, "synthetic_persona_chat", SPC_TEST)
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            personas = tuple(tuple(" ".join(s.split()) for s in (row.get(c) or "").splitlines() if s.strip())
                             for c in ("user 1 personas", "user 2 personas"))
            turns: list[tuple[int, str]] = []
            for line in (row.get("Best Generated Conversation") or "").splitlines():
                m = _SPC_TURN.match(line.strip())
                if m:
                    turns.append((0 if m[1] == "User 1" else 1, m[2].strip()))
                elif line.strip() and turns:  # a turn that runs over two lines
                    turns[-1] = (turns[-1][0], f"{turns[-1][1]} {line.strip()}")
            if len(turns) >= 2:
                out.append(Dialogue(tuple(turns), (personas[0], personas[1])))
    if not out:
        raise DataFormatError(f"{path} holds no conversations")
    return tuple(out)


@cache
def msc(data: Path, session: int, split: str = "test") -> tuple[Dialogue, ...]:
    """MSC's session `session` (2 or 3) dialogues of `split`, each speaker's memories being their persona
    summary of the sessions before."""
    if session not in (2, 3):
        raise DataFormatError(f"MSC sessions 2 and 3 are here, not {session}")
    member = f"msc/msc_dialogue/session_{session}/{split}.txt"
    with tarfile.open(_file(data, "msc", "msc-valid-test.tar.gz")) as archive:
        try:
            text = archive.extractfile(member).read().decode("utf-8")
        except KeyError as e:
            raise DataFormatError(f"the MSC archive has no {member}") from e
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        episode = json.loads(line)
        # "Speaker 2" is the second person; the first is "Speaker 1" or, in a few episodes, a worker's number
        turns = tuple((int(t["id"] == "Speaker 2"), " ".join(t["text"].split())) for t in episode["dialog"])
        summaries = tuple(tuple(" ".join(s.split()) for s in p) for p in episode["personas"])
        out.append(Dialogue(turns, (summaries[0], summaries[1])))
    return tuple(out)


def examples(dialogues: Sequence[Dialogue], *, window: int, memories: bool = True, min_turn: int = 1) -> list[Example]:
    """Every reply from turn `min_turn` on as an example: the replying speaker is the bot, the other the
    user; its memories (with `memories`) are kb lines, the last `window` turns the context, older turns
    the history. Replies with an unfilled slot ("[User 1's name]") are left out."""
    out = []
    for number, dialogue in enumerate(dialogues):
        for i in range(max(min_turn, 1), len(dialogue.turns)):
            speaker, reply = dialogue.turns[i]
            if not reply or _PLACEHOLDER.search(reply):
                continue
            said = [Line("bot" if s == speaker else "user", _PLACEHOLDER.sub("", t).strip())
                    for s, t in dialogue.turns[:i]]
            cut = max(0, len(said) - window)
            kb = [Line("kb", m) for m in dialogue.memories[speaker]] if memories else []
            out.append(Example(dialog=number, context=(*kb, *said[cut:]), reply=reply, history=tuple(said[:cut])))
    return out


def with_distractors(found: Sequence[Example], facts: Sequence[str], share: float, most: int, seed: int) -> list[Example]:
    """`found` with a `share` of them (those without memories) showing 1..`most` of `facts` as kb lines
    first: stored memories the everyday reply must ignore, as a chat's recall shows some to small talk."""
    rng = random.Random(f"distractors:{seed}")
    out = []
    for e in found:
        if facts and most and not any(line.speaker == "kb" for line in e.context) and rng.random() < share:
            shown = rng.sample(list(facts), rng.randint(1, min(most, len(facts))))
            e = Example(e.dialog, (*(Line("kb", f) for f in shown), *e.context), e.reply, e.history)
        out.append(e)
    return out
