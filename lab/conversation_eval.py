"""`memchat eval conversations`: the hand-written conversations of lab/conversations replayed and scored.

Each file (format: lab/conversations/FORMAT.md) is replayed through the real assistant on a fresh store of
its own, with a clock that moves a minute a line; `restart` ends the session, closes the store and loads a
new assistant over the same store file, as quitting and starting the chat again would. Every line is
scored from the `Reply` (what it said, what it stored, replaced and forgot) by word matching: a phrase is
held when each of its words, lower-cased with the punctuation around it stripped, is a word of the text
("7:45", "check-in" and "$120" stay whole words). The figures are issue 13's.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import DataFormatError, DataNotFoundError
from memory_store import Embedder, MemoryStore, MiniLMEmbedder

if TYPE_CHECKING:  # annotations only: importing them would load torch
    from .recall_eval import Bot
    from .training import Progress

START = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)  # the simulated clock's first line
KINDS = ("title", "tell", "correct", "ask", "ask-new", "ask-untold", "forget", "ask-forgotten", "chat", "restart")
TELLING = ("tell", "correct")  # lines whose statement must be stored
# "I don't know" in the words people use; scoring only: the assistant never reads this list.
SAYS_UNKNOWN = re.compile(r"\b(?:don'?t|do not) (?:know|remember)\b|\bhave(?:n'?t| not) told\b|\bnot sure\b"
                          r"|\bno idea\b")
EDGES = "\"'.,;:!?()[]{}<>*_`…"  # stripped from both ends of a word; '$', ':' and '-' inside it stay
_LINE = re.compile(r"^([a-z][a-z-]*)\s*:\s*(.*)$")


# -- the format -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One line of a conversation: what the user types and what its reply is scored against."""

    line: int  # 1-based, in its file
    kind: str  # one of KINDS but "title"
    text: str = ""  # what the user types ("" for restart)
    expected: str = ""  # what the line expects, as written after the text (for reading failures)
    answers: tuple[str, ...] = ()  # ask: ANSWER alternatives, ask-new: NEW alternatives (one suffices)
    old: tuple[str, ...] = ()  # correct and ask-new: OLD alternatives; ask-forgotten: the forgotten WORDS
    targets: tuple[str, ...] = ()  # forget: the groups of WORDS, each of which must be forgotten


@dataclass(frozen=True)
class Conversation:
    path: Path
    title: str
    steps: tuple[Step, ...]


def read_conversations(folder: Path) -> list[Conversation]:
    """Every *.txt conversation in `folder`, in file-name order."""
    folder = Path(folder)
    paths = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not paths:
        raise DataNotFoundError(f"no conversations (*.txt) in {folder}; pass --dir with the folder that holds them")
    return [read_conversation(p) for p in paths]


def read_conversation(path: Path) -> Conversation:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError(f"{path}: not UTF-8 (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise DataNotFoundError(f"{path}: cannot be read ({e.strerror})") from None
    return parse_conversation(text, Path(path))


def parse_conversation(text: str, path: Path) -> Conversation:
    """The steps of one conversation file; a line that breaks the format raises DataFormatError naming
    the file, the line and what is wrong."""
    title, steps = None, []
    for number, raw in enumerate(text.splitlines(), start=1):
        line, where = raw.strip(), f"{path}, line {number}"
        if not line or line.startswith("#"):
            continue
        kind, body = _kind_and_body(line, where)
        if kind == "title":
            if title is not None or steps:
                raise _wrong(where, "'title:' must be the first line, and only once")
            title = body
        elif title is None:
            raise _wrong(where, "the first line must be 'title: TEXT'")
        else:
            steps.append(_step(kind, body, number, where))
    if title is None:
        raise _wrong(str(path), "no 'title: TEXT' line; a conversation starts with one")
    return Conversation(Path(path), title, tuple(steps))


def _wrong(where: str, what: str) -> DataFormatError:
    return DataFormatError(f"{where}: {what} (see lab/conversations/FORMAT.md)")


def _kind_and_body(line: str, where: str) -> tuple[str, str]:
    if line == "restart":
        return "restart", ""
    m = _LINE.match(line)
    if m is None:
        raise _wrong(where, f"expected 'kind: text' or 'restart', got {line[:60]!r}")
    kind, body = m.group(1), m.group(2).strip()
    if kind not in KINDS:
        raise _wrong(where, f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")
    if kind == "restart":
        raise _wrong(where, "'restart' takes no text")
    if not body:
        raise _wrong(where, f"'{kind}:' has no text")
    return kind, body


SHAPES = {"tell": "'tell: TEXT'", "chat": "'chat: TEXT'", "correct": "'correct: TEXT ~ OLD'",
          "ask": "'ask: QUESTION => ANSWER'", "ask-new": "'ask-new: QUESTION => NEW !! OLD'",
          "ask-untold": "'ask-untold: QUESTION => ?'", "forget": "'forget: REQUEST => WORDS'",
          "ask-forgotten": "'ask-forgotten: QUESTION => ? !! WORDS'"}


def _step(kind: str, body: str, number: int, where: str) -> Step:
    """A line's text and expectation, by the shape its kind has in FORMAT.md."""
    if kind == "restart":
        return Step(number, kind)
    if kind in ("tell", "chat", "correct") and "=>" in body:
        raise _wrong(where, f"expected {SHAPES[kind]}: this kind expects no answer ('=>')")
    if kind in ("tell", "chat"):
        return Step(number, kind, body)
    if kind == "correct":
        said, old = _split(body, r"\s+~\s+", where, SHAPES[kind])
        return Step(number, kind, said, f"~ {old}", old=_alternatives(old, where))
    said, expected = _split(body, r"\s*=>\s*", where, SHAPES[kind])
    wants, bang, gone = (part.strip() for part in expected.partition("!!"))
    two = kind in ("ask-new", "ask-forgotten")
    if bool(bang) != two or (two and not gone):
        raise _wrong(where, f"expected {SHAPES[kind]}" + ("" if two else ": '!!' belongs to ask-new and ask-forgotten"))
    if (wants == "?") != (kind in ("ask-untold", "ask-forgotten")):
        raise _wrong(where, f"expected {SHAPES[kind]}" + (": '?' is for ask-untold" if wants == "?" else ""))
    alternatives = () if wants == "?" else _alternatives(wants, where)
    forgetting = kind == "forget"
    return Step(number, kind, said, f"=> {expected}", answers=() if forgetting else alternatives,
                old=_alternatives(gone, where) if gone else (), targets=alternatives if forgetting else ())


def _split(body: str, mark: str, where: str, shape: str) -> tuple[str, str]:
    """The text before the last `mark` (a pattern) and the expectation after it, both non-empty."""
    cuts = list(re.finditer(mark, body))
    said, after = (body[: cuts[-1].start()].strip(), body[cuts[-1].end():].strip()) if cuts else ("", "")
    if not said or not after:
        raise _wrong(where, f"expected {shape}")
    return said, after


def _alternatives(text: str, where: str) -> tuple[str, ...]:
    """' | '-separated alternatives (or groups), each with at least one word."""
    found = tuple(a.strip() for a in text.split("|"))
    if not all(words(a) for a in found):
        raise _wrong(where, f"an empty alternative in {text!r}")
    return found


# -- matching -------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """A text's words, lower-cased, with the punctuation around each stripped ("7:45", "check-in" and
    "$120" stay whole)."""
    spaced = text.lower().replace("’", "'").replace("‘", "'").replace("—", " ").replace("–", " ")
    return [w for w in (raw.strip(EDGES) for raw in spaced.split()) if w]


def _word_set(text: str) -> set[str]:
    """`words`, plus each possessive's owner ("Elias's" holds "Elias") and each sum without its currency
    sign ("$3.10" holds "3.10"; "3.10" does not hold "$3.10")."""
    found = set(words(text))
    return found | {w[:-2] for w in found if w.endswith("'s")} | {w.lstrip("$£€") for w in found}


def holds(text: str, phrase: str) -> bool:
    """Whether each word of `phrase` is a word of `text`."""
    return set(words(phrase)) <= _word_set(text)


def holds_any(text: str, alternatives: Sequence[str]) -> bool:
    return any(holds(text, a) for a in alternatives)


def says_unknown(text: str) -> bool:
    """Whether a reply says it does not know ("I don't know", "you haven't told me", "no idea", ...)."""
    return SAYS_UNKNOWN.search(" ".join(words(text))) is not None


# -- scoring --------------------------------------------------------------------------------------
TARGETS = {"told_answered": 95.0, "updated_answered": 95.0, "never_told_leaks": 3.0, "forgets_carried_out": 95.0,
           "false_retirements": 0, "after_forget_leaks": 0}  # issue 13


@dataclass(frozen=True)
class Failure:
    """A line whose reply missed its expectation (or that changed memory it should not have), for reading."""

    file: str
    line: int
    kind: str
    text: str
    expected: str
    reply: str
    why: str  # what went wrong, with the memories concerned


@dataclass(frozen=True)
class Row:
    """One figure of the results table."""

    key: str  # its name in the JSON (TARGETS' where it has a target)
    measure: str
    value: str
    target: str  # "—": none
    met: bool | None  # None: no target


@dataclass
class ConversationScores:
    conversations: int = 0
    steps: dict[str, int] = field(default_factory=dict)  # kind -> lines played
    passed: dict[str, int] = field(default_factory=dict)  # kind -> lines whose reply met the kind's expectation
    never_told_leaks: int = 0  # ask-untold: a memory used, or the reply does not say it does not know
    honest_unknowns: int = 0  # ask-untold: the reply says it does not know
    after_forget_leaks: int = 0  # ask-forgotten: the reply holds a forgotten word, or uses a memory holding them
    false_retirements: int = 0  # memories replaced by a line that corrects nothing, or not the OLD one by a correction
    missed_updates: int = 0  # correct lines that replaced no memory holding OLD
    not_stored: int = 0  # tell and correct lines that stored nothing
    small_talk_stored: int = 0  # chat lines that stored something
    wrongly_forgotten: int = 0  # memories forgotten that no forget line named (by a forget line or another one)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, kind: str) -> int:
        return self.steps.get(kind, 0)

    def rate(self, kind: str) -> float | None:
        """% of a kind's lines that met its expectation (None: no such line)."""
        return _percent(self.passed.get(kind, 0), self.count(kind))

    def add(self, file: str, step: Step, reply) -> None:
        """Score one line's `Reply`."""
        passed, problems = _judge(step, reply)
        self.steps[step.kind] = self.count(step.kind) + 1
        self.passed[step.kind] = self.passed.get(step.kind, 0) + passed
        retired, forgotten = _wrongly_retired(step, reply), _wrongly_forgotten(step, reply)
        self.false_retirements += len(retired)
        self.missed_updates += step.kind == "correct" and not _updated(step, reply)
        self.not_stored += step.kind in TELLING and not reply.stored
        self.small_talk_stored += step.kind == "chat" and bool(reply.stored)
        self.wrongly_forgotten += len(forgotten)
        self.never_told_leaks += step.kind == "ask-untold" and not passed
        self.honest_unknowns += step.kind == "ask-untold" and says_unknown(reply.text)
        self.after_forget_leaks += step.kind == "ask-forgotten" and _names_forgotten(step, reply)
        problems += [f"retired {f.text!r}" for f in retired] + [f"forgot {f.text!r}" for f in forgotten]
        if problems:
            self.failures.append(Failure(file, step.line, step.kind, step.text, step.expected, reply.text,
                                         "; ".join(dict.fromkeys(problems))))

    def rows(self) -> list[Row]:
        """The figures beside issue 13's targets."""
        untold, lines = self.count("ask-untold"), sum(self.steps.values())
        leaks, honest = self.never_told_leak_rate, _percent(self.honest_unknowns, untold)
        told, updated, forgets = self.rate("ask"), self.rate("ask-new"), self.rate("forget")

        def pct(value: float | None, n: int, of: int) -> str:
            return "—" if value is None else f"{value:.1f} % ({n} of {of})"

        def at_least(key: str, value: float | None) -> bool | None:
            return None if value is None else value >= TARGETS[key]

        return [
            Row("told_answered", "told, answered", pct(told, self.passed.get("ask", 0), self.count("ask")),
                ">= 95 %", at_least("told_answered", told)),
            Row("updated_answered", "updated, answered with the new value and not the old",
                pct(updated, self.passed.get("ask-new", 0), self.count("ask-new")), ">= 95 %",
                at_least("updated_answered", updated)),
            Row("never_told_leaks", "never told, leaks (a memory used, or no \"I don't know\")",
                pct(leaks, self.never_told_leaks, untold), "<= 3 %",
                None if leaks is None else leaks <= TARGETS["never_told_leaks"]),
            Row("honest_unknowns", "never told, says it does not know", pct(honest, self.honest_unknowns, untold),
                "—", None),
            Row("after_forget_leaks", "after forget, leaks",
                f"{self.after_forget_leaks} of {self.count('ask-forgotten')}", "0", self.after_forget_leaks == 0),
            Row("forgets_carried_out", "forget requests carried out",
                pct(forgets, self.passed.get("forget", 0), self.count("forget")), ">= 95 %",
                at_least("forgets_carried_out", forgets)),
            Row("false_retirements", "false retirements", f"{self.false_retirements} (in {lines} lines)", "0",
                self.false_retirements == 0),
            Row("missed_updates", "missed updates", f"{self.missed_updates} of {self.count('correct')}", "—", None),
            Row("not_stored", "statements not stored",
                f"{self.not_stored} of {sum(self.count(k) for k in TELLING)}", "—", None),
            Row("small_talk_stored", "small talk stored", f"{self.small_talk_stored} of {self.count('chat')}", "—",
                None),
            Row("wrongly_forgotten", "memories forgotten that no request named", str(self.wrongly_forgotten), "—",
                None),
        ]

    @property
    def never_told_leak_rate(self) -> float | None:
        return _percent(self.never_told_leaks, self.count("ask-untold"))

    def meets_targets(self) -> dict[str, bool | None]:
        return {row.key: row.met for row in self.rows() if row.key in TARGETS}

    def to_json(self, command: str) -> dict:
        """Every figure, the targets, and every failure."""
        figures = {k: v for k, v in asdict(self).items() if k != "failures"}
        return {"command": command, **figures, "seconds": round(self.seconds, 1),
                "rates": {kind: _rounded(self.rate(kind)) for kind in sorted(self.steps)},
                "never_told_leak_rate": _rounded(self.never_told_leak_rate),
                "honest_unknown_rate": _rounded(_percent(self.honest_unknowns, self.count("ask-untold"))),
                "targets": TARGETS, "meets": self.meets_targets(), "failures": [asdict(f) for f in self.failures]}


def _judge(step: Step, reply) -> tuple[bool, list[str]]:
    """Whether a reply met its line's expectation, and what it got wrong (besides memories wrongly retired
    or forgotten, which every kind of line counts)."""
    text, kind, problems = reply.text, step.kind, []
    if kind in TELLING and not reply.stored:
        problems.append("stored nothing")
    if kind == "correct" and not _updated(step, reply):
        problems.append(f"retired no memory holding {' | '.join(step.old)!r}")
    if kind in ("ask", "ask-new") and not holds_any(text, step.answers):
        problems.append("the reply lacks the answer")
    if kind == "ask-new" and holds_any(text, step.old):
        problems.append("the reply holds the old value")
    if kind in ("ask-untold", "ask-forgotten"):
        problems += [f"used {r.fact.text!r}" for r in reply.recalled if r.used]
        problems += [] if says_unknown(text) else ["does not say it does not know"]
    if kind == "ask-forgotten" and _names_forgotten(step, reply):
        problems.append("names what was forgotten")
    if kind == "forget":
        gone = [f.text for f in reply.forgotten] + list(getattr(reply, "removed", ()))  # items taken off a list
        problems += [f"forgot nothing holding {group!r}" for group in step.targets
                     if not any(holds(text, group) for text in gone)]
        problems += [f"stored the request as {f.text!r}" for f in reply.stored]
    if kind == "chat":
        problems += [f"stored {f.text!r}" for f in reply.stored]
    retired = kind in ("tell", "chat") and bool(reply.replaced)  # its own measure too (false retirements)
    return not problems and not retired, problems


def _updated(step: Step, reply) -> bool:
    return any(holds_any(f.text, step.old) for f in reply.replaced)


def _wrongly_retired(step: Step, reply) -> list:
    """The memories a line replaced that it should not have: any, but a correction's OLD one."""
    return [f for f in reply.replaced if step.kind != "correct" or not holds_any(f.text, step.old)]


def _wrongly_forgotten(step: Step, reply) -> list:
    """The memories a line forgot that it should not have: any, but those a forget line's groups name."""
    return [f for f in reply.forgotten if step.kind != "forget" or not holds_any(f.text, step.targets)]


def _names_forgotten(step: Step, reply) -> bool:
    """Whether an ask-forgotten reply holds a word of the forgotten WORDS (not one of the question's own), or
    used a memory holding them."""
    gone = {w for phrase in step.old for w in words(phrase)} - _word_set(step.text)
    used = any(r.used and holds_any(r.fact.text, step.old) for r in reply.recalled)
    return used or bool(gone & _word_set(reply.text))


def _percent(n: int, total: int) -> float | None:
    return 100.0 * n / total if total else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def scores_markdown(scores: ConversationScores, command: str) -> str:
    """The README-ready table of one run, and every failed line."""
    lines = ["# memchat eval conversations: hand-written conversations", "",
             f"{scores.conversations} conversations, {sum(scores.steps.values())} lines, {scores.seconds:.0f} s. "
             f"Reproduce: `{command}`", "", "| measure | memchat | target | met |", "|---|---|---|---|"]
    lines += [f"| {r.measure} | {r.value} | {r.target} | {'—' if r.met is None else 'yes' if r.met else 'no'} |"
              for r in scores.rows()]
    lines += ["", f"## Failed lines ({len(scores.failures)})", ""]
    lines += [f"- `{f.file}:{f.line}` {f.kind}: {f.text} {f.expected}".rstrip() + f"\n  - reply: {f.reply}\n  - {f.why}"
              for f in scores.failures]
    return "\n".join(lines) + "\n"


# -- the replay -----------------------------------------------------------------------------------
def replay(conversation: Conversation, load: Callable[[MemoryStore], Bot], path: Path, embedder: Embedder,
           start: datetime = START):
    """Each user line of `conversation` with its reply, on a new store at `path`, a minute apart. A
    restart ends the session, closes the store and loads a new assistant (`load(store)`) over it reopened;
    the embedding model stays loaded (it holds no state)."""
    store = MemoryStore.open(path, embedder=embedder)
    try:
        bot = load(store)
        for minute, step in enumerate(conversation.steps):
            now = start + timedelta(minutes=minute)
            if step.kind != "restart":
                yield step, bot.reply(step.text, now=now)
                continue
            bot.end_session(now=now)
            store.close()
            store = MemoryStore.open(path, embedder=embedder)
            bot = load(store)
        bot.end_session(now=start + timedelta(minutes=len(conversation.steps)))
    finally:
        store.close()


def run_conversation_eval(conversations: Sequence[Conversation], load: Callable[[MemoryStore], Bot],
                          embedder: Embedder | None = None, start: datetime = START,
                          progress: Progress | None = None) -> ConversationScores:
    """Replay every conversation on a fresh store of its own (in a temporary folder) and score each line.
    `load(store)`: the assistant over a store; `embedder`: default the bundled MiniLM, as `memchat chat`."""
    embedder = embedder or MiniLMEmbedder()
    scores = ConversationScores()
    began = time.perf_counter()
    for c, conversation in enumerate(conversations):
        with tempfile.TemporaryDirectory(prefix="memchat-conversation-") as folder:
            for step, reply in replay(conversation, load, Path(folder) / "store", embedder, start):
                scores.add(conversation.path.name, step, reply)
        scores.conversations += 1
        if progress is not None:
            progress("conversations", c + 1, len(conversations))
    scores.seconds = time.perf_counter() - began
    return scores
