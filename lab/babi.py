"""The bAbI QA data (Weston et al. 2015): file reading, parsing, vocabulary and tensors for the reader."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from assistant.errors import ConfigError, DataFormatError, DataNotFoundError
from assistant.vocab import Vocab

SIZES = ("1k", "10k")
TASK_FILES = {  # task number -> file name stem of the v1.2 release
    1: "qa1_single-supporting-fact", 2: "qa2_two-supporting-facts", 3: "qa3_three-supporting-facts",
    4: "qa4_two-arg-relations", 5: "qa5_three-arg-relations", 6: "qa6_yes-no-questions",
    7: "qa7_counting", 8: "qa8_lists-sets", 9: "qa9_simple-negation", 10: "qa10_indefinite-knowledge",
    11: "qa11_basic-coreference", 12: "qa12_conjunction", 13: "qa13_compound-coreference",
    14: "qa14_time-reasoning", 15: "qa15_basic-deduction", 16: "qa16_basic-induction",
    17: "qa17_positional-reasoning", 18: "qa18_size-reasoning", 19: "qa19_path-finding",
    20: "qa20_agents-motivations",
}
TEN_K_ARCHIVE = "en-10k.tar.gz"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class BabiQuestion:
    """One question with the story told before it (statements only, oldest first)."""

    task: int
    story: tuple[tuple[str, ...], ...]  # tokenised statements, oldest first
    question: tuple[str, ...]
    answer: str  # one token; multi-word answers stay joined ("n,w", "apple,football")
    supporting: tuple[int, ...]  # indices into `story` of the supporting facts


@dataclass(frozen=True)
class TaskFile:
    """The text of one task split, and the training-set size it really comes from."""

    task: int
    split: str
    size: str  # "1k" or "10k"; differs from the size asked for when a file is substituted
    text: str


def tokenize(text: str) -> tuple[str, ...]:
    """Lower-cased words; punctuation dropped."""
    return tuple(_WORD.findall(text.lower()))


def parse_babi(text: str, task: int) -> list[BabiQuestion]:
    """Parse the bAbI format: `ID text` lines; `ID question<TAB>answer<TAB>fact IDs`; ID 1 starts a story."""
    questions: list[BabiQuestion] = []
    story: list[tuple[str, ...]] = []
    line_to_index: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head, _, rest = line.partition(" ")
        if not head.isdigit():
            raise DataFormatError(f"task {task}, line {number}: expected 'ID text', got {line[:60]!r}")
        line_id = int(head)
        if line_id == 1:
            story, line_to_index = [], {}
        if "\t" not in rest:
            line_to_index[line_id] = len(story)
            story.append(tokenize(rest))
            continue
        parts = rest.split("\t")
        if len(parts) < 3:
            raise DataFormatError(f"task {task}, line {number}: a question needs question, answer and fact IDs")
        try:
            supporting = tuple(line_to_index[int(i)] for i in parts[2].split())
        except (KeyError, ValueError) as exc:
            raise DataFormatError(f"task {task}, line {number}: bad supporting fact IDs {parts[2]!r}") from exc
        questions.append(
            BabiQuestion(task, tuple(story), tokenize(parts[0]), parts[1].strip().lower(), supporting)
        )
    return questions


def read_task_file(data_dir: Path, size: str, task: int, split: str) -> TaskFile:
    """The text of one task split. 10k files are read straight from `en-10k.tar.gz`; a 10k training
    file missing from the archive (task 3, see SOURCE.md) is replaced by the 1k file, and says so."""
    if size not in SIZES:
        raise ConfigError(f"bAbI size must be one of {SIZES}, got {size!r}")
    if task not in TASK_FILES:
        raise ConfigError(f"bAbI tasks are numbered 1-20, got {task}")
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataNotFoundError(
            f"bAbI data folder {data_dir} does not exist: pass --data pointing at the folder that holds en/"
        )
    name = f"{TASK_FILES[task]}_{split}.txt"
    if size == "10k":
        text = _read_from_archive(data_dir / TEN_K_ARCHIVE, f"en-10k/{name}")
        if text is not None:
            return TaskFile(task, split, "10k", text)
    path = data_dir / "en" / name
    try:
        return TaskFile(task, split, "1k", path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataNotFoundError(f"cannot read bAbI file {path}: {exc.strerror or exc}") from exc


def _read_from_archive(archive: Path, member: str) -> str | None:
    """A member's text, or None when the archive lacks that member."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                handle = tar.extractfile(member)
            except KeyError:
                return None
            return handle.read().decode("utf-8") if handle else None
    except (OSError, tarfile.TarError) as exc:
        raise DataNotFoundError(f"cannot read the 10k archive {archive}: {exc}") from exc


def load_task(data_dir: Path, size: str, task: int, split: str) -> tuple[list[BabiQuestion], str]:
    """Parsed questions of one task split, with the size they really come from."""
    source = read_task_file(data_dir, size, task, split)
    return parse_babi(source.text, task), source.size


def split_validation(questions: Sequence[BabiQuestion], fraction: float = 0.1) -> tuple[list, list]:
    """Hold out the last `fraction` of each task's training questions for validation (the paper's 10%).
    The cut is contiguous, so at most one story is shared between the two halves."""
    train, valid = [], []
    for task in sorted({q.task for q in questions}):
        own = [q for q in questions if q.task == task]
        cut = len(own) - max(1, round(len(own) * fraction))
        train += own[:cut]
        valid += own[cut:]
    return train, valid


def build_vocab(questions: Iterable[BabiQuestion]) -> Vocab:
    """Every word of the stories, questions and answers."""

    def tokens():
        for q in questions:
            for sentence in q.story:
                yield from sentence
            yield from q.question
            yield q.answer

    return Vocab.build(tokens())


@dataclass(frozen=True)
class BabiBatch:
    memory: torch.Tensor  # (B, M, L) word ids; slot 0 is the most recent statement, id 0 pads
    query: torch.Tensor  # (B, Lq) word ids
    answer: torch.Tensor  # (B,) word id of the answer
    task: torch.Tensor  # (B,) task number


@dataclass(frozen=True)
class BabiTensors:
    """Questions as tensors. Statements are stored once in a table; each question's memory lists row
    ids of its most recent statements, newest first (row 0 is the empty statement)."""

    sentences: torch.Tensor  # (S, L) word ids of every distinct statement; row 0 is all padding
    memory: torch.Tensor  # (N, M) statement rows, newest first, 0 = empty slot
    counts: torch.Tensor  # (N,) number of filled slots
    queries: torch.Tensor  # (N, Lq)
    answers: torch.Tensor  # (N,)
    tasks: torch.Tensor  # (N,)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lengths", (self.sentences != 0).sum(dim=1))  # (S,)

    def __len__(self) -> int:
        return self.answers.shape[0]

    def batch(self, index: torch.Tensor) -> BabiBatch:
        """The questions at `index`, memory trimmed to the longest story in the batch."""
        slots = max(int(self.counts[index].max()), 1)
        rows = self.memory[index, :slots]  # (B, M)
        words = max(int(self.sentence_lengths[rows].max()), 1)
        memory = self.sentences[rows, :words]  # (B, M, L)
        return BabiBatch(memory, self.queries[index], self.answers[index], self.tasks[index])

    @property
    def sentence_lengths(self) -> torch.Tensor:
        return self._lengths


def tensorise(questions: Sequence[BabiQuestion], vocab: Vocab, memory_size: int = 50) -> BabiTensors:
    """Tensors for `questions`, memory capped at the `memory_size` most recent statements (the paper's 50)."""
    rows: dict[tuple[str, ...], int] = {(): 0}
    memory = torch.zeros(len(questions), memory_size, dtype=torch.long)
    counts = torch.zeros(len(questions), dtype=torch.long)
    for n, q in enumerate(questions):
        recent = q.story[-memory_size:][::-1]
        for slot, sentence in enumerate(recent):
            memory[n, slot] = rows.setdefault(sentence, len(rows))
        counts[n] = len(recent)
    return BabiTensors(
        sentences=_pad([vocab.encode(s) for s in rows]),
        memory=memory,
        counts=counts,
        queries=_pad([vocab.encode(q.question) for q in questions]),
        answers=torch.tensor([vocab.id(q.answer) for q in questions], dtype=torch.long),
        tasks=torch.tensor([q.task for q in questions], dtype=torch.long),
    )


def _pad(sequences: Sequence[Sequence[int]]) -> torch.Tensor:
    width = max((len(s) for s in sequences), default=1) or 1
    out = torch.zeros(len(sequences), width, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out
