"""The errors of the long-term memory store: one base class, one subclass per condition a caller can handle."""

from __future__ import annotations


class MemoryStoreError(Exception):
    """Base class: every error the store raises on purpose. Its message tells the user what to do."""


class InvalidInput(MemoryStoreError, ValueError):
    """An argument is out of range or malformed (empty text, k <= 0, importance outside [0, 1], ...)."""


class FactNotFound(MemoryStoreError, LookupError):
    """No fact with this id exists (it never did, or it was erased)."""

    def __init__(self, fact_id: int):
        super().__init__(f"no fact with id {fact_id}; list ids with `memchat facts --all`")
        self.fact_id = fact_id


class FactNotActive(MemoryStoreError):
    """The fact is dormant or forgotten, so it cannot be edited until it is restored."""

    def __init__(self, fact_id: int, status: str):
        super().__init__(
            f"fact {fact_id} is {status} and cannot be edited; bring it back with `memchat restore {fact_id}` first"
        )
        self.fact_id, self.status = fact_id, status


class EmbedderMismatch(MemoryStoreError):
    """The store was built with another embedding model or dimension than the one offered."""


class StoreUnavailable(MemoryStoreError):
    """The store directory cannot be created, read or written, or is not a memchat store."""


class ImportFormatError(MemoryStoreError):
    """An import file is malformed; nothing was imported."""

    def __init__(self, path: str, line: int, problem: str):
        super().__init__(f"{path}, line {line}: {problem}; nothing was imported")
        self.path, self.line, self.problem = path, line, problem


class IndexCorrupt(MemoryStoreError):
    """An index file could not be read; the store rebuilds it from SQLite when this happens."""
