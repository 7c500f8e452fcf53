"""How many told memories a question still finds after 30, 90 and 365 days unused, by importance.

Memories are told as the catalogue's held-out statements (lab/relations.py, eval split: phrasings and values
never trained on), 15 to a simulated user, each with its estimated importance (the shipped importance model,
memory_store/importance.py); nothing is recalled in between. Each is then asked by one of its relation's
held-out questions, at each horizon, in two ways:
- free: it is among the 5 best hits of `search` (active memories only: what the assistant reads first);
- with a cue: free, or among the 5 dormant memories nearest the question (`search_dormant`, at similarity
  >= 0.2): what the assistant's cued recall reads before it may answer "I think you told me ...".
A memory counts as found when it is within reach; whether the memory reader then answers from it is measured
by `memchat eval recall` and `memchat eval conversations`, not here. Reads write nothing, so every horizon
sees the same untouched store.

    .venv/bin/python bench/bench_forgetting.py --users 40 --out results/forgetting
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.relations import catalogue, render, values  # noqa: E402
from memory_store import MemoryStore  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
HORIZONS = (30, 90, 365)
BANDS = (("low (< 0.35)", 0.0, 0.35), ("middle (0.35-0.7)", 0.35, 0.7), ("high (>= 0.7)", 0.7, 1.01))


def told(rng: random.Random, per_user: int) -> list[tuple[str, str]]:
    """(statement, question) pairs of distinct relations for one user."""
    book = catalogue("eval")
    pairs = []
    for relation in rng.sample(list(book.relations), per_user):
        filled = {slot: rng.choice(values(kind, "eval")) for slot, kind in relation.slots.items()}
        asked = rng.choice(sorted(relation.questions))
        pairs.append((render(rng.choice(relation.statements), filled), rng.choice(relation.questions[asked])))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--per-user", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    start = time.perf_counter()
    rng = random.Random(args.seed)
    rows = []  # (importance, {horizon: (free, cued)})
    with tempfile.TemporaryDirectory() as folder:
        store = MemoryStore.open(Path(folder) / "store")
        for u in range(args.users):
            user = f"user-{u}"
            pairs = told(rng, args.per_user)
            facts = store.add_many([s for s, _ in pairs], user=user, now=T0)
            vectors = store.embed([q for _, q in pairs])
            for fact, vector in zip(facts, vectors):
                found = {}
                for days in HORIZONS:
                    at = T0 + timedelta(days=days)
                    free = fact.id in {h.fact.id for h in store.search_vector(vector, k=5, user=user, now=at)}
                    cued = free or fact.id in {h.fact.id for h in store.search_dormant(vector, k=5, user=user, now=at)
                                               if h.similarity >= 0.2}
                    found[days] = (free, cued)
                rows.append((fact.importance, found))
        store.close()
    table = []
    for name, low, high in BANDS:
        chosen = [f for imp, f in rows if low <= imp < high]
        cells = {d: (sum(f[d][0] for f in chosen), sum(f[d][1] for f in chosen)) for d in HORIZONS}
        table.append({"importance": name, "memories": len(chosen),
                      **{f"{d}d": {"free": cells[d][0], "cued": cells[d][1]} for d in HORIZONS}})
    payload = {"command": "python bench/bench_forgetting.py " + " ".join(sys.argv[1:]), "users": args.users,
               "per_user": args.per_user, "seed": args.seed, "seconds": round(time.perf_counter() - start, 1),
               "rows": table}
    md = markdown(payload)
    print(md)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(md)


def markdown(payload: dict) -> str:
    def pct(n: int, total: int) -> str:
        return f"{n}/{total} ({100 * n / total:.0f} %)" if total else "—"

    lines = ["| importance (estimated) | memories | " + " | ".join(f"{d} days: free / with a cue" for d in HORIZONS) + " |",
             "|---|---:|" + "---|" * len(HORIZONS)]
    for row in payload["rows"]:
        n = row["memories"]
        lines.append(f"| {row['importance']} | {n} | " + " | ".join(
            f"{pct(row[f'{d}d']['free'], n)} / {pct(row[f'{d}d']['cued'], n)}" for d in HORIZONS) + " |")
    return ("\n".join(lines) + f"\n\n{payload['users']} simulated users x {payload['per_user']} memories, seed "
            f"{payload['seed']}, {payload['seconds']} s. Command: `{payload['command']}`\n")


if __name__ == "__main__":
    main()
