"""The SQLite schema as numbered migrations, and the connection settings every store uses.

Never edit a migration that has shipped: add the next number. `PRAGMA user_version` records how far
a database has been migrated.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

from memory_store.errors import StoreUnavailable

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        );
        CREATE TABLE facts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the event log outlives erased facts
            user_id INTEGER NOT NULL REFERENCES users(id),
            text TEXT NOT NULL,
            vector BLOB NOT NULL,             -- float32, unit length, the embedder's dimension
            created_at REAL NOT NULL,         -- epoch seconds, UTC
            importance REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            stability REAL NOT NULL,          -- days
            last_review REAL NOT NULL,
            recall_count INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dormant', 'forgotten')),
            status_at REAL NOT NULL,
            superseded_by INTEGER REFERENCES facts(id) ON DELETE SET NULL,
            source TEXT                       -- JSON provenance, e.g. {"session": "...", "turn": 3}
        );
        CREATE INDEX facts_user_status ON facts (user_id, status);
        CREATE INDEX facts_superseded_by ON facts (superseded_by);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            fact_id INTEGER,                  -- no foreign key: the log outlives erased facts
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            at REAL NOT NULL,
            retention REAL,
            reason TEXT NOT NULL DEFAULT '',
            detail TEXT                       -- JSON, never a fact's text
        );
        CREATE INDEX events_fact ON events (fact_id);
        """,
    ),
    (
        2,
        """
        CREATE TABLE fact_versions (                -- a fact's earlier texts, kept when it is edited
            id INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: an index file records the newest edit it holds
            fact_id INTEGER NOT NULL REFERENCES facts(id) ON DELETE CASCADE,  -- erased with the fact
            text TEXT NOT NULL,                     -- the text the edit replaced
            replaced_at REAL NOT NULL               -- epoch seconds, UTC
        );
        CREATE INDEX fact_versions_fact ON fact_versions (fact_id);
        """,
    ),
    (
        3,
        """
        -- a fact about a dated event (a birthday, an appointment) does not fade before the day has passed:
        -- hold_until is the end of that day in epoch seconds, UTC (NULL: no date to keep). No comment may
        -- follow the column: SQLite copies the definition into the table's CREATE statement.
        ALTER TABLE facts ADD COLUMN hold_until REAL
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]


def connect(path: str) -> sqlite_utils.Database:
    """Open the database with the settings the store relies on (WAL, full sync, secure delete)."""
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")  # a committed fact survives a power cut
    conn.execute("PRAGMA secure_delete = ON")  # erased text is overwritten, not left in free pages
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 60000")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB of page cache: search touches rows all over the file
    conn.execute("PRAGMA mmap_size = 1073741824")  # read through the OS page cache without copying
    return sqlite_utils.Database(conn)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every migration newer than the database, each in its own transaction. Returns the version."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > LATEST:
            raise StoreUnavailable(
                f"this store has schema version {version}, newer than this memchat understands ({LATEST}); "
                "upgrade memchat"
            )
        for number, sql in MIGRATIONS:
            if number > version:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
                version = number
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    return [chunk for chunk in sql.split(";") if _has_code(chunk)]


def _has_code(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())
