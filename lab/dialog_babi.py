"""The dialog bAbI tasks (Bordes, Boureau & Weston, ICLR 2017): reading dialogs, examples and accuracy.

Format (the data set's README): `ID user_utterance<TAB>bot_utterance`; IDs restart at 1 for each dialog;
`<SILENCE>` marks a missing user turn; lines without a tab (tasks 3-6) are knowledge-base facts returned
by an API call, e.g. `resto_x R_phone resto_x_phone`. Every bot utterance is one example: the reply to
generate from everything said and returned before it. Metrics: per-response accuracy (exact match) and
per-dialog accuracy (every reply of the dialog right).

The data is read straight from `dialog-bAbI-tasks.tar.gz` (or an unpacked `dialog-bAbI-tasks/` folder).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError, DataFormatError, DataNotFoundError
from assistant.lines import Line

TASK_NAMES = {1: "API-calls", 2: "API-refine", 3: "options", 4: "phone-address", 5: "full-dialogs", 6: "dstc2"}
SPLITS = ("trn", "dev", "tst", "tst-OOV")
ARCHIVE = "dialog-bAbI-tasks.tar.gz"
FOLDER = "dialog-bAbI-tasks"
SILENCE = "<SILENCE>"


@dataclass(frozen=True)
class Dialog:
    lines: tuple[Line, ...]

    @property
    def replies(self) -> int:
        return sum(line.speaker == "bot" for line in self.lines)


@dataclass(frozen=True)
class Example:
    """One bot reply and everything before it in its dialog."""

    dialog: int  # index of the dialog in its file
    context: tuple[Line, ...]
    reply: str
    history: tuple[Line, ...] = ()  # older dialogue lines, read only into the dialogue LSTM's state (never copied)


def file_name(task: int, split: str) -> str:
    if task not in TASK_NAMES:
        raise ConfigError(f"dialog bAbI tasks are numbered 1-6, not {task}")
    if split not in SPLITS or (task == 6 and split == "tst-OOV"):
        raise ConfigError(f"task {task} has no split {split!r} (splits: trn, dev, tst, and tst-OOV for tasks 1-5)")
    name = "dialog-babi-task6-dstc2" if task == 6 else f"dialog-babi-task{task}-{TASK_NAMES[task]}"
    return f"{name}-{split}.txt"


def read_text(data_dir: Path, name: str) -> str:
    """A file of the data set, from the unpacked folder if there is one, else from the archive."""
    data_dir = Path(data_dir)
    unpacked = data_dir / FOLDER / name
    if unpacked.exists():
        return unpacked.read_text(encoding="utf-8")
    archive = data_dir / ARCHIVE
    if not archive.exists():
        raise DataNotFoundError(
            f"dialog bAbI data not found in {data_dir}: expected {ARCHIVE} or {FOLDER}/; pass --data DIR"
        )
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(f"{FOLDER}/{name}")
            if member is None:
                raise KeyError(name)
            return io.TextIOWrapper(member, encoding="utf-8").read()
    except KeyError:
        raise DataNotFoundError(f"{archive} holds no {FOLDER}/{name}") from None
    except (OSError, tarfile.TarError) as exc:
        raise DataNotFoundError(f"cannot read {archive}: {exc}") from exc


def parse_dialogs(text: str, source: str = "<text>") -> list[Dialog]:
    """Split a task file into dialogs (a blank line or an ID of 1 starts a new one)."""
    dialogs: list[Dialog] = []
    current: list[Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            if current:
                dialogs.append(Dialog(tuple(current)))
                current = []
            continue
        head, _, rest = raw.partition(" ")
        if not head.isdigit():
            raise DataFormatError(f"{source}, line {number}: expected a line number, got {raw[:40]!r}")
        if head == "1" and current:
            dialogs.append(Dialog(tuple(current)))
            current = []
        if "\t" in rest:
            user, bot = rest.split("\t", 1)
            if user.strip() != SILENCE:
                current.append(Line("user", user.strip()))
            current.append(Line("bot", bot.strip()))
        else:
            current.append(Line("kb", rest.strip()))
    if current:
        dialogs.append(Dialog(tuple(current)))
    return dialogs


def load_dialogs(data_dir: Path, task: int, split: str) -> list[Dialog]:
    name = file_name(task, split)
    return parse_dialogs(read_text(data_dir, name), name)


def examples(dialogs: Sequence[Dialog]) -> list[Example]:
    """Every bot reply with its context, in file order."""
    out = []
    for d, dialog in enumerate(dialogs):
        for i, line in enumerate(dialog.lines):
            if line.speaker == "bot":
                out.append(Example(dialog=d, context=dialog.lines[:i], reply=line.text))
    return out


def accuracy(examples: Sequence[Example], predictions: Sequence[str]) -> tuple[float, float]:
    """(per-response %, per-dialog %): exact match after whitespace normalisation."""
    if len(examples) != len(predictions):
        raise ConfigError(f"{len(predictions)} predictions for {len(examples)} examples")
    if not examples:
        return 0.0, 0.0
    right = [" ".join(p.split()) == " ".join(e.reply.split()) for e, p in zip(examples, predictions)]
    by_dialog: dict[int, bool] = {}
    for e, ok in zip(examples, right):
        by_dialog[e.dialog] = by_dialog.get(e.dialog, True) and ok
    return 100.0 * sum(right) / len(right), 100.0 * sum(by_dialog.values()) / len(by_dialog)
