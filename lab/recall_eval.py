"""`memchat eval recall`: held-out conversations played through a real assistant, scored turn by turn.

The conversations come from the EVAL split of `personal_data` (templates, phrasings and names never seen
in training). Each is played as one session of its own user on one store, with a clock that moves a
minute per turn. A reply is checked against the turn's expectation, case-insensitively and on word
boundaries: asked facts must be recalled, forgotten and replaced values must not come back, and
questions about what was never told must not be answered with a stored fact's entity.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from .personal_data import Conversation, Expectation
from .training import Progress

TARGETS = {"recall": 95.0, "forgotten_leaks": 0.0, "unknown_leaks": 5.0, "updates": 95.0}


class Bot(Protocol):
    def reply(self, text: str, now: datetime | None = None): ...  # -> an object with .text

    def end_session(self, now: datetime | None = None): ...


@dataclass(frozen=True)
class Miss:
    kind: str
    user: str
    reply: str
    expected: tuple[str, ...]
    forbidden: tuple[str, ...]


@dataclass
class RecallReport:
    turns: dict[str, int] = field(default_factory=dict)  # kind -> turns played
    passed: dict[str, int] = field(default_factory=dict)  # kind -> turns whose reply met the expectation
    forgotten_leaks: int = 0  # replies to ask_forgotten that named the forgotten fact's value
    forgotten_other_leaks: int = 0  # replies to ask_forgotten that named another stored fact's entity instead
    unknown_leaks: int = 0  # replies to ask_unknown that named a stored fact's entity
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    seconds: float = 0.0

    def rate(self, kind: str) -> float:
        return 100.0 * self.passed.get(kind, 0) / self.turns[kind] if self.turns.get(kind) else float("nan")

    @property
    def recall(self) -> float:
        """% of questions about a stored fact whose reply contains the fact's answer."""
        return self.rate("ask")

    @property
    def updates(self) -> float:
        """% of questions about an updated fact answered with the new value (and not the old)."""
        return self.rate("ask_updated")

    @property
    def unknown_leak_rate(self) -> float:
        n = self.turns.get("ask_unknown", 0)
        return 100.0 * self.unknown_leaks / n if n else float("nan")

    @property
    def latency_p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def latency_p90_ms(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=10)[-1] if len(self.latencies_ms) >= 10 else float("nan")

    def to_json(self, command: str, model: str) -> dict:
        return {
            "command": command, "model": model, "turns": self.turns,
            "recall": round(self.recall, 2), "updates": round(self.updates, 2),
            "forgotten_leaks": self.forgotten_leaks, "forgotten_other_leaks": self.forgotten_other_leaks,
            "unknown_leak_rate": round(self.unknown_leak_rate, 2),
            "rates": {k: round(self.rate(k), 2) for k in sorted(self.turns)},
            "latency_ms": {"p50": round(self.latency_p50_ms, 1), "p90": round(self.latency_p90_ms, 1)},
            "targets": TARGETS, "meets": self.meets_targets(), "seconds": round(self.seconds, 1),
            "misses": [vars(m) for m in self.misses],
        }

    def meets_targets(self) -> dict[str, bool]:
        return {"recall": self.recall >= TARGETS["recall"], "forgotten_leaks": self.forgotten_leaks == 0,
                "unknown_leaks": self.unknown_leak_rate <= TARGETS["unknown_leaks"],
                "updates": self.updates >= TARGETS["updates"]}


def mentions(reply: str, value: str) -> bool:
    """Whether `reply` names `value`: case-insensitive, not inside a longer word ("Ana" is not in "banana")."""
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", reply, re.IGNORECASE) is not None


def meets(expect: Expectation, reply: str) -> bool:
    if expect.answers and not any(mentions(reply, a) for a in expect.answers):
        return False
    return not any(mentions(reply, f) for f in expect.forbidden)


def run_recall_eval(
    conversations: Sequence[Conversation], make_bot: Callable[[str], Bot], start: datetime,
    progress: Progress | None = None, keep_misses: int = 20,
) -> RecallReport:
    """Play every conversation with a fresh bot for its own user (`make_bot(user)`) and score it."""
    report = RecallReport()
    t0 = time.perf_counter()
    for c, conversation in enumerate(conversations):
        user = f"eval-{c}"
        bot = make_bot(user)
        for t, turn in enumerate(conversation.turns):
            now = start + timedelta(days=c, minutes=t)
            began = time.perf_counter()
            reply = bot.reply(turn.user, now=now).text
            report.latencies_ms.append(1000 * (time.perf_counter() - began))
            kind = turn.expect.kind
            ok = meets(turn.expect, reply)
            report.turns[kind] = report.turns.get(kind, 0) + 1
            report.passed[kind] = report.passed.get(kind, 0) + ok
            leaked = any(mentions(reply, f) for f in turn.expect.forbidden)
            named_gone = any(mentions(reply, g) for g in turn.expect.gone)
            report.forgotten_leaks += kind == "ask_forgotten" and named_gone
            report.forgotten_other_leaks += kind == "ask_forgotten" and leaked and not named_gone
            report.unknown_leaks += kind == "ask_unknown" and leaked
            if not ok and len(report.misses) < keep_misses and kind not in ("small_talk", "tell"):
                report.misses.append(Miss(kind, turn.user, reply, turn.expect.answers, turn.expect.forbidden))
        bot.end_session(now=start + timedelta(days=c, minutes=len(conversation.turns)))
        if progress is not None:
            progress("conversations", c + 1, len(conversations))
    report.seconds = time.perf_counter() - t0
    return report


def recall_markdown(results: dict, title: str = "held-out conversations") -> str:
    """The README-ready table of one `memchat eval recall` run."""
    meets = results["meets"]
    rows = [
        ("fact recall (reply names the fact's answer)", f"{results['recall']:.1f} %", ">= 95 %", meets["recall"]),
        ("forgotten facts named again", str(results["forgotten_leaks"]), "0", meets["forgotten_leaks"]),
        ("unknowns answered with a stored entity", f"{results['unknown_leak_rate']:.1f} %", "<= 5 %",
         meets["unknown_leaks"]),
        ("questions about a forgotten fact answered with another fact's entity",
         f"{results['forgotten_other_leaks']} of {results['turns'].get('ask_forgotten', 0)}", "—", None),
        ("updates answered with the new fact", f"{results['updates']:.1f} %", ">= 95 %", meets["updates"]),
    ]
    lines = [f"# memchat eval recall: {title}", "", "| measure | memchat | target | met |",
             "|---|---|---|---|"]
    lines += [f"| {name} | {value} | {target} | {'—' if ok is None else 'yes' if ok else 'no'} |"
              for name, value, target, ok in rows]
    lines += ["", f"Reply latency p50 {results['latency_ms']['p50']} ms, p90 {results['latency_ms']['p90']} ms; "
              f"{sum(results['turns'].values())} turns in {results['seconds']} s. Model: {results['model']}.", "",
              f"Reproduce: `{results['command']}`", ""]
    return "\n".join(lines)
