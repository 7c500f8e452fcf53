"""Benchmark of the assistant: reply latency after the model is loaded, and model load time.

The issue's targets: reply p50 <= 150 ms on this CPU after the model is loaded (query embedding, the
store read, the generator and the write-back included; questions, and statements apart: a statement is
also stored and checked for updates), and `memchat chat` to its first prompt <= 8 s cold
(measured with `--cli`: a fresh process that starts the chat and quits at once, median of N runs).

    .venv/bin/python bench/bench_assistant.py                       # the shipped default model
    .venv/bin/python bench/bench_assistant.py --checkpoint path/to/chat.pt --facts 1000 --turns 200 --cli 5

Facts and questions come from the held-out (eval) conversations of lab/personal_data.py; the store
is a fresh one in a temporary folder with the real all-MiniLM-L6-v2 embedder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.assistant import DEFAULT_MODEL, Assistant  # noqa: E402
from lab.personal_data import conversations  # noqa: E402
from memory_store import MemoryStore  # noqa: E402


def measure_replies(checkpoint: Path, facts: int, turns: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    convs = conversations("eval", max(1, facts // 4 + 1), seed=11)
    statements = [f.text for c in convs for f in c.facts][:facts]
    told = [f.text for c in conversations("eval", 40, seed=12) for f in c.facts][:turns // 2]  # stored, checked for updates
    questions = [t.user for c in convs for t in c.turns if t.expect.kind.startswith("ask")][:turns]
    now = datetime(2026, 11, 24, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        store = MemoryStore.open(Path(folder) / "store")
        store.add_many(statements, user="bench", now=now)
        t0 = time.perf_counter()
        bot = Assistant.load(store, user="bench", checkpoint=checkpoint)
        load_s = time.perf_counter() - t0
        bot.reply("hello", now=now)  # warm-up: first embedding, first index load
        times = []
        for i, question in enumerate(questions):
            began = time.perf_counter()
            bot.reply(question, now=now + timedelta(minutes=i))
            times.append(1000 * (time.perf_counter() - began))
        telling = []
        for i, statement in enumerate(told):
            began = time.perf_counter()
            bot.reply(statement, now=now + timedelta(days=1, minutes=i))
            telling.append(1000 * (time.perf_counter() - began))
        store.close()
    times.sort()
    telling.sort()
    return {"facts": len(statements), "turns": len(times), "model_load_s": round(load_s, 2),
            "reply_p50_ms": round(statistics.median(times), 1), "reply_p90_ms": round(times[int(0.9 * len(times))], 1),
            "statements": len(telling), "statement_p50_ms": round(statistics.median(telling), 1)}


def measure_cold_chat(runs: int, checkpoint: Path | None) -> dict:
    """A fresh `memchat chat` process to its first prompt: it reads '/quit' at once, so its whole run is
    start-up plus one command."""
    seconds = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            command = [str(ROOT / ".venv" / "bin" / "memchat"), "--home", home, "chat"]
            if checkpoint is not None:
                command += ["--model", str(checkpoint)]
            began = time.perf_counter()
            subprocess.run(command, input="/quit\n", text=True, capture_output=True, check=True,
                           env={**os.environ, "HF_HUB_OFFLINE": "1"})
            seconds.append(time.perf_counter() - began)
    return {"cold_chat_median_s": round(statistics.median(seconds), 2), "cold_chat_runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--facts", type=int, default=500, help="facts in the store")
    parser.add_argument("--turns", type=int, default=200, help="questions timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--cli", type=int, default=0, help="cold `memchat chat` runs (0: skip)")
    args = parser.parse_args()
    figures = measure_replies(args.checkpoint, args.facts, args.turns, args.threads)
    if args.cli:
        figures |= measure_cold_chat(args.cli, None if args.checkpoint == DEFAULT_MODEL else args.checkpoint)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
