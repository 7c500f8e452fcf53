"""Benchmark of memory_store: search latency and recall, bulk insert, embedding overhead, cold CLI, memory.

Every comparison is measured inside one run, interleaved where it can be, because the machine this runs
on is shared: report the medians and the ratios, not absolute figures from different runs.

    .venv/bin/python bench/bench_store.py                          # 10k and 100k, every section
    .venv/bin/python bench/bench_store.py --sizes 1000000 --skip-embed --skip-cli --json results/bench-1m.json

Sections:
  search   store.search_vector(k=10) p50/p95 (query already embedded; SQLite rows and decay included),
           beside VectorIndex.search on the same index, timed query by query in the same loop, and the
           default hybrid store.search (FTS5 bm25 + dense, fused; vector given) on words of the facts;
           recall@10 of both against exact numpy search over the same vectors.
  insert   add_many(texts, vectors=V, dedupe=False) in batches growing a store to each size: facts/s with
           the index update, then store.close() (index save) separately; dedupe=True for comparison, and one
           more dedupe batch profiled part by part (index search, check within the batch, index update,
           SQLite rows and words, importance model, commit). Self-hit: facts searched by their own vector/text.
  sweep    other index settings (flat, HNSW MxefConstruction), each a fresh store built with add_many,
           searched at several efSearch values: build rate, p50 and recall side by side.
  embed    add_many with the real all-MiniLM-L6-v2 against embedder.embed alone on the same sentences,
           alternated, in fresh stores.
  cli      cold `memchat facts`, `memchat add`, `memchat search` as subprocesses, median of N runs.
  memory   peak RSS of a fresh process that opens each store and searches it; on-disk sizes.

Synthetic vectors (`clustered`): 4,096 cluster centres drawn from N(0, I) in 384-d and normalised; a
point is a centre (chosen uniformly) plus N(0, sigma^2 I / 384) noise with sigma = 1.0, normalised; so a
point's cosine with its centre is about 0.71 and with a point of the same cluster about 0.5, the range
where related MiniLM sentences fall. Queries are fresh draws from the same mixture. Random unit vectors
(the hardest, least realistic case for approximate search) are measured at --random-at for honesty.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import faiss
import numpy as np
from rich.console import Console
from rich.table import Table

from memory_store import IndexConfig, MemoryStore, MiniLMEmbedder, StoreConfig
from memory_store.importance import shipped_for

DIM = 384
USER = "bench"
ADD_NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)  # every fact is added at the same moment ...
SEARCH_NOW = ADD_NOW + timedelta(days=1)  # ... so retention is equal and ranking is by similarity alone
K = 10
REPO = Path(__file__).resolve().parent.parent
START = time.perf_counter()
out = Console(width=max(shutil.get_terminal_size((180, 40)).columns, 180))


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", file=sys.stderr, flush=True)


# -- data -----------------------------------------------------------------------------------------
class SyntheticEmbedder:
    """A stand-in embedder for stores whose vectors are passed in: never asked to embed in the timed paths."""

    name = "bench-synthetic"
    dim = DIM

    def embed(self, texts):
        rng = np.random.default_rng(abs(hash(tuple(texts))) % 2**32)
        v = rng.standard_normal((len(texts), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _normalise(v: np.ndarray) -> np.ndarray:
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def clustered(n: int, seed: int, centres: int = 4096, sigma: float = 1.0, chunk: int = 100_000) -> np.ndarray:
    """n unit vectors from the Gaussian mixture documented at the top of this file (centres fixed by seed 0)."""
    centre = _normalise(np.random.default_rng(0).standard_normal((centres, DIM)).astype(np.float32))
    rng = np.random.default_rng(seed)
    out_ = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        noise = rng.standard_normal((m, DIM), dtype=np.float32) * (sigma / np.sqrt(DIM))
        out_[start:start + m] = _normalise(centre[rng.integers(0, centres, m)] + noise)
    return out_


def random_unit(n: int, seed: int) -> np.ndarray:
    return _normalise(np.random.default_rng(seed).standard_normal((n, DIM), dtype=np.float32))


def synthetic_texts(n: int) -> list[str]:
    return [f"synthetic fact {i}: topic {i % 997}, item {i % 101}, note {i * 7919 % 100_003}" for i in range(n)]


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = K, chunk: int = 50) -> np.ndarray:
    """Row positions of the exact top-k inner products per query (brute-force numpy)."""
    top = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), chunk):
        sims = queries[s:s + chunk] @ vectors.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        top[s:s + chunk] = np.take_along_axis(part, order, axis=1)
    return top


SUBJECTS = ["My sister Ana", "My brother Luis", "Our neighbour Tom", "My colleague Priya", "My friend Kenji",
            "My mother", "My father", "My grandmother Rosa", "The dentist", "My boss Helen", "My cousin Omar",
            "My daughter Mia", "My son Leo", "My partner Sam", "Our landlord", "My doctor", "My dog Rex",
            "My cat Luna", "My teacher Mr. Park", "My best friend Chloe"]
PREDICATES = ["lives in {city}", "moved to {city} in {year}", "works as a {job} in {city}", "loves {food}",
              "is allergic to {food}", "plays {sport} every {day}", "was born in {year}", "drives a {colour} {car}",
              "visited {city} last {month}", "has an appointment on {day} at {hour}", "speaks {lang} fluently",
              "is learning {lang}", "hates {food}", "bought a {colour} {thing}", "collects old {thing}s",
              "wants to visit {city} in {month}", "studied {subject} at university", "teaches {subject}",
              "gave me a {colour} {thing} for my birthday", "runs a small {food} shop in {city}"]
SLOTS = {
    "city": ["Lisbon", "Tokyo", "Nairobi", "Lima", "Oslo", "Toronto", "Mumbai", "Seville", "Cairo", "Denver",
             "Hanoi", "Krakow", "Dublin", "Quito", "Perth"],
    "year": [str(y) for y in range(1950, 2025, 3)],
    "job": ["nurse", "pilot", "carpenter", "lawyer", "chef", "software engineer", "librarian", "farmer", "pharmacist"],
    "food": ["peanuts", "sushi", "strawberries", "shellfish", "dark chocolate", "lentil soup", "mangoes", "cheese"],
    "sport": ["tennis", "chess", "football", "badminton", "basketball", "volleyball", "golf"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "colour": ["red", "blue", "green", "black", "white", "yellow", "silver"],
    "car": ["Toyota", "Volvo", "Fiat", "Tesla", "bicycle", "van"],
    "month": ["January", "March", "May", "July", "September", "November", "December"],
    "hour": ["9am", "noon", "3pm", "6:30pm", "8am"],
    "lang": ["Portuguese", "Japanese", "Swahili", "Polish", "Korean", "Arabic", "German"],
    "thing": ["umbrella", "camera", "guitar", "watch", "teapot", "stamp", "lamp", "book"],
    "subject": ["physics", "history", "biology", "economics", "music", "mathematics", "architecture"],
}
TAILS = ["", "", "", " and is very happy about it", ", which surprised everyone", " since last spring",
         " but rarely talks about it", ", according to my aunt"]


def sentences(n: int, seed: int) -> list[str]:
    """n distinct, varied personal-fact sentences from templates (seeded)."""
    rng = np.random.default_rng(seed)
    seen: dict[str, None] = {}
    while len(seen) < n:
        pred = PREDICATES[rng.integers(len(PREDICATES))]
        fills = {key: vals[rng.integers(len(vals))] for key, vals in SLOTS.items()}
        text = f"{SUBJECTS[rng.integers(len(SUBJECTS))]} {pred.format(**fills)}{TAILS[rng.integers(len(TAILS))]}."
        seen.setdefault(text)
    return list(seen)


# -- timing helpers -------------------------------------------------------------------------------
def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def med(values) -> float:
    return float(statistics.median(values))


def dir_sizes(path: Path) -> dict[str, int]:
    sizes = {p.name: p.stat().st_size for p in path.glob("memory.db*")}
    sizes.update({f"index/{p.name}": p.stat().st_size for p in (path / "index").glob("*.faiss")})
    return sizes


@dataclass(frozen=True)
class Setting:
    """An index setting under test: flat, or HNSW with M and efConstruction."""

    label: str
    config: IndexConfig

    @property
    def is_hnsw(self) -> bool:
        return self.label != "flat"


def parse_setting(text: str, size: int, base: IndexConfig) -> Setting:
    if text == "flat":
        return Setting("flat", replace(base, hnsw_threshold=10**12))
    m, efc = (int(x) for x in text.lower().split("x"))
    # Below the default threshold the store would stay flat: lower the threshold so HNSW is what is measured.
    return Setting(f"HNSW {m}x{efc}", replace(base, hnsw_m=m, hnsw_ef_construction=efc,
                                                hnsw_threshold=min(base.hnsw_threshold, max(size // 2, 1))))


def user_id(store: MemoryStore) -> int:
    """The benchmark user's id, read from SQLite (the store's own lookup is private and has moved)."""
    return store.db.conn.execute("SELECT id FROM users WHERE name = ?", (USER,)).fetchone()[0]


# -- insert ---------------------------------------------------------------------------------------
def build(path: Path, vectors: np.ndarray, texts: list[str], config: StoreConfig, batch: int, dedupe: bool,
          label: str) -> dict:
    """Grow a store with add_many in batches; time the adds (index update included) and close separately."""
    shutil.rmtree(path, ignore_errors=True)
    store = MemoryStore.open(path, embedder=SyntheticEmbedder(), config=config)
    ids: list[int] = []
    batch_s: list[float] = []
    t0 = time.perf_counter()
    for start in range(0, len(texts), batch):
        tb = time.perf_counter()
        facts = store.add_many(texts[start:start + batch], vectors=vectors[start:start + batch], dedupe=dedupe,
                               user=USER, now=ADD_NOW)
        batch_s.append(time.perf_counter() - tb)
        ids.extend(f.id for f in facts)
        done = start + len(facts)
        if len(texts) > batch and (len(batch_s) % max(1, len(texts) // batch // 10) == 0 or done == len(texts)):
            progress(f"{label}: {done:,}/{len(texts):,} facts, {done / (time.perf_counter() - t0):,.0f}/s")
    add_s = time.perf_counter() - t0
    uid = user_id(store)
    ti = time.perf_counter()
    index = store.indexes.get(uid)  # a bulk load defers HNSW indexing to the next search: do it now, timed
    index_s = time.perf_counter() - ti
    kind = index.kind
    tc = time.perf_counter()
    store.close()
    close_s = time.perf_counter() - tc
    n = len(texts)
    return {
        "facts": n, "stored": len(set(ids)), "dedupe": dedupe, "index_kind": kind, "add_s": add_s,
        "durable_per_s": n / add_s, "index_catchup_s": index_s, "facts_per_s": n / (add_s + index_s),
        "close_s": close_s, "facts_per_s_with_close": n / (add_s + index_s + close_s),
        "batch_s": batch_s, "ids": np.asarray(ids, dtype=np.int64), "disk_bytes": dir_sizes(path),
    }


# -- search ---------------------------------------------------------------------------------------
def query_texts(n: int) -> list[str]:
    """Words for the hybrid search's lexical side, in the synthetic facts' vocabulary (topics and items)."""
    return [f"what about topic {i * 13 % 997} and item {i * 7 % 101}?" for i in range(n)]


def search(path: Path, config: StoreConfig, queries: np.ndarray, truth_ids: np.ndarray, warmup: int,
           texts: list[str] | None = None) -> dict:
    """Open the store, then time store.search_vector and VectorIndex.search query by query, interleaved; with
    `texts`, also the default hybrid store.search (query vector given, so embedding is excluded)."""
    t0 = time.perf_counter()
    store = MemoryStore.open(path, embedder=SyntheticEmbedder(), config=config)
    uid = user_id(store)
    t1 = time.perf_counter()
    index = store.indexes.get(uid)  # load, check and reconcile the saved index
    t2 = time.perf_counter()
    n_cand = max(K * config.candidates, K + 8)  # as store.search_vector asks
    store_ns, raw_cand_ns, raw_k_ns, hybrid_ns = [], [], [], []
    store_hits, raw_hits = 0, 0
    clock = time.perf_counter_ns
    for i, q in enumerate(np.concatenate([queries[:warmup], queries])):
        q2 = q.reshape(1, -1)
        a = clock()
        hits = store.search_vector(q, k=K, user=USER, now=SEARCH_NOW)
        b = clock()
        index.search(q2, n_cand)
        c = clock()
        _, raw_ids = index.search(q2, K)
        d = clock()
        if texts is not None:
            store.search(texts[i % len(texts)], k=K, user=USER, now=SEARCH_NOW, vector=q)
            hybrid_ns.append(clock() - d)
        if i < warmup:
            continue
        store_ns.append(b - a)
        raw_cand_ns.append(c - b)
        raw_k_ns.append(d - c)
        truth = set(truth_ids[i - warmup].tolist())
        store_hits += len(truth & {h.fact.id for h in hits})
        raw_hits += len(truth & set(raw_ids[0].tolist()))
    ef = max(config.index.hnsw_ef_search, n_cand) if index.kind == "hnsw" else None
    store.close()
    ms = lambda xs, q: pct(xs, q) / 1e6  # noqa: E731
    ratios = np.asarray(store_ns) / np.asarray(raw_cand_ns)
    return {
        "index_kind": index.kind, "ef_search_effective": ef, "candidates": n_cand, "queries": len(queries),
        "open_s": t1 - t0, "index_load_s": t2 - t1,
        "store_p50_ms": ms(store_ns, 50), "store_p95_ms": ms(store_ns, 95),
        "raw_p50_ms": ms(raw_cand_ns, 50), "raw_p95_ms": ms(raw_cand_ns, 95),
        "raw_k_p50_ms": ms(raw_k_ns, 50),
        "hybrid_p50_ms": ms(hybrid_ns[warmup:], 50) if texts is not None else None,
        "hybrid_p95_ms": ms(hybrid_ns[warmup:], 95) if texts is not None else None,
        "overhead_p50_ms": float(np.median(np.asarray(store_ns) - np.asarray(raw_cand_ns))) / 1e6,
        "ratio_p50": float(np.median(ratios)),
        "recall_store": store_hits / (K * len(queries)), "recall_raw": raw_hits / (K * len(queries)),
    }


def self_hits(path: Path, config: StoreConfig, vectors: np.ndarray, texts: list[str], ids: np.ndarray,
              sample: int) -> dict:
    """Each sampled fact searched by its own vector (search_vector) and by its own text (the default hybrid
    search, its vector given): the share that finds that fact first."""
    store = MemoryStore.open(path, embedder=SyntheticEmbedder(), config=config)
    chosen = np.random.default_rng(8).choice(len(ids), min(sample, len(ids)), replace=False)
    dense = hybrid = 0
    for i in chosen:
        dense += store.search_vector(vectors[i], k=1, user=USER, now=SEARCH_NOW)[0].fact.id == ids[i]
        hybrid += store.search(texts[i], k=1, user=USER, now=SEARCH_NOW, vector=vectors[i])[0].fact.id == ids[i]
    store.close()
    return {"sample": len(chosen), "dense": dense / len(chosen), "hybrid": hybrid / len(chosen)}


def add_costs(path: Path, vectors: np.ndarray, texts: list[str], batch: int) -> dict:
    """One more add_many batch (its defaults: dedupe on) into a built store, profiled: seconds spent in each
    part (the near-duplicate search of the index, the check within the batch, the index update, the rows and
    their words in SQLite, the importance model, the commit)."""
    import cProfile
    import pstats

    store = MemoryStore.open(path, embedder=SyntheticEmbedder(), config=StoreConfig())
    store.indexes.get(user_id(store))  # a bulk-loaded index is built now, outside the profile
    profile = cProfile.Profile()
    t = time.perf_counter()
    profile.enable()
    store.add_many(texts[:batch], vectors=vectors[:batch], user=USER, now=ADD_NOW)
    profile.disable()
    total = time.perf_counter() - t
    store.close()
    stats = pstats.Stats(profile).stats
    parts = {"index search (near-duplicates)": ("index.py", "search"), "check within the batch": ("duplicates.py", "_within_batch"),
             "cells search (near-duplicates, bulk add)": ("cells.py", "search"),
             "cells read from SQLite and trained (first bulk add of a process)": ("indexes.py", "cells"),
             "new facts into the cells": ("cells.py", "add_searched"),
             "index update": ("index.py", "add"), "rows + lexical index (SQLite)": ("ledger.py", "insert_many"),
             "importance model": ("importance.py", "estimate"), "commit": ("ledger.py", "transaction")}
    out = {name: sum(v[3] for (file, _, func), v in stats.items() if file.endswith(where) and func == fn)
           for name, (where, fn) in parts.items()}
    model = shipped_for(MiniLMEmbedder.name)  # it reads MiniLM vectors only, so it is timed on its own here
    if model is not None:
        t = time.perf_counter()
        model.estimate(vectors[:batch])
        out["importance model"] = time.perf_counter() - t
    return {"facts": batch, "total_s": total, "per_s": batch / total, "parts_s": out}


def rss_probe(path: Path, queries: int) -> dict:
    """In a fresh process: open the store, search it, report peak RSS (VmHWM; the benchmark's own arrays excluded)."""
    code = (
        "import json, resource, sys, time, numpy as np\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from bench.bench_store import SyntheticEmbedder, USER, SEARCH_NOW, clustered\n"
        "from memory_store import MemoryStore\n"
        "q = clustered(int(sys.argv[3]), seed=99)\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would report the parent's peak.
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "base = hwm()\n"
        "t = time.perf_counter(); s = MemoryStore.open(sys.argv[2], embedder=SyntheticEmbedder())\n"
        "s.search_vector(q[0], k=10, user=USER, now=SEARCH_NOW); first = time.perf_counter() - t\n"
        "for v in q: s.search_vector(v, k=10, user=USER, now=SEARCH_NOW)\n"
        "s.db.conn.close()\n"  # no save: nothing changed, and the probe must not touch the store's files
        "print(json.dumps({'rss_before_open_mb': base / 1024, 'peak_rss_mb': "
        "hwm() / 1024, 'open_and_first_search_s': first}))\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(REPO), str(path), str(queries)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"error": res.stderr.strip()[-500:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


# -- one size -------------------------------------------------------------------------------------
def run_size(size: int, args, root: Path) -> dict:
    base = StoreConfig()
    progress(f"size {size:,}: generating clustered vectors and exact top-{K}")
    vectors = clustered(size, seed=1)
    texts = synthetic_texts(size)
    queries = clustered(args.queries, seed=2)
    truth_pos = exact_top(vectors, queries)
    result: dict = {"size": size, "settings": []}

    path = root / f"store-{size}"
    main = build(path, vectors, texts, base, args.batch, dedupe=False, label=f"{size:,} default, dedupe=False")
    truth = main["ids"][truth_pos]  # fact ids of the exact neighbours
    result["insert"] = {k: v for k, v in main.items() if k != "ids"}
    progress(f"size {size:,}: RSS probe")
    result["memory"] = rss_probe(path, 200)
    default_label = (f"HNSW {base.index.hnsw_m}x{base.index.hnsw_ef_construction}"
                     if main["index_kind"] == "hnsw" else "flat")
    result["search"] = search(path, base, queries, truth, args.warmup, texts=query_texts(len(queries) + args.warmup))
    result["search"]["setting"] = default_label
    progress(f"size {size:,}: store p50 {result['search']['store_p50_ms']:.3f} ms, "
             f"hybrid p50 {result['search']['hybrid_p50_ms']:.3f} ms, "
             f"recall {result['search']['recall_store']:.4f}")

    if size in args.self_hit_at:
        result["self_hit"] = self_hits(path, base, vectors, texts, main["ids"], args.self_hit)
        progress(f"size {size:,}: self-hit dense {result['self_hit']['dense']:.4f}, hybrid {result['self_hit']['hybrid']:.4f}")

    if size in args.dedupe_at:
        dpath = root / f"store-{size}-dedupe"
        rates = []
        for _ in range(args.dedupe_builds):  # the machine is shared: the median of several builds
            d = build(dpath, vectors, texts, base, args.batch, dedupe=True, label=f"{size:,} default, dedupe=True")
            rates.append(d["durable_per_s"])
        result["insert_dedupe"] = {k: v for k, v in d.items() if k != "ids"}
        # table 3's durable rate is the median of the builds; its other columns are the last build's
        result["insert_dedupe"].update(durable_per_s=float(np.median(rates)), builds_per_s=rates)
        progress(f"size {size:,}: add_many with dedupe, {len(rates)} builds: median {np.median(rates):,.0f}/s "
                 f"({', '.join(f'{r:,.0f}' for r in rates)})")
        extra = clustered(args.batch, seed=9)
        result["add_costs"] = add_costs(dpath, extra, [f"another fact {i}" for i in range(len(extra))], args.batch)
        progress(f"size {size:,}: one more batch with dedupe {result['add_costs']['per_s']:,.0f}/s: "
                 + ", ".join(f"{k} {v:.2f} s" for k, v in result["add_costs"]["parts_s"].items()))
        shutil.rmtree(dpath, ignore_errors=True)

    if size in args.sweep_at:
        for spec in args.sweep:
            setting = parse_setting(spec, size, base.index)
            if setting.label == default_label:
                spath, built = path, main  # the default store already has this setting
            else:
                spath = root / f"store-{size}-{spec}"
                built = build(spath, vectors, texts, StoreConfig(index=setting.config), args.batch, dedupe=False,
                              label=f"{size:,} {setting.label}")
            efs_list = args.efs if setting.is_hnsw else [None]
            for efs in efs_list:
                index_cfg = setting.config if efs is None else replace(setting.config, hnsw_ef_search=efs)
                s = search(spath, StoreConfig(index=index_cfg), queries, truth, args.warmup)
                row = {"setting": setting.label, "ef_search": efs, "facts_per_s": built["facts_per_s"],
                       "close_s": built["close_s"], "index_bytes": sum(v for k, v in built["disk_bytes"].items()
                                                                      if k.startswith("index/")), **s}
                result["settings"].append(row)
                progress(f"size {size:,} {setting.label} efSearch {efs}: insert {built['facts_per_s']:,.0f}/s, "
                         f"p50 {s['store_p50_ms']:.3f} ms, recall {s['recall_store']:.4f}")
            if spath != path:
                shutil.rmtree(spath, ignore_errors=True)

    if size in args.random_at:
        rvec = random_unit(size, seed=3)
        rq = random_unit(args.queries, seed=4)
        rpath = root / f"store-{size}-random"
        r = build(rpath, rvec, texts, base, args.batch, dedupe=False, label=f"{size:,} random vectors")
        rs = search(rpath, base, rq, r["ids"][exact_top(rvec, rq)], args.warmup)
        result["random"] = {"facts_per_s": r["facts_per_s"], **rs}
        shutil.rmtree(rpath, ignore_errors=True)
        del rvec

    shutil.rmtree(path, ignore_errors=True)
    return result


# -- real sentence vectors -----------------------------------------------------------------------
PERSONA = REPO.parent / "shared" / "data" / "persona_chat" / "convai2" / "valid_self_original.txt"


def persona_sentences(n: int) -> list[str]:
    """Up to n distinct utterances of the ConvAI2 validation file (persona lines, turns, candidates), in file order."""
    if not PERSONA.exists():
        return []
    seen: dict[str, None] = {}
    for line in PERSONA.read_text(encoding="utf-8").splitlines():
        body = line.split(" ", 1)[1] if " " in line else line
        body = body.replace("your persona: ", "").replace("partner's persona: ", "")
        for part in body.replace("|", "\t").split("\t"):
            part = part.strip()
            if len(part) > 3:
                seen.setdefault(part)
                if len(seen) >= n:
                    return list(seen)
    return list(seen)


def run_real(args, root: Path, embedder: MiniLMEmbedder) -> dict:
    """Recall on real MiniLM vectors (Persona-Chat utterances), HNSW forced, beside clustered vectors of the same size."""
    texts = persona_sentences(args.real + args.queries)
    if len(texts) < args.real + args.queries:
        return {"error": f"only {len(texts)} sentences in {PERSONA}"}
    rng = np.random.default_rng(6)
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    progress(f"real: embedding {len(texts):,} Persona-Chat utterances")
    t = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - t
    stored, queries = vectors[: args.real], vectors[args.real:]
    base = StoreConfig().index
    out_: dict = {"facts": args.real, "embed_per_s": len(texts) / embed_s, "rows": []}
    synthetic = clustered(args.real, seed=1)
    for name, vecs, qs in (("real MiniLM", stored, queries), ("clustered", synthetic, clustered(args.queries, seed=2))):
        for spec in args.real_sweep:
            setting = parse_setting(spec, args.real, base)
            path = root / "real"
            built = build(path, vecs, texts[: args.real] if name == "real MiniLM" else synthetic_texts(args.real),
                          StoreConfig(index=setting.config), args.batch, dedupe=False, label=f"{name} {setting.label}")
            truth = built["ids"][exact_top(vecs, qs)]
            nn = np.sort(qs @ vecs.T, axis=1)[:, ::-1][:, [0, 9, 10]]
            for efs in args.efs:
                s = search(path, StoreConfig(index=replace(setting.config, hnsw_ef_search=efs)), qs, truth, args.warmup)
                out_["rows"].append({"vectors": name, "setting": setting.label, "ef_search": efs,
                                     "facts_per_s": built["facts_per_s"], "nn1_cos": float(np.median(nn[:, 0])),
                                     "nn10_cos": float(np.median(nn[:, 1])),
                                     "gap_10_11": float(np.median(nn[:, 1] - nn[:, 2])), **s})
                progress(f"real: {name} {setting.label} efSearch {efs}: recall {s['recall_store']:.4f}")
            shutil.rmtree(path, ignore_errors=True)
    return out_


# -- embedding and CLI ----------------------------------------------------------------------------
def run_embed(args, root: Path, embedder: MiniLMEmbedder) -> tuple[dict, list[str], np.ndarray, Path]:
    texts = persona_sentences(args.embed_count)
    source = "Persona-Chat (ConvAI2 validation) utterances"
    if len(texts) < args.embed_count:
        texts, source = sentences(args.embed_count, seed=5), "templated personal facts"
    progress("embed: loading all-MiniLM-L6-v2")
    t = time.perf_counter()
    embedder.embed(texts[:64])  # load the model and warm it up; not part of either timing
    load_s = time.perf_counter() - t
    embed_s, add_s, stored = [], [], []
    vectors = None
    path = root / "embed"
    for rep in range(args.embed_reps):
        t = time.perf_counter()
        vectors = embedder.embed(texts)
        embed_s.append(time.perf_counter() - t)
        shutil.rmtree(path, ignore_errors=True)
        store = MemoryStore.open(path, embedder=embedder)
        t = time.perf_counter()
        facts = store.add_many(texts, user=USER, now=ADD_NOW)
        add_s.append(time.perf_counter() - t)
        store.close()
        stored.append(sum(not f.reinforced for f in facts))
        progress(f"embed rep {rep + 1}/{args.embed_reps}: embed {len(texts) / embed_s[-1]:.0f}/s, "
                 f"add_many {len(texts) / add_s[-1]:.0f}/s")
    n = len(texts)
    pair = [e / a for e, a in zip(embed_s, add_s)]
    return ({
        "sentences": n, "source": source, "reps": args.embed_reps, "model_load_s": load_s,
        "embed_per_s": n / med(embed_s), "add_many_per_s": n / med(add_s), "stored_new": stored[-1],
        "ratio_median_of_pairs": med(pair), "embed_s": embed_s, "add_s": add_s,
    }, texts, vectors, path)


def run_cli(args, root: Path, texts: list[str], vectors: np.ndarray, big_store: Path) -> dict:
    exe = Path(sys.executable).parent / "memchat"
    small = root / "cli"
    shutil.rmtree(small, ignore_errors=True)
    store = MemoryStore.open(small, embedder=_NamedOnly())
    store.add_many(texts[:200], vectors=vectors[:200], user="default", dedupe=False)
    store.close()
    extra = iter(texts[200:])

    def timed(cmd: list[str], home: Path) -> tuple[float, int]:
        env = {**os.environ, "MEMCHAT_HOME": str(home)}
        t = time.perf_counter()
        res = subprocess.run([str(exe), *cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        dt = time.perf_counter() - t
        if res.returncode != 0:
            progress(f"cli {cmd[0]} exited {res.returncode}: {res.stderr.decode()[-300:]}")
        return dt, res.returncode

    cases = [
        ("memchat facts (200 facts)", lambda: ["facts"], small),
        (f"memchat facts ({len(texts)} facts)", lambda: ["facts"], big_store),
        ("memchat facts --json (200 facts)", lambda: ["facts", "--json"], small),
        ("memchat add TEXT (200 facts)", lambda: ["add", next(extra)], small),
        ("memchat search QUERY (200 facts)", lambda: ["search", "where does my sister live?"], small),
    ]
    result = {}
    for label, cmd, home in cases:
        timed(cmd(), home)  # one unmeasured run: file cache warm, as for any command run twice
        runs = [timed(cmd(), home) for _ in range(args.cli_runs)]
        result[label] = {"median_s": med([r[0] for r in runs]), "min_s": min(r[0] for r in runs),
                         "runs_s": [r[0] for r in runs], "exit_codes": sorted({r[1] for r in runs})}
        progress(f"cli {label}: median {result[label]['median_s']:.3f} s")
    return result


class _NamedOnly:
    """The bundled model's name and dimension, for filling a CLI store from vectors already computed by it."""

    name = MiniLMEmbedder.name
    dim = MiniLMEmbedder.dim

    def embed(self, texts):
        raise RuntimeError("vectors are passed in")


# -- report ---------------------------------------------------------------------------------------
def table(title: str, columns: list[str], rows: list[list]) -> None:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    out.print(t)


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def report(results: dict) -> None:
    sizes = results["sizes"]
    table("1. store.search_vector(k=10) vs VectorIndex.search on the same index (ms; same loop, interleaved)",
          ["facts", "index", "efSearch", "store p50", "store p95", "raw p50 (n=cand)", "raw p95", "raw p50 (n=10)",
           "overhead p50", "store/raw p50", "target", "met", "hybrid search p50", "hybrid p95", "hybrid/raw p50"],
          [[f"{r['size']:,}", r["search"]["setting"], r["search"]["ef_search_effective"] or "-",
            f"{r['search']['store_p50_ms']:.3f}", f"{r['search']['store_p95_ms']:.3f}",
            f"{r['search']['raw_p50_ms']:.3f}", f"{r['search']['raw_p95_ms']:.3f}", f"{r['search']['raw_k_p50_ms']:.3f}",
            f"{r['search']['overhead_p50_ms']:.3f}", f"{r['search']['ratio_p50']:.1f}x",
            *_search_target(r["size"], r["search"]["store_p50_ms"]), *_hybrid_cells(r["search"])] for r in sizes])
    rows = [[f"{r['size']:,}", "clustered", r["search"]["setting"], f"{r['search']['recall_store']:.4f}",
             f"{r['search']['recall_raw']:.4f}", verdict(r["search"]["recall_store"] >= 0.98)] for r in sizes]
    rows += [[f"{r['size']:,}", "random unit", r["random"]["index_kind"], f"{r['random']['recall_store']:.4f}",
              f"{r['random']['recall_raw']:.4f}", verdict(r["random"]["recall_store"] >= 0.98)]
             for r in sizes if "random" in r]
    rows += [[f"{r['size']:,}", "self-hit: own vector (search_vector) / own text (hybrid)", r["search"]["setting"],
              f"{r['self_hit']['dense']:.4f} / {r['self_hit']['hybrid']:.4f}", "-",
              verdict(r["self_hit"]["dense"] >= 0.98)] for r in sizes if "self_hit" in r]
    table("2. recall@10 against exact numpy search (default settings)",
          ["facts", "vectors", "index", "store recall@10", "raw index recall@10", ">= 0.98"], rows)
    sweep = [(r["size"], s) for r in sizes for s in r["settings"]]
    if sweep:
        table("2b. index settings: insert rate (add_many, 10k batches), search p50 and recall@10",
              ["facts", "setting", "efSearch (effective)", "insert facts/s", "close s", "index MB", "store p50 ms",
               "raw p50 ms", "recall@10"],
              [[f"{n:,}", s["setting"], f"{s['ef_search'] or '-'} ({s['ef_search_effective'] or '-'})",
                f"{s['facts_per_s']:,.0f}", f"{s['close_s']:.2f}", f"{s['index_bytes'] / 2**20:.0f}",
                f"{s['store_p50_ms']:.3f}", f"{s['raw_p50_ms']:.3f}", f"{s['recall_store']:.4f}"] for n, s in sweep])
    rows = []
    for r in sizes:
        for key, label in (("insert", "dedupe=False"), ("insert_dedupe", "dedupe=True")):
            if key in r:
                i = r[key]
                rows.append([f"{r['size']:,}", label, i["index_kind"], f"{i['durable_per_s']:,.0f}",
                             f"{i['index_catchup_s']:.2f}", f"{i['facts_per_s']:,.0f}", f"{i['close_s']:.2f}",
                             f"{i['facts_per_s_with_close']:,.0f}",
                             f"{i['facts'] / len(i['batch_s']) / max(i['batch_s']):,.0f}",
                             verdict(i["facts_per_s"] >= 20_000)])
    table("3. durable bulk insert with precomputed vectors (add_many in batches; deferred index build timed after)",
          ["facts", "mode", "index", "add_many facts/s (durable)", "index catch-up s", "facts/s incl. index",
           "close (save) s", "facts/s incl. index + save", "slowest batch facts/s", ">= 20,000/s (incl. index)"], rows)
    costs = [(r["size"], r["add_costs"]) for r in sizes if "add_costs" in r]
    if costs:
        names = list(costs[0][1]["parts_s"])
        table("3b. one more add_many batch with its defaults (dedupe on) into the dedupe store: seconds per part",
              ["facts in store", "batch", "facts/s", *names],
              [[f"{n:,}", f"{c['facts']:,}", f"{c['per_s']:,.0f}", *[f"{c['parts_s'][k]:.2f}" for k in names]]
               for n, c in costs])
    if "embed" in results:
        e = results["embed"]
        table("4. add_many with the real all-MiniLM-L6-v2 vs embedder.embed alone (same sentences, alternated)",
              ["sentences", "embed alone /s", "add_many /s", "ratio (median of pairs)", ">= 90%"],
              [[e["sentences"], f"{e['embed_per_s']:.0f}", f"{e['add_many_per_s']:.0f}",
                f"{e['ratio_median_of_pairs']:.1%}", verdict(e["ratio_median_of_pairs"] >= 0.9)]])
    if "cli" in results:
        targets = {"memchat facts (200 facts)": 0.6, "memchat add TEXT (200 facts)": 3.0}
        table("5. cold CLI (fresh process each run)", ["command", "median s", "min s", "target s", "met"],
              [[label, f"{c['median_s']:.3f}", f"{c['min_s']:.3f}", targets.get(label, "-"),
                verdict(c["median_s"] <= targets[label]) if label in targets else "-"] for label, c in results["cli"].items()])
    if results.get("real", {}).get("rows"):
        table(f"2c. recall@10 on real MiniLM vectors ({results['real']['facts']:,} Persona-Chat utterances, "
              "500 held out as queries) vs clustered synthetic vectors, same size, HNSW forced",
              ["vectors", "setting", "efSearch (effective)", "insert facts/s", "store p50 ms", "raw p50 ms",
               "recall@10", "median cos nn1 / nn10 / gap 10-11"],
              [[r["vectors"], r["setting"], f"{r['ef_search']} ({r['ef_search_effective']})", f"{r['facts_per_s']:,.0f}",
                f"{r['store_p50_ms']:.3f}", f"{r['raw_p50_ms']:.3f}", f"{r['recall_store']:.4f}",
                f"{r['nn1_cos']:.3f} / {r['nn10_cos']:.3f} / {r['gap_10_11']:.4f}"] for r in results["real"]["rows"]])
    table("6. memory (fresh process: open, 201 searches) and disk",
          ["facts", "RSS after imports MB", "peak RSS MB", "open + first search s", "memory.db MB", "index MB"],
          [[f"{r['size']:,}", f"{r['memory'].get('rss_before_open_mb', float('nan')):.0f}",
            f"{r['memory'].get('peak_rss_mb', float('nan')):.0f}", f"{r['memory'].get('open_and_first_search_s', float('nan')):.2f}",
            f"{sum(v for k, v in r['insert']['disk_bytes'].items() if k.startswith('memory.db')) / 2**20:.0f}",
            f"{sum(v for k, v in r['insert']['disk_bytes'].items() if k.startswith('index/')) / 2**20:.0f}"]
           for r in sizes])
    out.print(f"load average at start {results['load_start']}, at end {results['load_end']}; "
              f"bench peak RSS {results['bench_peak_rss_mb']:.0f} MB")


def _hybrid_cells(s: dict) -> list[str]:
    if s.get("hybrid_p50_ms") is None:
        return ["-", "-", "-"]
    return [f"{s['hybrid_p50_ms']:.3f}", f"{s['hybrid_p95_ms']:.3f}", f"{s['hybrid_p50_ms'] / s['raw_p50_ms']:.1f}x"]


def _search_target(size: int, p50: float) -> list[str]:
    target = 1.0 if size <= 100_000 else 2.0
    return [f"<= {target:g}", verdict(p50 <= target)]


# -- main -----------------------------------------------------------------------------------------
def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--sizes", type=ints, default=[10_000, 100_000], help="store sizes (default 10000,100000)")
    p.add_argument("--queries", type=int, default=500, help="timed queries per measurement")
    p.add_argument("--warmup", type=int, default=50, help="untimed queries first")
    p.add_argument("--batch", type=int, default=10_000, help="facts per add_many call")
    p.add_argument("--sweep", type=lambda s: s.split(","), default="flat,16x40,16x64,32x40,32x64".split(","),
                   help="index settings to compare: flat, MxefConstruction (default flat,16x40,16x64,32x40,32x64)")
    p.add_argument("--sweep-at", type=ints, default=None, help="sizes to sweep (default: every size up to 100k)")
    p.add_argument("--efs", type=ints, default=[64, 128, 256], help="efSearch values for HNSW settings")
    p.add_argument("--dedupe-at", type=ints, default=[100_000], help="sizes also built with dedupe=True")
    p.add_argument("--dedupe-builds", type=int, default=1,
                   help="builds with dedupe=True per size; table 3 gives their median (default 1)")
    p.add_argument("--random-at", type=ints, default=[100_000], help="sizes also measured on random unit vectors")
    p.add_argument("--self-hit-at", type=ints, default=[100_000], help="sizes where facts are searched by their own vector and text")
    p.add_argument("--self-hit", type=int, default=1_000, help="facts sampled for the self-hit check")
    p.add_argument("--embed-count", type=int, default=2_000, help="sentences for the embedding comparison")
    p.add_argument("--embed-reps", type=int, default=3)
    p.add_argument("--cli-runs", type=int, default=5)
    p.add_argument("--real", type=int, default=20_000,
                   help="facts of real MiniLM vectors (Persona-Chat) for the recall check; 0 skips it")
    p.add_argument("--real-sweep", type=lambda s: s.split(","), default=["16x64", "32x64"],
                   help="HNSW settings for the real-vector recall check")
    p.add_argument("--skip-embed", action="store_true", help="skip the embedding and CLI sections")
    p.add_argument("--skip-cli", action="store_true")
    p.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()), help="where temporary stores go")
    p.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    args = p.parse_args(argv)
    if args.dedupe_builds < 1:
        p.error("--dedupe-builds must be at least 1")
    if args.sweep_at is None:
        args.sweep_at = [s for s in args.sizes if s <= 100_000]

    faiss_threads = faiss.omp_get_max_threads()
    root = Path(tempfile.mkdtemp(prefix="memchat-bench-", dir=args.tmp))
    results: dict = {
        "argv": sys.argv, "started": datetime.now(timezone.utc).isoformat(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "faiss": faiss.__version__, "faiss_omp_threads": faiss_threads,
        "numpy": np.__version__, "load_start": [round(x, 2) for x in os.getloadavg()],
        "default_config": asdict(StoreConfig().index), "candidates": StoreConfig().candidates,
        "git": subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=False).stdout.strip(), "sizes": [],
    }
    try:
        for size in args.sizes:
            results["sizes"].append(run_size(size, args, root))
        embedder = MiniLMEmbedder()
        if not args.skip_embed:
            results["embed"], texts, vectors, big = run_embed(args, root, embedder)
            if not args.skip_cli:
                results["cli"] = run_cli(args, root, texts, vectors, big)
        if args.real:
            results["real"] = run_real(args, root, embedder)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["load_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=_jsonable))
        progress(f"figures written to {args.json}")


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


if __name__ == "__main__":
    main()
