"""Export and import of facts as JSON lines, with their memory state; vectors are recomputed on import.

The first line of an export is a header object (`{"memchat_export": 1, ...}`); every other line is one
fact. An import file is read and checked whole before anything is written; a bad line raises
ImportFormatError naming the line, and the store is left untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from memory_store import decay as policy
from memory_store.errors import ImportFormatError, InvalidInput, StoreUnavailable
from memory_store.validate import check_importance, check_text, check_user

if TYPE_CHECKING:
    from memory_store.store import MemoryStore

FORMAT = 1
STATUSES = ("active", "dormant", "forgotten")


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped: int  # facts already in the store (same user, same text)
    users: list[str]


def export_jsonl(store: MemoryStore, path: Path, user: str | None = None) -> int:
    users = [user] if user is not None else store.users()
    lines = [json.dumps({"memchat_export": FORMAT, "embedder": store.embedder.name, "dim": store.embedder.dim})]
    for name in users:
        for fact in store.facts(name, include_dormant=True):
            lines.append(json.dumps({
                "id": fact.id, "user": fact.user, "text": fact.text,
                "created_at": fact.created_at.isoformat(), "importance": fact.importance, "pinned": fact.pinned,
                "stability": fact.stability, "last_review": fact.last_review.isoformat(),
                "recall_count": fact.recall_count, "status": fact.status, "status_at": fact.status_at.isoformat(),
                "source": fact.source,
            }, ensure_ascii=False))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StoreUnavailable(f"cannot write {path}: {e}") from e
    return len(lines) - 1


def read_records(path: Path, store: MemoryStore, now: float) -> list[dict[str, Any]]:
    """Parse and check every line; raise ImportFormatError at the first bad one."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise StoreUnavailable(f"cannot read {path}: {e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ImportFormatError(str(path), line, "not valid UTF-8") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ImportFormatError(str(path), number, f"not JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise ImportFormatError(str(path), number, "each line must be a JSON object")
        if "memchat_export" in obj:
            if obj["memchat_export"] != FORMAT:
                raise ImportFormatError(str(path), number, f"export format {obj['memchat_export']!r} is not {FORMAT}")
            continue
        try:
            records.append(_record(obj, store, now))
        except (InvalidInput, ValueError, TypeError) as e:
            raise ImportFormatError(str(path), number, str(e)) from None
    return records


def _record(obj: dict[str, Any], store: MemoryStore, now: float) -> dict[str, Any]:
    if "text" not in obj:
        raise ValueError("a fact needs a 'text' field")
    importance = check_importance(obj.get("importance", store.config.default_importance))
    status = obj.get("status", "active")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    stability = float(obj.get("stability", policy.initial_stability(importance, store.config.decay)))
    if not stability > 0:
        raise ValueError("stability must be a positive number of days")
    source = obj.get("source")
    if source is not None and not isinstance(source, dict):
        raise ValueError("source must be an object")
    return {
        "user": check_user(obj.get("user", "default")),
        "text": check_text(obj["text"], store.config.max_text_chars),
        "created_at": _time(obj.get("created_at"), now),
        "importance": importance,
        "pinned": bool(obj.get("pinned", False)),
        "stability": stability,
        "last_review": _time(obj.get("last_review"), now),
        "recall_count": int(obj.get("recall_count", 0)),
        "status": status,
        "status_at": _time(obj.get("status_at"), now),
        "source": json.dumps(source) if source else None,
    }


def _time(value: Any, default: float) -> float:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"times must be ISO-8601 strings, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


Progress = Callable[[int, int], None]  # (texts embedded so far, total)
CHUNK = 512  # texts embedded between progress reports


def embed_with_progress(store: MemoryStore, texts: list[str], progress: Progress | None) -> np.ndarray:
    """Embed in chunks so that a long import can show progress; one array, in order."""
    parts = [np.zeros((0, store.embedder.dim), np.float32)]
    for start in range(0, len(texts), CHUNK):
        parts.append(store.embed(texts[start:start + CHUNK]))
        if progress is not None:
            progress(min(start + CHUNK, len(texts)), len(texts))
    return np.concatenate(parts)


def import_jsonl(store: MemoryStore, path: Path, now: float, progress: Progress | None = None) -> ImportReport:
    records = read_records(path, store, now)
    existing = {
        (user, text) for user, text in store.db.conn.execute("SELECT u.name, f.text FROM facts f JOIN users u ON u.id = f.user_id")
    }
    fresh, seen = [], set(existing)
    for rec in records:
        key = (rec["user"], rec["text"])
        if key not in seen:
            seen.add(key)
            fresh.append(rec)
    vectors = embed_with_progress(store, [r["text"] for r in fresh], progress)
    users = sorted({r["user"] for r in fresh})
    touched: list[int] = []
    with store._write():
        for i, rec in enumerate(fresh):
            uid = store._user_id(rec["user"], create=True)
            cur = store.db.conn.execute(
                "INSERT INTO facts (user_id, text, vector, created_at, importance, pinned, stability, last_review, "
                "recall_count, status, status_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, rec["text"], vectors[i].tobytes(), rec["created_at"], rec["importance"], int(rec["pinned"]),
                 rec["stability"], rec["last_review"], rec["recall_count"], rec["status"], rec["status_at"],
                 rec["source"]),
            )
            store._log([(cur.lastrowid, uid, "import", now, None, f"imported from {path.name}", None)])
            touched.append(uid)
    for uid in sorted(set(touched)):
        store.indexes.refresh(uid)
    return ImportReport(imported=len(fresh), skipped=len(records) - len(fresh), users=users)
