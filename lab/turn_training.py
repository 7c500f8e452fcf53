"""The recipe of the shipped turn model (`assistant/models/turns.pt`): data from `turn_data`, MiniLM word
vectors, a plain seeded loop with gradient clipping, the epoch chosen on a development set drawn from
DailyDialog's validation split and other draws of the same sources."""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from assistant.checkpoint import load_checkpoint, save_checkpoint
from assistant.errors import ConfigError
from assistant.vocab import PAD, UNK, Vocab
from assistant.turns import CHECKPOINT_KIND, KINDS, TAGS, TurnConfig, TurnModel, batch
from memory_store import MiniLMEmbedder, Words

from .turn_data import TurnExample, turn_examples
from .word_vectors import encode
from .written_data import training_conversations, written_turns

Log = Callable[[str], None]


@dataclass(frozen=True)
class TurnTrainConfig:
    seed: int = 0
    examples: int = 24000  # labelled turns drawn for training
    dev_examples: int = 2000  # drawn with another seed, DailyDialog's validation split
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    clip: float = 1.0
    hidden: int = 128
    written: int = 3  # each line of the hand-written training conversations (`written_turns`), this many times

    def __post_init__(self) -> None:
        if self.written < 0:
            raise ConfigError("written must be 0 or more")
        if min(self.examples, self.dev_examples, self.epochs, self.batch_size, self.hidden) < 1 or self.lr <= 0:
            raise ConfigError("examples, dev_examples, epochs, batch_size and hidden must be 1 or more, lr above 0")


def piece_tags(words: Words, spans: Sequence[tuple[int, int]] | None) -> list[int]:
    """B/I/O for each piece: B for the first piece inside a span, I for the rest, O outside every span;
    without spans (None: not known), -100 for each, which the loss and the scores skip."""
    if spans is None:
        return [-100] * len(words.spans)
    tags = []
    for start, end in words.spans:
        inside = next((i for i, (a, b) in enumerate(spans) if a <= start and end <= b), None)
        if inside is None:
            tags.append(TAGS.index("O"))
        else:
            fresh = not tags or tags[-1] == TAGS.index("O") or _span_of(words, len(tags) - 1, spans) != inside
            tags.append(TAGS.index("B") if fresh else TAGS.index("I"))
    return tags


def _span_of(words: Words, i: int, spans: Sequence[tuple[int, int]]) -> int | None:
    start, end = words.spans[i]
    return next((j for j, (a, b) in enumerate(spans) if a <= start and end <= b), None)


def _tensors(examples: Sequence[TurnExample], vectors: dict) -> list[tuple[Words, np.ndarray, int, list[int]]]:
    out = []
    for e in examples:
        sentence, words = vectors[e.text]
        out.append((words, sentence, KINDS.index(e.kind), piece_tags(words, e.spans)))
    return out


def _batches(rows: list, size: int, rng: random.Random | None):
    order = list(range(len(rows)))
    if rng is not None:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        chosen = [rows[i] for i in order[start:start + size]]
        x, mask, s = batch([r[0] for r in chosen], np.stack([r[1] for r in chosen]))
        kinds = torch.tensor([r[2] for r in chosen])
        tags = torch.full(mask.shape, -100, dtype=torch.long)
        for i, r in enumerate(chosen):
            tags[i, : len(r[3])] = torch.tensor(r[3], dtype=torch.long)
        yield x, mask, s, kinds, tags


def evaluate(model: TurnModel, rows: list) -> dict[str, float]:
    """Kind accuracy, and exact-match of the facts cut (every fact span right) on telling and forget turns."""
    model.eval()
    right = total = spans_right = spans_total = 0
    tag_right = tag_total = 0
    with torch.no_grad():
        for x, mask, s, kinds, tags in _batches(rows, 256, None):
            k, t = model(x, mask, s)
            right += int((k.argmax(-1) == kinds).sum())
            total += len(kinds)
            chosen = t.argmax(-1)
            valid = tags != -100
            tag_right += int(((chosen == tags) & valid).sum())
            tag_total += int(valid.sum())
            has = (tags > 0).any(dim=1)
            exact = ((chosen == tags) | ~valid).all(dim=1)
            spans_right += int((exact & has).sum())
            spans_total += int(has.sum())
    model.train()
    return {"kind_accuracy": right / max(total, 1), "tag_accuracy": tag_right / max(tag_total, 1),
            "facts_exact": spans_right / max(spans_total, 1)}


def train_turn_model(config: TurnTrainConfig, data: Path, out: Path, log: Log | None = None,
                     progress: Callable[[int, int], None] | None = None, cache: Path | None = None) -> dict:
    """Train, keep the epoch best on the development set, save to `out`; returns the metrics saved."""
    started = time.time()
    say = log or (lambda _m: None)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    train = turn_examples(data, config.examples, config.seed, "train")
    if config.written:
        train += written_turns(training_conversations(), config.written)
    seen = {e.text for e in train}
    dev = [e for e in turn_examples(data, config.dev_examples, config.seed + 1, "validation") if e.text not in seen]
    say(f"{len(train)} training turns, {len(dev)} development turns; embedding them")
    vectors = encode([e.text for e in [*train, *dev]], progress=progress, cache=cache)
    rows, dev_rows = _tensors(train, vectors), _tensors(dev, vectors)
    model = TurnModel(TurnConfig(hidden=config.hidden))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    best, best_state, history = -1.0, None, []
    for epoch in range(1, config.epochs + 1):
        model.train()
        total = 0.0
        for x, mask, s, kinds, tags in _batches(rows, config.batch_size, rng):
            k, t = model(x, mask, s)
            loss = nn.functional.cross_entropy(k, kinds) + nn.functional.cross_entropy(
                t.reshape(-1, len(TAGS)), tags.reshape(-1), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            total += float(loss.detach()) * len(kinds)
        metrics = evaluate(model, dev_rows)
        history.append({"epoch": epoch, "loss": total / len(rows), **metrics})
        say(f"epoch {epoch}: loss {total / len(rows):.4f}, dev kind {metrics['kind_accuracy']:.3f}, "
            f"tags {metrics['tag_accuracy']:.3f}, facts exact {metrics['facts_exact']:.3f}")
        score = metrics["kind_accuracy"] + metrics["facts_exact"]
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    chosen = max(history, key=lambda h: h["kind_accuracy"] + h["facts_exact"])
    metrics = {"embedder": MiniLMEmbedder.name, "epoch": chosen["epoch"], "dev": {k: chosen[k] for k in (
        "kind_accuracy", "tag_accuracy", "facts_exact")}, "history": history, "seconds": round(time.time() - started),
        "train_config": config.__dict__, "data": "Synthetic-Persona-Chat test personas (CC BY 4.0), DailyDialog "
        "train (CC BY-NC-SA 4.0), SQuAD 2.0/1.1 dev training articles (CC BY-SA 4.0), DREAM train, the catalogue's "
        "train split" + (", the hand-written training conversations (lab/training_conversations)" if config.written
                         else "")}
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=model, config=model.config, vocab=Vocab((PAD, UNK)), metrics=metrics)  # reads word vectors, no vocabulary
    return metrics


def ensemble(paths: Sequence[Path], out: Path) -> dict:
    """One checkpoint holding the turn models at `paths` (trained alike, e.g. with other seeds or data
    draws), whose probabilities the runtime averages; the metrics list each member's."""
    members = [load_checkpoint(Path(p), kind=CHECKPOINT_KIND) for p in paths]
    if len({json.dumps(m.config, sort_keys=True) for m in members}) != 1:
        raise ConfigError("the members of an ensemble must share one config")
    model = TurnModel(TurnConfig(**{**members[0].config, "kinds": tuple(members[0].config["kinds"])}))
    holder = nn.Module()
    for i, m in enumerate(members):
        one = TurnModel(model.config)
        one.load_state_dict(m.state)
        holder.add_module(str(i), one)
    metrics = {"embedder": members[0].metrics["embedder"], "members": len(members),
               "member_metrics": [{k: m.metrics.get(k) for k in ("dev", "epoch", "seconds", "train_config")}
                                  for m in members], "data": members[0].metrics.get("data"),
               "seconds": sum(int(m.metrics.get("seconds", 0)) for m in members)}
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=holder, config=model.config, vocab=Vocab((PAD, UNK)),
                    metrics=metrics)
    return metrics


def train_turn_ensemble(config: TurnTrainConfig, data: Path, out: Path, members: int = 3, log: Log | None = None,
                        progress: Callable[[int, int], None] | None = None, cache: Path | None = None) -> dict:
    """The shipped recipe: `members` turn models with seeds config.seed, config.seed + 1, ... (each its
    own draw of the data), saved as one ensemble at `out`."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(members):
            path = Path(folder) / f"member{i}.pt"
            train_turn_model(dataclasses.replace(config, seed=config.seed + i), data, path, log, progress, cache)
            paths.append(path)
        return ensemble(paths, out)
