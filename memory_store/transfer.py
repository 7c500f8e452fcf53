"""Export and import files: facts with their memory state as JSON lines (vectors are recomputed on import).

The first line of an export is a header object (`{"memchat_export": 1, ...}`); every other line is one
fact. An import file is read and checked whole before anything is written; a bad line raises
ImportFormatError naming the line. This module only reads and writes files; the store does the rest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from memory_store import decay as policy
from memory_store.config import StoreConfig
from memory_store.errors import ImportFormatError, InvalidInput, StoreUnavailable
from memory_store.privacy import private_opener
from memory_store.records import Fact
from memory_store.validate import check_importance, check_text, check_user

FORMAT = 1
STATUSES = ("active", "dormant", "forgotten")
LATEST_TIME = datetime(9000, 1, 1, tzinfo=timezone.utc).timestamp()


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped: int  # facts already in the store (same user, same text)
    users: list[str]


@dataclass(frozen=True)
class ImportRecord:
    """One checked line of an import file, times in epoch seconds."""

    user: str
    text: str
    created_at: float
    importance: float
    pinned: bool
    stability: float
    last_review: float
    recall_count: int
    status: str
    status_at: float
    source: dict[str, Any] | None
    exported_id: int | None = None  # the fact's id in the store it was exported from (links name it)


def write_export(path: Path, facts: Iterable[Fact], embedder: str, dim: int) -> int:
    """Write the facts atomically (a temporary file, then a rename). Returns how many."""
    lines = [json.dumps({"memchat_export": FORMAT, "embedder": embedder, "dim": dim})]
    for fact in facts:
        lines.append(json.dumps({
            "id": fact.id, "user": fact.user, "text": fact.text,
            "created_at": fact.created_at.isoformat(), "importance": fact.importance, "pinned": fact.pinned,
            "stability": fact.stability, "last_review": fact.last_review.isoformat(),
            "recall_count": fact.recall_count, "status": fact.status, "status_at": fact.status_at.isoformat(),
            "source": fact.source,
        }, ensure_ascii=False))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", opener=private_opener) as f:  # an export is as private as the store
            f.write("\n".join(lines) + "\n")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StoreUnavailable(f"cannot write {path}: {e}") from e
    return len(lines) - 1


def read_records(path: Path, config: StoreConfig, now: float) -> list[ImportRecord]:
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
    # Only "\n" ends a line: JSON strings may hold U+2028 and friends, which splitlines() would split on.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
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
            records.append(_record(obj, config, now))
        except (InvalidInput, ValueError, TypeError) as e:
            raise ImportFormatError(str(path), number, str(e)) from None
    return records


def _record(obj: dict[str, Any], config: StoreConfig, now: float) -> ImportRecord:
    if "text" not in obj:
        raise ValueError("a fact needs a 'text' field")
    importance = check_importance(_number(obj, "importance", config.default_importance))
    status = obj.get("status", "active")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    stability = _number(obj, "stability", float(policy.initial_stability(importance, config.decay)))
    if not 0 < stability <= config.decay.max_stability_cap:
        raise ValueError(f"stability must be a number of days in (0, {config.decay.max_stability_cap:g}]")
    pinned = obj.get("pinned", False)
    if not isinstance(pinned, bool):
        raise ValueError(f"pinned must be true or false, not {pinned!r}")
    recalls = obj.get("recall_count", 0)
    if isinstance(recalls, bool) or not isinstance(recalls, int) or recalls < 0:
        raise ValueError(f"recall_count must be a whole number >= 0, not {recalls!r}")
    source = obj.get("source")
    if source is not None and not isinstance(source, dict):
        raise ValueError("source must be an object")
    return ImportRecord(
        user=check_user(obj.get("user", "default")), text=check_text(obj["text"], config.max_text_chars),
        created_at=_time(obj.get("created_at"), now), importance=importance, pinned=pinned, stability=stability,
        last_review=_time(obj.get("last_review"), now), recall_count=recalls, status=status,
        status_at=_time(obj.get("status_at"), now), source=source,
        exported_id=obj["id"] if isinstance(obj.get("id"), int) and not isinstance(obj.get("id"), bool) else None,
    )


def _number(obj: dict[str, Any], key: str, default: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, not {value!r}")
    return float(value)


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
    if not 0 <= parsed.timestamp() <= LATEST_TIME:
        raise ValueError(f"{value!r} lies outside 1970-9000")
    return parsed.timestamp()
