"""Reading facts and events out of SQLite rows, and appending to the event log."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from memory_store.records import Event, Fact

FACT_COLUMNS = (
    "f.id, u.name, f.text, f.created_at, f.importance, f.pinned, f.stability, f.last_review, "
    "f.recall_count, f.status, f.status_at, f.superseded_by, f.source, f.hold_until"
)
FACT_FROM = "facts f JOIN users u ON u.id = f.user_id"


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def json_ids(ids: Iterable[Any]) -> str:
    """A JSON array of ids, for `id IN (SELECT value FROM json_each(?))` (no limit on how many)."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def fact_from_row(row: Sequence[Any]) -> Fact:
    return Fact(
        id=row[0], user=row[1], text=row[2], created_at=utc(row[3]), importance=row[4], pinned=bool(row[5]),
        stability=row[6], last_review=utc(row[7]), recall_count=row[8], status=row[9], status_at=utc(row[10]),
        superseded_by=row[11], source=json.loads(row[12]) if row[12] else None,
        hold_until=None if row[13] is None else utc(row[13]),
    )


def select_facts(conn: sqlite3.Connection, where: str, params: Sequence[Any] = ()) -> list[Fact]:
    rows = conn.execute(f"SELECT {FACT_COLUMNS} FROM {FACT_FROM} WHERE {where}", params).fetchall()
    return [fact_from_row(r) for r in rows]


def append_events(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Append events: (fact_id, user_id, kind, at, retention, reason, detail dict or None)."""
    conn.executemany(
        "INSERT INTO events (fact_id, user_id, kind, at, retention, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*r[:6], json.dumps(r[6]) if r[6] else None) for r in rows],
    )


def select_events(
    conn: sqlite3.Connection, fact_id: int | None = None, user: str | None = None, limit: int | None = None
) -> list[Event]:
    """Events oldest first: of one fact, of one user, or all (the last `limit` of them)."""
    where, params = [], []
    if fact_id is not None:
        where.append("e.fact_id = ?")
        params.append(int(fact_id))
    if user is not None:
        where.append("u.name = ?")
        params.append(user)
    sql = (
        "SELECT e.id, e.fact_id, u.name, e.kind, e.at, e.retention, e.reason, e.detail, v.text "
        "FROM events e JOIN users u ON u.id = e.user_id "
        "LEFT JOIN fact_versions v ON e.kind = 'edit' AND v.id = json_extract(e.detail, '$.version')"
        + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY e.id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    rows = conn.execute(sql, params).fetchall()
    return [
        Event(id=r[0], fact_id=r[1], user=r[2], kind=r[3], at=utc(r[4]), retention=r[5], reason=r[6],
              detail=json.loads(r[7]) if r[7] else {}, replaced_text=r[8])
        for r in reversed(rows)
    ]
