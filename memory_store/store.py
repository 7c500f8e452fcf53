"""The MemoryStore: facts in SQLite (the source of truth), searched through derived FAISS indexes.

A store is a directory holding `memory.db` and `index/user-<id>.faiss`. Every multi-step write is one
`BEGIN IMMEDIATE` transaction, so several processes can share a store. Time is always an argument
(`now`, a timezone-aware datetime); when it is None the store's clock is read once, at the boundary.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from memory_store import decay as policy
from memory_store.config import DAY, StoreConfig
from memory_store.embedder import Embedder, MiniLMEmbedder, checked_vectors, embed_words
from memory_store.minilm import Words
from memory_store.errors import EmbedderMismatch, FactNotActive, FactNotFound, InvalidInput, StoreUnavailable
from memory_store.dates import hold_until
from memory_store.cells import Cells
from memory_store.duplicates import Duplicate, Inactive, find_duplicates, find_duplicates_in_cells
from memory_store.forgetting import content_words, faded, held_words, named_by, purge_cutoff
from memory_store.importance import shipped_for
from memory_store.index import VectorIndex
from memory_store.indexes import IndexSet
from memory_store.ledger import Ledger
from memory_store.lexical import LexicalIndex
from memory_store.privacy import exposed, private_dir, private_file
from memory_store.retrieval import add_context, check_mode, fuse, time_window
from memory_store.records import FOLLOWS, DecayReport, Event, Explanation, Fact, Hit, Stats, UserStats
from memory_store.rows import FACT_COLUMNS, FACT_FROM, fact_from_row, json_ids, select_events, utc
from memory_store.schema import LATEST, connect, migrate
from memory_store.transfer import LATEST_TIME, ImportRecord, ImportReport, read_records, write_export
from memory_store.validate import check_importance, check_k, check_query, check_text, check_user

log = logging.getLogger(__name__)
EXACT_WINDOW = 20_000  # a time window of at most this many facts is searched exactly

class MemoryStore:
    """Long-term memory: add, search, recall, decay, forget and restore facts, per user."""

    def __init__(self, path: Path, db, embedder: Embedder, config: StoreConfig, clock: Callable[[], float]):
        self.path, self.db, self.embedder, self.config, self._clock = path, db, embedder, config, clock
        self.indexes = IndexSet(db, path / "index", embedder.name, embedder.dim, config.index)
        self.ledger = Ledger(db, self.indexes, config, embedder.dim, clock)
        self.exposed: list[Path] = []  # the store's paths other accounts can read, found by `open` (privacy.py)
        self.lexical = LexicalIndex(db, config.search, self.ledger.transaction)

    # -- opening and closing ----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path,
        embedder: Embedder | None = None,
        config: StoreConfig | None = None,
        clock: Callable[[], float] = time.time,
        progress: Callable[[int, int], None] | None = None,
    ) -> MemoryStore:
        """Open the store in directory `path`, creating it if missing.

        A store from before the lexical index gets it built here, once: `progress(done, total)` counts facts.

        `embedder` defaults to the bundled all-MiniLM-L6-v2 (loaded only when something is embedded).
        A store made with another embedder or dimension raises EmbedderMismatch naming both.
        """
        path = Path(path).expanduser()
        embedder = embedder or MiniLMEmbedder()
        try:
            private_dir(path)  # a new store: 0700, and the database (so its WAL too) 0600
            private_file(path / "memory.db")
            db = connect(str(path / "memory.db"))
            migrate(db)
        except (OSError, sqlite3.Error) as e:
            raise StoreUnavailable(f"cannot open a memory store at {path}: {e}") from e
        store = cls(path, db, embedder, config or StoreConfig(), clock)
        store._check_embedder()
        store.lexical.ensure(progress)
        store.exposed = exposed(path)
        if store.exposed:
            log.info("the memory store at %s is readable by other accounts (%d path(s))", path, len(store.exposed))
        return store

    def _check_embedder(self) -> None:
        meta = dict(self.db.conn.execute("SELECT key, value FROM meta").fetchall())
        if "embedder" not in meta:
            with self.ledger.transaction():
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("embedder", self.embedder.name), ("dim", str(self.embedder.dim))],
                )
            meta = dict(self.db.conn.execute("SELECT key, value FROM meta").fetchall())
        if meta["embedder"] != self.embedder.name or int(meta["dim"]) != self.embedder.dim:
            self.db.conn.close()
            raise EmbedderMismatch(
                f"the store at {self.path} was made with embedder {meta['embedder']!r} (dimension {meta['dim']}), "
                f"but {self.embedder.name!r} (dimension {self.embedder.dim}) was given; "
                "open it with the same embedder, or export it and import into a new store"
            )

    def close(self) -> None:
        """Save changed indexes and close the database."""
        try:
            self.indexes.save_all()
        finally:
            self.db.conn.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------
    def _now(self, now: datetime | None) -> float:
        if now is None:
            return self._clock()
        if now.tzinfo is None:
            raise InvalidInput("`now` must be timezone-aware (e.g. datetime.now(timezone.utc))")
        if not 0 <= now.timestamp() <= LATEST_TIME:
            raise InvalidInput(f"`now` must lie between 1970 and 9000, not {now.isoformat()}")
        return now.timestamp()

    def retention(self, fact: Fact, now: datetime | None = None) -> float:
        """The fact's retention at `now` under this store's decay policy."""
        return self.ledger.retention(fact, self._now(now))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the store's embedder: unit-length float32 rows."""
        return checked_vectors(self.embedder.embed(list(texts)), len(texts), self.embedder.dim, self.embedder.name)

    def vectors(self, fact_ids: Sequence[int]) -> np.ndarray:
        """The stored embeddings of these facts, in order (unit float32 rows): no re-embedding."""
        ids = np.array(list(fact_ids), dtype=np.int64)
        try:
            return self.indexes.vectors(ids)
        except KeyError as e:
            raise FactNotFound(f"no fact with id {e.args[0]}") from e

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes into one transaction, all or nothing: `with store.transaction(): store.add(...);
        store.supersede(...)`. Each write inside is a savepoint of it (a write that fails is undone alone
        and raises); nothing is committed before the block ends, and an error leaving the block undoes
        every write in it. Other processes wait for the block to end before they write."""
        return self.ledger.transaction()

    # -- adding -----------------------------------------------------------------------------------
    def add(
        self,
        text: str,
        user: str = "default",
        importance: float | None = None,
        pinned: bool = False,
        now: datetime | None = None,
        source: dict[str, Any] | None = None,
    ) -> Fact:
        """Remember one fact. A near-duplicate of an active fact reinforces it instead (`fact.reinforced`)."""
        return self.add_many([text], user=user, importance=importance, pinned=pinned, now=now, source=source)[0]

    def add_many(
        self,
        texts: Sequence[str],
        user: str = "default",
        importance: float | None = None,
        pinned: bool = False,
        now: datetime | None = None,
        source: dict[str, Any] | None = None,
        vectors: np.ndarray | None = None,
        dedupe: bool = True,
    ) -> list[Fact]:
        """Remember many facts: one embedding pass, one transaction. Returns one Fact per text, in order.

        `vectors` skips embedding (rows must come from this store's embedder). With `dedupe`, a text
        whose cosine with a fact of the user (or an earlier text of the batch) reaches
        `config.duplicate_threshold`, naming the same numbers and names, reinforces that fact instead of
        being stored again (a dormant or forgotten one comes back). With `dedupe=False` (bulk loads) into
        an HNSW-sized memory, the rows are committed at once and indexed when the user is next searched.
        """
        texts = [check_text(t, self.config.max_text_chars) for t in texts]
        given = None if importance is None else check_importance(importance)
        at = self._now(now)
        check_user(user)
        if not texts:
            return []
        if vectors is None:
            vectors = self.embed(texts)
        else:
            vectors = checked_vectors(vectors, len(texts), self.embedder.dim, "vectors argument")
        importances = self._importance(vectors, given)
        stability = policy.initial_stability(importances, self.config.decay)
        told = utc(at)
        with self.ledger.transaction():
            uid = self.ledger.user_id(user, create=True)
            # A bulk add does not need the index (its check reads cells); it only feeds an exact index already loaded.
            bulk = not dedupe or len(texts) >= self.config.bulk_rows
            index = self.indexes.loaded(uid) if bulk else self.indexes.get(uid)
            inactive = self.ledger.inactive(uid) if dedupe else None
            cells = self.indexes.cells(uid) if dedupe and bulk else None
            duplicate_of = self._duplicates(index, cells, vectors, texts, inactive) if dedupe else [None] * len(texts)
            new_rows = [i for i, d in enumerate(duplicate_of) if d is None]
            source_json = json.dumps(source) if source else None
            holds = [hold_until(texts[i], told) for i in new_rows]
            new_ids = self.ledger.insert_many([
                (uid, texts[i], vectors[i].tobytes(), at, float(importances[i]), int(pinned), float(stability[i]), at, 0,
                 "active", at, source_json, hold) for i, hold in zip(new_rows, holds)])
            fact_ids: list[int] = [0] * len(texts)
            for i, fid in zip(new_rows, new_ids):
                fact_ids[i] = fid
            for i, dup in enumerate(duplicate_of):  # a row duplicates a stored fact or an earlier new row
                if dup is not None:
                    fact_ids[i] = dup[1] if dup[0] == "fact" else fact_ids[dup[1]]
            self.ledger.log_events([(fid, uid, "add", at, 1.0, "stored", source) for fid in new_ids])
            reinforced = sorted({fact_ids[i] for i, d in enumerate(duplicate_of) if d is not None} - set(new_ids))
            told_again = {fact_ids[i]: float(importances[i]) for i, d in enumerate(duplicate_of) if d is not None}
            self.ledger.reinforce(reinforced, uid, at, told_again, pinned)
            revived_ids = sorted(set(reinforced) & set(inactive.ids.tolist())) if inactive is not None else []
            if revived_ids:  # restoring reads the index: a bulk add that revives nothing leaves it alone
                self.ledger.apply_restore(uid, self.ledger.by_ids(revived_ids), at, "told again")
            if index is not None and (not bulk or index.kind == "flat"):
                index.add(np.array(new_ids, dtype=np.int64), vectors[new_rows])
            else:  # a bulk add: durable now, indexed when the user is next searched
                self.indexes.behind(uid)
        self.indexes.changed(uid)
        if cells is not None and not revived_ids:
            cells.add_searched(np.array(new_ids, dtype=np.int64), np.array(new_rows, dtype=np.int64))  # committed: kept for the next bulk add
            self.indexes.keep_cells(uid, cells)
        # New facts are what was just written (no read back); reinforced ones are read as they are now.
        stored_source = json.loads(source_json) if source_json else None
        facts = {fid: Fact(id=fid, user=user, text=texts[i], created_at=told, importance=float(importances[i]),
                           pinned=bool(pinned), stability=float(stability[i]), last_review=told, recall_count=0,
                           status="active", status_at=told, source=stored_source,
                           hold_until=None if hold is None else utc(hold))
                 for i, fid, hold in zip(new_rows, new_ids, holds)}
        facts.update({f.id: f for f in self.ledger.by_ids(reinforced)})
        return [facts[fid] if dup is None else replace(facts[fid], reinforced=True)
                for fid, dup in zip(fact_ids, duplicate_of)]

    def _duplicates(self, index: VectorIndex | None, cells: Cells | None, vectors: np.ndarray, texts: list[str],
                    inactive: Inactive) -> list[Duplicate | None]:
        """What each new row duplicates: searched in the user's cells for a bulk add, else in the index."""
        threshold = self.config.duplicate_threshold
        if cells is not None:
            cells.prepare(vectors)
            return find_duplicates_in_cells(cells, vectors, texts, threshold, self.config.duplicate_probes,
                                            self.ledger.texts, inactive)
        assert index is not None
        return find_duplicates(index, vectors, texts, threshold, self.ledger.texts, inactive)

    def _importance(self, vectors: np.ndarray, given: float | None) -> np.ndarray:
        """Each new fact's importance: the caller's, else the importance model's estimate, else the default."""
        n = len(vectors)
        if given is not None:
            return np.full(n, given)
        model = shipped_for(self.embedder.name) if self.config.estimate_importance else None
        if model is None:
            return np.full(n, self.config.default_importance)
        return model.estimate(vectors).astype(np.float64)

    def estimate_importance(self, texts: Sequence[str]) -> list[float]:
        """The importance `add` would give these texts (the importance model's estimate, or the default)."""
        return self._importance(self.embed(texts), None).tolist()

    # -- editing ----------------------------------------------------------------------------------
    def update(self, fact_id: int, text: str, now: datetime | None = None, reason: str = "edited by the user") -> Fact:
        """Replace an active fact's text in place (same id, re-embedded), in one transaction. The old text
        stays in the fact's history (`history(fact_id)`: an `edit` event's `replaced_text`) until the fact
        is erased. Its memory state (stability, recalls, pin) is kept; the same text again changes nothing.

        Unknown or erased ids raise FactNotFound; dormant or forgotten facts FactNotActive (restore first)."""
        text = check_text(text, self.config.max_text_chars)
        at = self._now(now)
        if _editable(self.get(fact_id)).text == text:
            return self.get(fact_id)
        vector = self.embed([text])[0]  # after the checks: a bad id never waits for the model
        with self.ledger.transaction():
            [fact] = self.ledger.existing([int(fact_id)])  # read again: another process may have changed it
            uid = self.ledger.uid_of(fact)
            if _editable(fact).text != text:
                self.ledger.apply_edit(uid, fact, text, vector, at, reason)
        self.ledger.after_change({uid})
        return self.get(fact_id)

    # -- reading ----------------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 5, user: str = "default", now: datetime | None = None, mode: str | None = None,
        since: datetime | None = None, until: datetime | None = None, vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The user's k best active facts for `query`, ranked by score (relevance weighted by retention).

        `mode` (default `config.search.mode`, "hybrid"): "hybrid" fuses the facts that share the query's
        words (FTS5 bm25, weighed by how strongly they match) with the facts nearest in meaning (cosine) by
        weighted reciprocal rank, and lifts the fact said right after a relevant one (context); "dense" is
        meaning alone (`search_vector`), "lexical" words alone. Each hit's `found_by` names the signals that
        found it, and its `similarity` is always the cosine. `since` / `until` (timezone-aware): only facts
        said in that window. `vector`: the query's embedding when the caller has it (`embed_query`)."""
        query = check_query(query, self.config.max_text_chars)
        mode = check_mode(self.config.search.mode if mode is None else mode)
        check_k(k)
        vector = self.embed([query])[0] if vector is None else checked_vectors(
            np.asarray(vector, dtype=np.float32).reshape(1, -1), 1, self.embedder.dim, "vector argument")[0]
        if mode == "dense":
            return self.search_vector(vector, k=k, user=user, now=now, since=since, until=until)
        at, window = self._now(now), time_window(since, until)
        found = self._searchable(user)
        if found is None:
            return []
        uid, index = found
        cfg = self.config.search
        depth = max(k, cfg.depth)
        strength = dict(self.lexical.search(uid, query, depth, window))
        lists = {"lexical": list(strength)}
        similarity = self._dense(uid, index, vector, depth, window) if mode == "hybrid" else {}
        if mode == "hybrid":
            lists["dense"] = list(similarity)
        fused = fuse(lists, cfg, strength if mode == "hybrid" else None, similarity)
        if mode == "hybrid" and cfg.context_weight > 0:
            fused = add_context(fused, self._followers(uid, list(fused.relevance), cfg.context_gap, window),
                                cfg.context_weight)
        unscored = np.array([i for i in fused.relevance if i not in similarity], dtype=np.int64)
        if len(unscored):
            similarity.update(zip(unscored.tolist(), (self.indexes.vectors(unscored) @ vector).tolist()))
        return self._ranked(uid, fused.relevance, similarity, fused.found_by, k, at)

    def _followers(self, uid: int, fact_ids: list[int], gap: float, window: tuple[float, float] | None
                   ) -> dict[int, int]:
        """{fact id: the id of the user's next active fact, said at most `gap` seconds after it (and within
        `window`)} for the given facts that have one."""
        since, until = window if window is not None else (float("-inf"), float("inf"))
        rows = self.db.conn.execute(
            "SELECT c.id, n.id FROM facts c JOIN facts n ON n.id = (SELECT min(x.id) FROM facts x WHERE "
            "x.user_id = c.user_id AND x.status = 'active' AND x.id > c.id) "
            "WHERE c.id IN (SELECT value FROM json_each(?)) AND n.created_at - c.created_at <= ? "
            "AND n.created_at BETWEEN ? AND ?",
            (json_ids(fact_ids), gap, max(since, -1e300), min(until, 1e300))).fetchall()
        return dict(rows)

    def embed_query(self, query: str) -> np.ndarray:
        """A query's unit-length embedding, checked as `search` checks it (for `search_vector`)."""
        return self.embed([check_query(query, self.config.max_text_chars)])[0]

    def embed_words(self, texts: Sequence[str]) -> tuple[np.ndarray, list[Words]]:
        """Texts' unit-length embeddings and their contextual word vectors (one per word piece: what a
        reader attends over), checked as queries are."""
        checked = [check_query(t, self.config.max_text_chars) for t in texts]
        return embed_words(self.embedder, checked)

    def search_vector(
        self, vector: np.ndarray, k: int = 5, user: str = "default", now: datetime | None = None,
        since: datetime | None = None, until: datetime | None = None,
    ) -> list[Hit]:
        """Dense `search` for a query that is already embedded (a unit-length row of this store's embedder):
        ranked by similarity weighted by retention. `since` / `until` as in `search`."""
        check_k(k)
        at, window = self._now(now), time_window(since, until)
        found = self._searchable(user)
        if found is None:
            return []
        uid, index = found
        similarity = self._dense(uid, index, vector, max(k * self.config.candidates, k + 8), window)
        return self._ranked(uid, similarity, similarity, {}, k, at)

    def _dense(self, uid: int, index: VectorIndex, vector: np.ndarray, n: int, window: tuple[float, float] | None
               ) -> dict[int, float]:
        """The user's n facts nearest `vector` (said within `window`): {id: cosine}, nearest first. A window
        of few facts on an HNSW index is searched exactly: a graph search filtered that hard finds too few."""
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        allowed = None
        if window is not None:
            allowed = np.array([r[0] for r in self.db.conn.execute(
                "SELECT id FROM facts WHERE user_id = ? AND status = 'active' AND created_at BETWEEN ? AND ?",
                (uid, max(window[0], -1e300), min(window[1], 1e300)))], dtype=np.int64)
            if index.kind == "hnsw" and len(allowed) <= EXACT_WINDOW:
                sims = self.indexes.vectors(allowed) @ query[0]
                top = np.argsort(-sims, kind="stable")[:n]
                return {int(allowed[i]): float(sims[i]) for i in top}
        sims, ids = index.search(query, n, allowed=allowed)
        return {int(i): float(s) for i, s in zip(ids[0], sims[0]) if i >= 0}

    def _ranked(self, uid: int, relevance: dict[int, float], similarity: dict[int, float],
                found_by: dict[int, tuple[str, ...]], k: int, at: float) -> list[Hit]:
        """The k best active candidates by relevance * (1 - w + w * retention at `at`), as Hits."""
        rows = self.db.conn.execute(
            f"SELECT {FACT_COLUMNS} FROM {FACT_FROM} WHERE f.id IN (SELECT value FROM json_each(?)) "
            "AND f.status = 'active' AND f.user_id = ?",
            (json_ids(relevance), uid),
        ).fetchall()
        w, cfg = self.config.retention_weight, self.config.decay
        ranked = []
        for row in rows:  # columns as in rows.FACT_COLUMNS; Fact objects only for the k kept
            r = policy.retention_at(created_at=row[3], last_review=row[7], stability=row[6], recall_count=row[8],
                                    importance=row[4], pinned=row[5], now=at, config=cfg, hold_until=row[13])
            if r < cfg.dormant_below:  # faded by `now`: dormant, found only by a cue (`search_dormant`)
                continue
            sim = similarity[row[0]]
            ranked.append((-relevance[row[0]] * (1.0 - w + w * r), row[0], sim, r, row))
        ranked.sort(key=lambda item: (item[0], -item[2], item[1]))  # equal scores: the closer in meaning first
        return [Hit(fact=fact_from_row(row), similarity=sim, retention=r, score=-neg,
                    found_by=found_by.get(row[0], ("dense",))) for neg, _, sim, r, row in ranked[:k]]

    def search_dormant(self, vector: np.ndarray, k: int = 5, user: str = "default", now: datetime | None = None
                       ) -> list[Hit]:
        """The user's k dormant memories nearest an embedded query, by similarity: what a cue may still bring
        back (`recall_dormant`). Dormant: faded (written by `decay`, or faded by `now` though not yet
        written), never replaced by an update or forgotten on request. Each hit's fact has status "dormant"."""
        check_k(k)
        at = self._now(now)
        uid = self.ledger.user_id(user)
        if uid is None:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        cfg = self.config.decay
        found: list[tuple[Fact, float, float]] = []
        written = self.db.conn.execute(
            f"SELECT {FACT_COLUMNS}, f.vector FROM {FACT_FROM} WHERE f.user_id = ? AND f.status = 'dormant' "
            "AND f.superseded_by IS NULL", (uid,)).fetchall()
        for row in written:
            fact = fact_from_row(row)
            found.append((fact, float(np.frombuffer(row[-1], dtype=np.float32) @ query), self.ledger.retention(fact, at)))
        searchable = self._searchable(user)
        if searchable is not None:  # faded by `now` but still active in SQLite: among the index's nearest
            n = max(k * 4, k + 16)
            sims, ids = searchable[1].search(query.reshape(1, -1), n)
            similarity = {int(i): float(v) for i, v in zip(ids[0], sims[0]) if i >= 0}
            for fact in self.ledger.by_ids(sorted(similarity)):
                r = self.ledger.retention(fact, at)
                if fact.status == "active" and r < cfg.dormant_below:
                    found.append((replace(fact, status="dormant"), similarity[fact.id], r))
        found.sort(key=lambda item: (-item[1], item[0].id))
        return [Hit(fact=f, similarity=sim, retention=r, score=sim) for f, sim, r in found[:k]]

    def recall_dormant(self, fact_ids: Sequence[int], now: datetime | None = None) -> list[Fact]:
        """Dormant memories a cue brought back: a recall (stability grows by the decay policy, most for the
        faintest: the spacing effect), and active again. Facts that are not dormant at `now`, replaced or
        forgotten ones included, are left as they are. Returns the facts as they are now."""
        at = self._now(now)
        ids = sorted({int(i) for i in fact_ids})
        cfg = self.config.decay
        touched: set[int] = set()
        with self.ledger.transaction():
            facts = [f for f in self.ledger.existing(ids) if f.superseded_by is None
                     and policy.status_at(f, utc(at), cfg) == "dormant"]
            self.ledger.recall(facts, at, reason="recalled by a cue while dormant")
            for uid, group in _by_user([(f, 0.0) for f in facts if f.status == "dormant"], self.ledger.user_id).items():
                self.ledger.apply_restore(uid, [f for f, _ in group], at, "recalled by a cue")
                touched.add(uid)
        self.ledger.after_change(touched)
        return self.ledger.by_ids(ids)

    def _searchable(self, user: str) -> tuple[int, VectorIndex] | None:
        """The user's id and index, or None when the user has no active fact."""
        uid = self.ledger.user_id(user)
        if uid is None:
            return None
        index = self.indexes.get(uid)
        return (uid, index) if index.live_count else None

    def get(self, fact_id: int) -> Fact:
        facts = self.ledger.fetch("f.id = ?", (int(fact_id),))
        if not facts:
            raise FactNotFound(fact_id)
        return facts[0]

    def facts(self, user: str = "default", include_dormant: bool = False, now: datetime | None = None) -> list[Fact]:
        """The user's facts in the order they were added: active only, or with dormant and forgotten ones.

        `now`: each fact's status as it is at that time (`decay.status_at`: one that has faded by then is
        dormant, though no `decay` has written it); None: the statuses as the store holds them."""
        if now is not None:
            at, cfg = utc(self._now(now)), self.config.decay
            seen = [replace(f, status=policy.status_at(f, at, cfg)) for f in self.facts(user, include_dormant=True)]
            return [f for f in seen if include_dormant or f.status == "active"]
        uid = self.ledger.user_id(user)
        if uid is None:
            return []
        where = "f.user_id = ?" + ("" if include_dormant else " AND f.status = 'active'")
        return self.ledger.fetch(where + " ORDER BY f.id", (uid,))

    def replaced(self, fact_ids: Sequence[int], depth: int = 8) -> dict[int, list[int]]:
        """The older facts each of `fact_ids` replaced (`supersede`), directly or through a chain of updates
        at most `depth` long, nearest first: {id: [older ids]} (an empty list for a fact that replaced none)."""
        out: dict[int, list[int]] = {int(i): [] for i in fact_ids}
        frontier = {int(i): int(i) for i in fact_ids}  # a fact reached -> the asked id it leads back to
        for _ in range(depth):
            if not frontier:
                break
            rows = self.db.conn.execute(
                "SELECT id, superseded_by FROM facts WHERE superseded_by IN (SELECT value FROM json_each(?)) "
                "ORDER BY id DESC", (json_ids(sorted(frontier)),)).fetchall()
            reached = {}
            for old, new in rows:
                asked = frontier[new]
                if old not in out[asked] and old != asked:
                    out[asked].append(old)
                    reached[old] = asked
            frontier = reached
        return out

    def users(self) -> list[str]:
        return [r[0] for r in self.db.conn.execute("SELECT name FROM users ORDER BY id")]

    # -- recall and forgetting --------------------------------------------------------------------
    # Every transition is one transaction: rows, index and event log change together. The user's index
    # is fetched (and so reconciled) inside the transaction before any row is written.
    def mark_recalled(self, fact_ids: Sequence[int], now: datetime | None = None) -> list[Fact]:
        """Reinforce facts that were actually used: stability grows, more so when retention was low."""
        at = self._now(now)
        ids = sorted({int(i) for i in fact_ids})
        with self.ledger.transaction():
            self.ledger.recall([f for f in self.ledger.existing(ids) if f.status == "active"], at)
        return self.ledger.by_ids(ids)

    def forget(self, fact_id: int, hard: bool = False, now: datetime | None = None, reason: str = "asked by the user") -> Fact:
        """Forget a fact. Soft: hidden from search, restorable. Hard: erased from every file of the store.

        Returns the fact as it is now (hard: as it was before it was erased)."""
        return self.forget_many([fact_id], hard=hard, now=now, reason=reason)[0]

    def forget_many(
        self, fact_ids: Sequence[int], hard: bool = False, now: datetime | None = None, reason: str = "asked by the user"
    ) -> list[Fact]:
        """Forget several facts in one transaction (all or none); unknown ids raise FactNotFound."""
        at = self._now(now)
        ids = list(dict.fromkeys(int(i) for i in fact_ids))
        with self.ledger.transaction():
            facts = self.ledger.existing(ids)
            for uid, group in _by_user([(f, 0.0) for f in facts], self.ledger.user_id).items():
                chosen = [f for f, _ in group if hard or f.status != "forgotten"]
                if hard:
                    self.ledger.apply_erase(uid, chosen, at, "erase", reason)
                else:
                    self.ledger.apply_status(uid, chosen, "forgotten", at, "forget", reason)
        self.ledger.after_change({self.ledger.uid_of(f) for f in facts}, erased=hard)
        by_id = {f.id: f for f in facts}
        if hard:
            return [by_id[i] for i in ids]
        current = {f.id: f for f in self.ledger.by_ids(ids)}
        return [current[i] for i in ids]

    def matching(self, query: str, user: str = "default", threshold: float | None = None) -> list[Hit]:
        """Active facts that `query` names, by meaning or by words (`forgetting.named_by`): a cosine of at
        least `threshold` (default `config.forget_threshold`) within `config.forget_margin` of the best, or
        every content word of the query in the text, or every query word the user's facts hold when those
        words say what the query says (a cosine of `config.forget_words_cover` between the query and them:
        "the dentist stuff" names every fact about the dentist). `found_by`: "dense" for meaning,
        "lexical" for words."""
        query = check_query(query, self.config.max_text_chars)
        threshold = self.config.forget_threshold if threshold is None else threshold
        if self._searchable(user) is None:
            return []
        facts = self.facts(user)
        texts = [f.text for f in facts]
        held = held_words(query, texts)
        vectors = self.embed([query, " ".join(held)] if held else [query])
        sims = self.indexes.vectors(np.array([f.id for f in facts], dtype=np.int64)) @ vectors[0]
        by_words = bool(held) and float(vectors[1] @ vectors[0]) >= self.config.forget_words_cover
        chosen = named_by(query, texts, sims, threshold, self.config.forget_margin, by_words=by_words)
        words = set(held)
        hits = [Hit(fact=facts[i], similarity=float(sims[i]), retention=1.0, score=float(sims[i]),
                    found_by=tuple(s for s, yes in (("lexical", words and words <= content_words(facts[i].text)),
                                                    ("dense", sims[i] >= threshold)) if yes) or ("dense",))
                for i in chosen]
        return sorted(hits, key=lambda h: -h.similarity)

    def forget_matching(
        self, query: str, user: str = "default", hard: bool = False, threshold: float | None = None,
        now: datetime | None = None,
    ) -> list[Fact]:
        """Forget every active fact `matching(query)`. Returns what was forgotten.

        The event log records that a forget request matched, never the query (it may quote the fact)."""
        facts = [h.fact for h in self.matching(query, user=user, threshold=threshold)]
        if not facts:
            return []
        return self.forget_many([f.id for f in facts], hard=hard, now=now, reason="matched a forget request")

    def restore(self, fact_id: int, now: datetime | None = None) -> Fact:
        """Bring back a dormant or forgotten fact: searchable again, its retention renewed."""
        at = self._now(now)
        with self.ledger.transaction():
            [fact] = self.ledger.existing([fact_id])
            uid = self.ledger.uid_of(fact)
            if fact.status != "active":
                self.ledger.apply_restore(uid, [fact], at, f"was {fact.status}")
        self.ledger.after_change({uid})
        return self.get(fact_id)

    def supersede(self, old_id: int, new_id: int, now: datetime | None = None) -> Fact:
        """Mark `old_id` as replaced by `new_id` (an update): the old fact goes dormant, linked to the new."""
        at = self._now(now)
        with self.ledger.transaction():
            old, new = self._two_of_one_user(old_id, new_id, "be superseded by")
            uid = self.ledger.uid_of(old)
            self.ledger.apply_status(uid, [old], "dormant", at, "supersede", f"replaced by fact {new.id}")
            self.db.conn.execute("UPDATE facts SET superseded_by = ? WHERE id = ?", (new.id, old.id))
        self.ledger.after_change({uid})
        return self.get(old_id)

    def _two_of_one_user(self, old_id: int, new_id: int, verb: str) -> tuple[Fact, Fact]:
        """Facts `old_id` and `new_id` (inside a transaction), which must be two facts of one user."""
        old, new = self.ledger.existing([old_id])[0], self.ledger.existing([new_id])[0]
        if old.user != new.user or old.id == new.id:
            raise InvalidInput(f"a fact can only {verb} another fact of the same user")
        return old, new

    def follow(self, new_id: int, old_id: int, now: datetime | None = None) -> Fact:
        """Record that `new_id` tells a newer version of `old_id` ("the plumber moved to friday" after "the
        plumber comes thursday"): both stay active; the new fact's `source[FOLLOWS]` names the old one
        (`Fact.follows`) and its history gets a `follow` event. Returns the new fact."""
        at = self._now(now)
        with self.ledger.transaction():
            old, new = self._two_of_one_user(old_id, new_id, "follow")
            uid = self.ledger.uid_of(new)
            self._write_source(new.id, {**(new.source or {}), FOLLOWS: old.id})
            self.ledger.log_events([(new.id, uid, "follow", at, 1.0, f"a newer version of fact {old.id}", None)])
        return self.get(new_id)

    def pin(self, fact_id: int, pinned: bool = True, now: datetime | None = None) -> Fact:
        """Pin a fact (it never fades) or unpin it."""
        at = self._now(now)
        with self.ledger.transaction():
            [fact] = self.ledger.existing([fact_id])
            uid = self.ledger.uid_of(fact)
            self.db.conn.execute("UPDATE facts SET pinned = ?, last_review = ? WHERE id = ?", (int(pinned), at, fact.id))
            self.ledger.log_events([(fact.id, uid, "pin" if pinned else "unpin", at, self.ledger.retention(fact, at), "asked by the user", None)])
        return self.get(fact_id)

    def decay(self, now: datetime | None = None, dry_run: bool = False, user: str | None = None) -> DecayReport:
        """Apply forgetting at `now`: faded facts go dormant; dormant and forgotten facts past grace are purged.
        `user`: only that user's facts (None: every user's). `dry_run`: say what it would do, change nothing.

        What is chosen and what is changed are read and written in the same transaction."""
        at = self._now(now)
        cfg = self.config.decay
        with self.ledger.transaction():
            uid = None if user is None else self.ledger.user_id(user)
            if user is not None and uid is None:
                return DecayReport(now=utc(at), dormant=[], purged=[], checked=0, dry_run=dry_run)
            checked, below = faded(self.db.conn, at, cfg, uid)
            facts = {f.id: f for f in self.ledger.by_ids([i for i, _ in below])}
            dormant = [(facts[i], r) for i, r in below]
            mine = "" if uid is None else f" AND f.user_id = {int(uid)}"
            purge = self.ledger.fetch("f.status IN ('dormant', 'forgotten') AND f.status_at <= ?" + mine
                                      + " ORDER BY f.id", (purge_cutoff(at, cfg),))
            if dry_run:
                touched: set[int] = set()
            else:
                reason = f"retention fell below {cfg.dormant_below:.2f}"
                for uid, group in _by_user(dormant, self.ledger.user_id).items():
                    self.ledger.apply_status(uid, [f for f, _ in group], "dormant", at, "decay", reason, [r for _, r in group])
                for uid, group in _by_user([(f, 0.0) for f in purge], self.ledger.user_id).items():
                    self.ledger.apply_erase(uid, [f for f, _ in group], at, "purge",
                                      f"dormant or forgotten for more than {cfg.purge_after:g} days")
                touched = {self.ledger.uid_of(f) for f, _ in dormant} | {self.ledger.uid_of(f) for f in purge}
        self.ledger.after_change(touched, erased=bool(purge) and not dry_run)
        return DecayReport(now=utc(at), dormant=dormant, purged=purge, checked=checked, dry_run=dry_run)

    # -- inspection -------------------------------------------------------------------------------
    def explain(self, fact_id: int, now: datetime | None = None) -> Explanation:
        """Retention now, stability, history, and when the fact will fade (or be purged)."""
        fact = self.get(fact_id)
        at = self._now(now)
        when = utc(at)
        cfg = self.config.decay
        fades = policy.fades_at(fact, cfg) if fact.status == "active" else None  # past, once it has faded
        purge_at = utc(fact.status_at.timestamp() + cfg.purge_after * DAY) if fact.status != "active" else None
        return Explanation(
            fact=fact, now=when, retention=self.ledger.retention(fact, at),
            fades_at=None if fades is None or fades > LATEST_TIME else utc(fades),
            purge_at=purge_at,
            forecast=policy.forecast(fact, when, cfg), events=self.history(fact_id),
            status=policy.status_at(fact, when, cfg),
        )

    def history(self, fact_id: int | None = None, user: str | None = None, limit: int | None = None) -> list[Event]:
        """The event log, oldest first: of one fact, of one user, or all of it (the last `limit` entries)."""
        return select_events(self.db.conn, fact_id, user, limit)

    def stats(self) -> Stats:
        counts: dict[str, dict[str, int]] = {}
        for name, status, n in self.db.conn.execute(
            "SELECT u.name, f.status, count(*) FROM users u LEFT JOIN facts f ON f.user_id = u.id GROUP BY u.id, f.status"
        ):
            counts.setdefault(name, {"active": 0, "dormant": 0, "forgotten": 0})
            if status:
                counts[name][status] = n
        users = []
        for name, c in counts.items():
            uid = self.ledger.user_id(name)
            index = self.indexes.loaded(uid)
            kind = index.kind if index is not None else ("saved" if self.indexes.path(uid).exists() else "none")
            users.append(UserStats(user=name, index_kind=kind, **c))
        index_dir = self.path / "index"
        return Stats(
            path=str(self.path), embedder=self.embedder.name, dim=self.embedder.dim, schema_version=LATEST,
            users=users, events=self.db.conn.execute("SELECT count(*) FROM events").fetchone()[0],
            db_bytes=sum(p.stat().st_size for p in self.path.glob("memory.db*")),
            index_bytes=sum(p.stat().st_size for p in index_dir.glob("*.faiss")) if index_dir.exists() else 0,
        )

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> Stats:
        """Rebuild every user's index from SQLite and save it; `progress(done, total)` counts facts."""
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM users ORDER BY id")]
        self.indexes.rebuild_all(ids, progress)
        return self.stats()

    # -- export and import ------------------------------------------------------------------------
    def export_jsonl(self, path: str | Path, user: str | None = None) -> int:
        """Write every fact (all users, or one) as JSON lines, vectors left out. Returns the count."""
        users = [user] if user is not None else self.users()
        facts = [f for name in users for f in self.facts(name, include_dormant=True)]
        return write_export(Path(path), facts, self.embedder.name, self.embedder.dim)

    def import_jsonl(
        self, path: str | Path, now: datetime | None = None, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Read an export, checked whole before anything is written, then written in one transaction.

        Facts already in the store (same user, same text) are skipped. `progress(done, total)` is called
        as the texts are embedded."""
        at = self._now(now)
        path = Path(path)
        records = read_records(path, self.config, at)
        seen = set(self.db.conn.execute("SELECT u.name, f.text FROM facts f JOIN users u ON u.id = f.user_id"))
        fresh = []
        for rec in records:
            if (rec.user, rec.text) not in seen:
                seen.add((rec.user, rec.text))
                fresh.append(rec)
        vectors = self._embed_with_progress([r.text for r in fresh], progress)
        touched: set[int] = set()
        inserted: list[tuple[ImportRecord, int]] = []
        with self.ledger.transaction():
            for rec, vector in zip(fresh, vectors):
                uid = self.ledger.user_id(rec.user, create=True)
                fid = self.ledger.insert(
                    uid, rec.text, vector, created_at=rec.created_at, importance=rec.importance, pinned=rec.pinned,
                    stability=rec.stability, last_review=rec.last_review, recall_count=rec.recall_count,
                    status=rec.status, status_at=rec.status_at, source=rec.source,
                    hold_until=hold_until(rec.text, utc(rec.created_at)),
                )
                self.ledger.log_events([(fid, uid, "import", at, None, "imported", None)])
                touched.add(uid)
                inserted.append((rec, fid))
            self._relink(inserted)
        for uid in sorted(touched):
            self.indexes.refresh(uid)
        return ImportReport(imported=len(fresh), skipped=len(records) - len(fresh), users=sorted({r.user for r in fresh}))

    def _relink(self, inserted: list[tuple[ImportRecord, int]]) -> None:
        """Imported facts' links (`source[FOLLOWS]`) named the ids of the store they were exported from: each
        now names the linked fact's id here, or goes when that fact was not imported with it."""
        here = {rec.exported_id: fid for rec, fid in inserted if rec.exported_id is not None}
        for rec, fid in inserted:
            if rec.source and FOLLOWS in rec.source:
                older = here.get(rec.source[FOLLOWS]) if rec.exported_id is not None else None
                source = {k: v for k, v in rec.source.items() if k != FOLLOWS}
                self._write_source(fid, source if older is None else {**source, FOLLOWS: older})

    def _write_source(self, fact_id: int, source: dict[str, Any]) -> None:
        """A fact's provenance rewritten (inside the caller's transaction); an empty one is none."""
        written = json.dumps(source) if source else None
        self.db.conn.execute("UPDATE facts SET source = ? WHERE id = ?", (written, fact_id))

    def _embed_with_progress(self, texts: list[str], progress: Callable[[int, int], None] | None) -> np.ndarray:
        """Embed in chunks of 512 so that a long import can report progress; one array, in order."""
        parts = [np.zeros((0, self.embedder.dim), np.float32)]
        for start in range(0, len(texts), 512):
            parts.append(self.embed(texts[start:start + 512]))
            if progress is not None:
                progress(min(start + 512, len(texts)), len(texts))
        return np.concatenate(parts)


def _editable(fact: Fact) -> Fact:
    if fact.status != "active":
        raise FactNotActive(fact.id, fact.status)
    return fact


def _by_user(items: list[tuple[Fact, float]], user_id: Callable[[str], int | None]) -> dict[int, list[tuple[Fact, float]]]:
    groups: dict[int, list[tuple[Fact, float]]] = {}
    for fact, r in items:
        groups.setdefault(user_id(fact.user), []).append((fact, r))
    return groups
