"""The ConvAI2 validation file (Persona-Chat, "self, original persona"; ParlAI text format): reading it.

Format: `ID text` lines; IDs restart at 1 for each dialogue. `ID your persona: SENTENCE` lines give the
bot's persona; every other line is `ID partner_utterance<TAB>label<TAB><TAB>cand1|...|cand20`: the bot
must answer the partner with `label`, which is one of the 20 candidates (hits@1 ranks them). Each such
line is one example; its context is the persona, every earlier (partner, label) pair and the partner's
utterance. The file is used for evaluation only (its license is unclear; see the data folder's SOURCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DataFormatError, DataNotFoundError

FILE = "valid_self_original.txt"
PERSONA = "your persona: "


@dataclass(frozen=True)
class Exchange:
    partner: str  # what the other person said
    label: str  # the bot's true reply
    candidates: tuple[str, ...]  # the label among distractors (20 in the official file)


@dataclass(frozen=True)
class Dialogue:
    persona: tuple[str, ...]
    exchanges: tuple[Exchange, ...]


def data_file(data_dir: Path) -> Path:
    """The validation file in `data_dir` (the persona_chat folder, or its convai2/ subfolder)."""
    data_dir = Path(data_dir)
    for candidate in (data_dir / "convai2" / FILE, data_dir / FILE):
        if candidate.is_file():
            return candidate
    raise DataNotFoundError(f"no ConvAI2 validation file ({FILE}) in {data_dir} or {data_dir / 'convai2'}")


def read_dialogues(path: Path) -> list[Dialogue]:
    """Every dialogue of a ParlAI-format file with candidates."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataNotFoundError(f"cannot read {path}: {e}") from e
    dialogues: list[Dialogue] = []
    persona: list[str] = []
    exchanges: list[Exchange] = []
    previous = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head, _, body = line.partition(" ")
        if not head.isdigit() or not body:
            raise DataFormatError(f"{path}:{number}: expected 'ID text', got {line[:60]!r}")
        index = int(head)
        if index <= previous and (persona or exchanges):
            dialogues.append(Dialogue(tuple(persona), tuple(exchanges)))
            persona, exchanges = [], []
        previous = index
        if body.startswith(PERSONA) and "\t" not in body:
            persona.append(body[len(PERSONA):].strip())
            continue
        fields = body.split("\t")
        if len(fields) < 2 or not fields[1].strip():
            raise DataFormatError(f"{path}:{number}: expected 'partner<TAB>label<TAB><TAB>candidates'")
        candidates = tuple(c for c in fields[3].split("|") if c) if len(fields) > 3 else ()
        if candidates and fields[1] not in candidates:
            raise DataFormatError(f"{path}:{number}: the label is not among the candidates")
        exchanges.append(Exchange(fields[0].strip(), fields[1].strip(), candidates))
    if persona or exchanges:
        dialogues.append(Dialogue(tuple(persona), tuple(exchanges)))
    if not dialogues:
        raise DataFormatError(f"{path} holds no dialogues")
    return dialogues
