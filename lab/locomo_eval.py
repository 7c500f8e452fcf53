"""LoCoMo turn retrieval (Maharana et al. 2024): every turn a memory, every question one default search.

Protocol (`../shared/benchmarks/ANCHORS.md`): each conversation goes into its own fresh store; every turn
("Speaker: text") is added with its session's date; each question that lists `evidence` is asked as a
search a day after the last session; a question is found at k when one of the top k memories is one of
its evidence turns. The store's own search is measured in each mode (hybrid, the default; lexical, FTS5
bm25 alone; dense, MiniLM cosine alone), all with retention weighting as in use, and exact MiniLM cosine
over numpy (no retention) as the reference. Turns are stored with importance 1 (a conversation log the
user keeps: the longest conversation spans ten months, which default-importance memories do not outlast).
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from memory_store import Embedder, MemoryStore, SearchConfig, StoreConfig

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
MODES = ("hybrid", "lexical", "dense")
METHODS = MODES + ("cosine",)  # cosine: exact MiniLM cosine over numpy, no retention (the reference)
KS = (5, 10)
Progress = Callable[[str, int, int], None]  # (stage, done, total)
_WHEN = re.compile(r"(\d{1,2}):(\d{2})\s*(am|pm) on (\d{1,2}) (\w+),? (\d{4})", re.I)
_MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"], start=1)}


@dataclass(frozen=True)
class LocomoConfig:
    search: SearchConfig = field(default_factory=SearchConfig)  # the store's search, as shipped by default
    importance: float = 1.0  # of every turn (see the module docstring)
    conversations: tuple[str, ...] = ()  # file stems to run (e.g. "conv-26"); empty: every file
    asked_after: timedelta = timedelta(days=1)  # questions are asked this long after the last session


@dataclass(frozen=True)
class Question:
    text: str
    evidence: frozenset[str]  # dia_ids
    category: int


@dataclass(frozen=True)
class Conversation:
    name: str
    sessions: list[tuple[datetime, list[tuple[str, str]]]]  # (date, [(dia_id, "Speaker: text")])
    questions: list[Question]


@dataclass(frozen=True)
class ConversationResult:
    name: str
    turns: int
    facts: int  # turns stored (near-duplicates reinforce one memory)
    questions: int
    skipped: int  # questions without evidence among the turns
    found: dict[str, dict[int, list[bool]]]  # method -> k -> found per question, in order
    categories: list[int]
    search_ms: dict[str, list[float]]  # method -> per-question search time (query vector given)


def session_time(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware UTC datetime."""
    m = _WHEN.search(text)
    if m is None:
        raise ValueError(f"not a LoCoMo session date: {text!r}")
    hour, minute, half, day, month, year = m.groups()
    hour = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    return datetime(int(year), _MONTHS[month.lower()], int(day), hour, int(minute), tzinfo=timezone.utc)


def load_conversation(path: Path) -> Conversation:
    data = json.loads(path.read_text(encoding="utf-8"))
    numbers = sorted(int(k.split("_")[1]) for k in data if re.fullmatch(r"session_\d+", k) and data[k])
    sessions = []
    for n in numbers:
        turns = [(t["dia_id"], f"{t['speaker']}: {t['text']}") for t in data[f"session_{n}"] if t.get("text", "").strip()]
        sessions.append((session_time(data[f"session_{n}_date_time"]), turns))
    questions = [Question(q["question"], frozenset(q.get("evidence") or ()), int(q["category"])) for q in data["qa"]]
    return Conversation(path.stem, sessions, questions)


def conversation_files(data: Path, names: tuple[str, ...] = ()) -> list[Path]:
    files = sorted(data.glob("conv-*.json"))
    if names:
        files = [f for f in files if f.stem in names]
    if not files:
        raise FileNotFoundError(f"no LoCoMo conversations (conv-*.json{' named ' + ', '.join(names) if names else ''}) in {data}")
    return files


def run_conversation(conv: Conversation, embedder: Embedder, config: LocomoConfig, workdir: Path,
                     progress: Progress | None = None) -> ConversationResult:
    """Store every turn, then ask every question with evidence in each mode; time each search."""
    texts = [text for _, turns in conv.sessions for _, text in turns]
    dia_ids = [dia for _, turns in conv.sessions for dia, _ in turns]
    vectors = embedder.embed(texts)
    store = MemoryStore.open(workdir / conv.name, embedder=embedder, config=StoreConfig(search=config.search))
    try:
        holds: dict[int, set[str]] = {}  # fact id -> the turns it stands for
        start = 0
        for when, turns in conv.sessions:
            facts = store.add_many(texts[start:start + len(turns)], importance=config.importance, now=when,
                                   vectors=vectors[start:start + len(turns)])
            for fact, dia in zip(facts, dia_ids[start:start + len(turns)]):
                holds.setdefault(fact.id, set()).add(dia)
            start += len(turns)
        known = set(dia_ids)
        asked = [q for q in conv.questions if q.evidence & known]
        now = conv.sessions[-1][0] + config.asked_after
        qvectors = embedder.embed([q.text for q in asked]) if asked else np.zeros((0, embedder.dim), np.float32)
        fact_ids = np.array(sorted(holds), dtype=np.int64)
        stored = store.vectors(fact_ids)
        found = {m: {k: [] for k in KS} for m in METHODS}
        times: dict[str, list[float]] = {m: [] for m in METHODS}
        for i, (q, qv) in enumerate(zip(asked, qvectors)):
            for mode in MODES:
                t = time.perf_counter()
                hits = store.search(q.text, k=max(KS), now=now, mode=mode, vector=qv)
                times[mode].append((time.perf_counter() - t) * 1000)
                _score(found[mode], [h.fact.id for h in hits], holds, q.evidence)
            t = time.perf_counter()
            top = fact_ids[np.argsort(-(stored @ qv), kind="stable")[:max(KS)]]
            times["cosine"].append((time.perf_counter() - t) * 1000)
            _score(found["cosine"], top.tolist(), holds, q.evidence)
            if progress is not None and (i + 1) % 25 == 0:
                progress(f"asking {conv.name}", i + 1, len(asked))
        return ConversationResult(conv.name, len(texts), len(holds), len(asked), len(conv.questions) - len(asked),
                                  found, [q.category for q in asked], times)
    finally:
        store.close()


def _score(found: dict[int, list[bool]], ranked: list[int], holds: dict[int, set[str]], evidence: frozenset[str]) -> None:
    for k in KS:
        found[k].append(any(holds.get(i, set()) & evidence for i in ranked[:k]))


def evaluate(data: Path, embedder: Embedder, config: LocomoConfig = LocomoConfig(),
             progress: Progress | None = None) -> list[ConversationResult]:
    """Every chosen conversation, each in its own temporary store."""
    results = []
    with tempfile.TemporaryDirectory(prefix="memchat-locomo-") as tmp:
        for n, path in enumerate(conversation_files(data, config.conversations), start=1):
            results.append(run_conversation(load_conversation(path), embedder, config, Path(tmp), progress))
            if progress is not None:
                progress("conversations", n, len(conversation_files(data, config.conversations)))
    return results


def recall(results: list[ConversationResult], method: str, k: int, category: int | None = None) -> tuple[float, int]:
    """(share found, questions) over the results, for one method and k, optionally one category."""
    hits = [f for r in results for f, c in zip(r.found[method][k], r.categories) if category in (None, c)]
    return (sum(hits) / len(hits) if hits else float("nan")), len(hits)


def summary(results: list[ConversationResult]) -> dict:
    """Figures for the report: recall per method, k and category; search p50 per method."""
    out: dict = {"conversations": [r.name for r in results], "questions": sum(r.questions for r in results),
                 "skipped_questions": sum(r.skipped for r in results), "turns": sum(r.turns for r in results),
                 "facts": sum(r.facts for r in results), "methods": {}}
    for m in METHODS:
        entry = {f"R@{k}": recall(results, m, k)[0] for k in KS}
        entry["by_category"] = {CATEGORIES[c]: {f"R@{k}": recall(results, m, k, c)[0] for k in KS}
                                | {"questions": recall(results, m, KS[0], c)[1]} for c in sorted(CATEGORIES)}
        times = [t for r in results for t in r.search_ms[m]]
        entry["search_p50_ms"] = statistics.median(times) if times else float("nan")
        out["methods"][m] = entry
    return out


def tune(data: Path, embedder: Embedder, names: tuple[str, ...], grid: list[SearchConfig],
         progress: Progress | None = None) -> list[tuple[SearchConfig, float, float]]:
    """Hybrid R@5 and R@10 of each search setting on the named conversations (the tuning split)."""
    rows = []
    embedder = _Remembered(embedder)  # every setting sees the same texts: embed them once
    for n, setting in enumerate(grid, start=1):
        results = evaluate(data, embedder, LocomoConfig(search=setting, conversations=names))
        rows.append((setting, recall(results, "hybrid", 5)[0], recall(results, "hybrid", 10)[0]))
        if progress is not None:
            progress("settings", n, len(grid))
    return rows


def default_grid() -> list[SearchConfig]:
    """The settings the shipped fusion was chosen from (rrf_k 5 from an earlier grid over 5, 20, 60)."""
    base = SearchConfig()
    return [replace(base, lexical_weight=lw, match_scale=ms, dense_power=dp, context_weight=cw)
            for lw in (1.5, 2.0) for ms in (2.0, 4.0) for dp in (0.0, 1.0, 2.0) for cw in (0.0, 0.5)]


class _Remembered:
    """An embedder that embeds each text once (tuning runs the same conversations many times)."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._seen: dict[str, np.ndarray] = {}

    def embed(self, texts):
        new = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if new:
            self._seen.update(zip(new, self.inner.embed(new)))
        return np.stack([self._seen[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


TUNED_ON = ("conv-26", "conv-30")  # the conversations the fusion settings were chosen on (SearchConfig)


def report(results: list[ConversationResult], config: LocomoConfig, command: str) -> dict:
    """Every figure for results/locomo.json: all conversations, and the tuning and held-out splits apart."""
    tuned = [r for r in results if r.name in TUNED_ON]
    held_out = [r for r in results if r.name not in TUNED_ON]
    return {
        "command": command, "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
        "search_config": config.search.__dict__, "importance": config.importance,
        "tuned_on": list(TUNED_ON), "all": summary(results),
        "tuning_split": summary(tuned) if tuned else None, "held_out_split": summary(held_out) if held_out else None,
        "per_conversation": {r.name: {m: {f"R@{k}": recall([r], m, k)[0] for k in KS} for m in METHODS} for r in results},
    }


LABELS = {"hybrid": "memchat search, hybrid (the default)", "lexical": "memchat search, lexical (FTS5 bm25)",
          "dense": "memchat search, dense (MiniLM, HNSW/flat + retention)", "cosine": "exact MiniLM cosine (numpy, no retention)"}


def markdown(figures: dict) -> str:
    """results/locomo.md: the tables of `figures`."""
    a = figures["all"]
    lines = [
        "# LoCoMo turn retrieval (`memchat eval locomo`)", "",
        f"Command: `{figures['command']}`. {a['questions']} questions with evidence over {len(a['conversations'])} "
        f"conversations ({', '.join(a['conversations'])}); {a['turns']} turns stored as {a['facts']} memories; "
        f"{a['skipped_questions']} questions without evidence skipped.", "",
        figures["protocol"], "",
        f"Search settings: {figures['search_config']}. The fusion settings were chosen on "
        f"{', '.join(figures['tuned_on'])} (the tuning split); the other conversations are held out from that "
        "choice. Search p50 is the store's search with the query vector given (embedding excluded).", "",
    ]
    for title, key in (("All conversations", "all"), ("Tuning split", "tuning_split"), ("Held out from tuning", "held_out_split")):
        part = figures.get(key)
        if not part:
            continue
        lines += [f"## {title} ({part['questions']} questions)", "", "| method | R@5 | R@10 | search p50 |", "|---|---:|---:|---:|"]
        for m, e in part["methods"].items():
            lines.append(f"| {LABELS[m]} | {e['R@5']:.1%} | {e['R@10']:.1%} | {e['search_p50_ms']:.2f} ms |")
        lines.append("")
    lines += ["## By category, all conversations (R@5 / R@10)", "",
              "| category | questions | " + " | ".join(LABELS[m] for m in METHODS) + " |",
              "|---|---:|" + "---:|" * len(METHODS)]
    for c in CATEGORIES.values():
        row = [c, str(a["methods"]["hybrid"]["by_category"][c]["questions"])]
        row += [f"{a['methods'][m]['by_category'][c]['R@5']:.1%} / {a['methods'][m]['by_category'][c]['R@10']:.1%}" for m in METHODS]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Per conversation (R@5)", "", "| conversation | " + " | ".join(METHODS) + " |", "|---|" + "---:|" * len(METHODS)]
    for name, per in figures["per_conversation"].items():
        lines.append(f"| {name}{' (tuning)' if name in figures['tuned_on'] else ''} | "
                     + " | ".join(f"{per[m]['R@5']:.1%}" for m in METHODS) + " |")
    return "\n".join(lines) + "\n"


def write_results(figures: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "locomo.json", out_dir / "locomo.md"
    js.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    md.write_text(markdown(figures), encoding="utf-8")
    return js, md
