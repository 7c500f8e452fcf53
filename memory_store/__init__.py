"""memchat's long-term memory: facts in SQLite, FAISS similarity search, and a forgetting policy.

    from memory_store import MemoryStore
    store = MemoryStore.open("~/memchat")
    store.add("My sister Ana lives in Lisbon.")
    store.search("where does my sister live?", k=3)
"""

from memory_store.config import DecayConfig, IndexConfig, SearchConfig, StoreConfig
from memory_store.embedder import Embedder, MiniLMEmbedder
from memory_store.minilm import Words
from memory_store.errors import (
    EmbedderMismatch,
    FactNotActive,
    FactNotFound,
    ImportFormatError,
    IndexCorrupt,
    InvalidInput,
    MemoryStoreError,
    StoreUnavailable,
)
from memory_store.records import FOLLOWS, DecayReport, Event, Explanation, Fact, Hit, Stats, UserStats
from memory_store.store import MemoryStore
from memory_store.transfer import ImportReport

__all__ = [
    "FOLLOWS", "DecayConfig", "DecayReport", "Embedder", "EmbedderMismatch", "Event", "Explanation", "Fact", "FactNotActive",
    "FactNotFound", "Hit", "ImportFormatError", "ImportReport", "IndexConfig", "IndexCorrupt", "InvalidInput", "MemoryStore",
    "MemoryStoreError", "MiniLMEmbedder", "SearchConfig", "Stats", "StoreConfig", "StoreUnavailable", "UserStats", "Words",
]
