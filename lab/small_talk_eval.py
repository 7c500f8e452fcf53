"""`memchat eval small-talk`: hand-written small talk played through the real assistant, judged by hand.

The turns (`lab/small_talk/turns.txt`) were written for this purpose, never taken from a corpus: the
user's memories (`fact:` lines) are stored first, then each block of turns is one chat session of the
`Assistant`, as `memchat chat` plays it. Nothing here scores a reply: a person reads each one and writes
a verdict into the judgement file (`lab/small_talk/judged.tsv`: turn, reply, verdict `sensible` or
`not`, and a note; a verdict is on a reply to a turn, whichever model wrote it), and the share reported
is the share of those verdicts, for replies word for word as judged; a reply nobody has judged yet is
counted apart.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from assistant.assistant import Assistant
from assistant.errors import DataFormatError, DataNotFoundError
from memory_store import MemoryStore

from .training import Progress

VERDICTS = ("sensible", "not")


@dataclass(frozen=True)
class Turns:
    facts: tuple[str, ...]  # stored as the user's memories before the sessions
    sessions: tuple[tuple[str, ...], ...]  # each a chat session's turns


@dataclass(frozen=True)
class Played:
    session: int
    turn: str
    reply: str
    intent: str  # what the assistant took the turn for
    stored: int  # memories the turn stored
    verdict: str = ""  # "sensible", "not", or "" when not judged
    note: str = ""


def read_turns(path: Path) -> Turns:
    """The turns file: `fact: ...` lines, then blocks of turns separated by blank lines; # comments."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise DataNotFoundError(f"cannot read the small-talk turns {path}: {e}") from e
    facts, sessions, block = [], [], []
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        if line.startswith("#"):
            continue
        if line.startswith("fact:"):
            facts.append(line[len("fact:"):].strip())
        elif line:
            block.append(line)
        elif block:
            sessions.append(tuple(block))
            block = []
    if not sessions:
        raise DataFormatError(f"{path} holds no turns")
    return Turns(tuple(facts), tuple(sessions))


def read_judgements(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(turn, reply) -> (verdict, note) from the judgement file (empty when there is none)."""
    if not Path(path).exists():
        return {}
    out = {}
    with Path(path).open(newline="", encoding="utf-8") as f:
        for number, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or row[0].startswith("#") or row[0] == "turn":
                continue
            if len(row) < 3 or row[2] not in VERDICTS:
                raise DataFormatError(f"{path}:{number}: expected turn, reply, verdict ({'/'.join(VERDICTS)}), note")
            out[(row[0], row[1])] = (row[2], row[3] if len(row) > 3 else "")
    return out


def play(turns: Turns, assistant_for: Callable[[MemoryStore], Assistant], store: MemoryStore, start: datetime,
         progress: Progress | None = None) -> list[Played]:
    """Store the facts, then play every session with a fresh conversation of the same user."""
    for i, fact in enumerate(turns.facts):
        store.add(fact, user="small-talk", now=start + timedelta(minutes=i))
    first = assistant_for(store)
    out = []
    total, done = sum(len(s) for s in turns.sessions), 0
    for number, session in enumerate(turns.sessions, start=1):
        bot = first.for_user("small-talk")
        for i, turn in enumerate(session):
            reply = bot.reply(turn, now=start + timedelta(days=number, minutes=i))
            out.append(Played(number, turn, reply.text, reply.intent, len(reply.stored)))
            done += 1
            if progress is not None:
                progress("small-talk turns", done, total)
    return out


def judged(played: Sequence[Played], judgements: dict[tuple[str, str], tuple[str, str]]) -> list[Played]:
    out = []
    for p in played:
        verdict, note = judgements.get((p.turn, p.reply), ("", ""))
        out.append(Played(p.session, p.turn, p.reply, p.intent, p.stored, verdict, note))
    return out


def summary(played: Sequence[Played]) -> dict[str, float | int]:
    verdicts = [p.verdict for p in played if p.verdict]
    sensible = sum(v == "sensible" for v in verdicts)
    return {"turns": len(played), "judged": len(verdicts), "sensible": sensible,
            "sensible_share": round(100.0 * sensible / len(verdicts), 1) if verdicts else None,
            "stored_memories": sum(p.stored for p in played)}


def small_talk_markdown(payload: dict) -> str:
    s = payload["summary"]
    share = "not judged yet" if s["sensible_share"] is None else f"**{s['sensible_share']} %** ({s['sensible']} of {s['judged']} judged)"
    lines = [
        f"# Small talk through the assistant, judged by hand: `{payload['model']}`",
        "",
        f"{s['turns']} turns written for issue 16 (`lab/small_talk/turns.txt`), played through the real "
        f"`Assistant` with 5 stored memories. Sensible by hand: {share}; "
        f"{s['turns'] - s['judged']} replies not judged. Memories stored by small talk: {s['stored_memories']}. "
        f"Command: `{payload['command']}`",
        "",
        "| # | turn | reply | taken for | verdict | note |",
        "|---|---|---|---|---|---|",
    ]
    for i, p in enumerate(payload["turns"], start=1):
        cells = [str(i), p["turn"], p["reply"], p["intent"] + (f", stored {p['stored']}" if p["stored"] else ""),
                 p["verdict"] or "—", p["note"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join([*lines, ""])
