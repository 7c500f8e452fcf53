"""Training texts through MiniLM once: each distinct text's sentence vector and contextual word vectors
(`memory_store.Words`), as the runtime gets them from `MemoryStore.embed_words`."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from memory_store import MiniLMEmbedder, Words

Progress = Callable[[int, int], None]  # (done, total)


def encode(texts: Iterable[str], embedder: MiniLMEmbedder | None = None, batch: int = 256,
           progress: Progress | None = None, cache: Path | None = None, middle: bool = False
           ) -> dict[str, tuple[np.ndarray, Words]]:
    """{text: (sentence vector, word vectors as float16)} for every distinct text; with `middle`, each
    word's middle-layer state too (`Words.middle`, the joint reader's input). `cache`: a file of earlier
    results to start from (only the texts it lacks are embedded), written back when done."""
    embedder = embedder or MiniLMEmbedder()
    out: dict[str, tuple[np.ndarray, Words]] = {}
    if cache is not None and Path(cache).exists():
        out = pickle.loads(Path(cache).read_bytes())
    distinct = [t for t in dict.fromkeys(texts)
                if t not in out or (middle and getattr(out[t][1], "middle", None) is None)]
    for start in range(0, len(distinct), batch):
        chunk = distinct[start:start + batch]
        sentences, words = embedder.embed_words(chunk)
        for text, s, w in zip(chunk, sentences, words):
            kept = w.middle.astype(np.float16) if middle and w.middle is not None else None
            out[text] = (s, Words(w.text, w.pieces, w.spans, w.vectors.astype(np.float16), kept))
        if progress is not None:
            progress(min(start + batch, len(distinct)), len(distinct))
        if cache is not None and (start // batch) % 40 == 39:  # a killed run keeps most of its work
            _save(out, Path(cache))
    if cache is not None and distinct:
        _save(out, Path(cache))
    return out


def _save(vectors: dict, path: Path) -> None:
    """Write the cache whole or not at all (another run may read it)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(vectors, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
