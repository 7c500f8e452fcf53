"""Whether a new statement updates a remembered fact: a small classifier over sentence embeddings.

Rules on words (`consolidation.about`) miss most paraphrases: "I relocated to Cebu." updates "Home for me
is Gothenburg." with no word in common. The detector reads the two statements' embeddings (the store's
own embedding model) and is trained on memchat's conversations (`personal_data`, TRAIN split): every
update against the fact it replaces is a positive; every statement against the user's other facts of
that moment (other relations, other relatives) is a negative; so are pairs of facts of two relations
that share a value ("I work at a bakery in Lisbon." does not update "I live in Lisbon."), which
conversations rarely hold but which look most like updates. Two rules stay in front of it as vetoes:
a fact about another relative is never replaced, and the same fact said again is a reinforcement.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .consolidation import people_of, restates
from .errors import CheckpointError, ConfigError
from .personal_data import Conversation, conversations
from .relations import Catalogue, Relation, catalogue, render
from .training import Progress, load_checkpoint, save_checkpoint
from .vocab import Vocab

CHECKPOINT_KIND = "update-detector"
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit rows, e.g. MemoryStore.embed


@dataclass(frozen=True)
class UpdateConfig:
    dim: int = 384  # the embedding model's (all-MiniLM-L6-v2)
    hidden: int = 256
    threshold: float = 0.5  # probability above which a statement updates a fact


@dataclass(frozen=True)
class UpdateTrainConfig:
    seed: int = 0
    conversations: int = 6000  # train-split conversations the pairs come from (3000 gave dev F1 88, 1000 80)
    shared_value_pairs: int = 8000  # negatives: two relations' statements sharing a value (each both ways)
    dev_conversations: int = 300  # train split, another seed: the epoch is chosen on them
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    detector: UpdateConfig = UpdateConfig()

    def __post_init__(self) -> None:
        if min(self.conversations, self.dev_conversations, self.epochs, self.batch_size) < 1:
            raise ConfigError("conversations, dev_conversations, epochs and batch_size must be 1 or more")


class UpdateDetector(nn.Module):
    def __init__(self, config: UpdateConfig = UpdateConfig()):
        super().__init__()
        self.config = config
        self.net = nn.Sequential(nn.Linear(3 * config.dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))

    def forward(self, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
        """Logits (B,) that `new` (B, dim) updates `old` (B, dim); both unit embeddings."""
        return self.net(torch.cat([new * old, (new - old).abs(), new + old], dim=-1)).squeeze(-1)

    @torch.no_grad()
    def probabilities(self, new: np.ndarray, old: np.ndarray) -> list[float]:
        """P(update) of one new statement's embedding (dim,) against each old fact's (n, dim)."""
        self.eval()
        old_t = torch.tensor(np.asarray(old, dtype=np.float32)).reshape(-1, self.config.dim)  # a copy: store
        new_t = torch.tensor(np.asarray(new, dtype=np.float32)).reshape(1, -1).expand_as(old_t)  # rows are read-only
        return torch.sigmoid(self(new_t, old_t)).tolist()


def vetoed(new: str, old: str) -> bool:
    """The rules no probability overrides: a fact about someone else (another relative, or a relative
    against the user themself), or the same fact said again."""
    asked, named = people_of(new), people_of(old)
    return bool((asked or named) and not asked & named) or restates(new, old)


def shared_value_pairs(count: int, seed: int) -> list[tuple[str, str, int]]:
    """`count` statements of one relation paired both ways with one of another relation that shares a
    value with it (the same city, name, ...): never an update. From the TRAIN split's phrasings and values."""
    book = catalogue("train")
    rng = random.Random(f"shared-values:{seed}")
    by_kind: dict[str, list] = {}
    for relation in book.relations:
        for kind in set(relation.slots.values()):
            by_kind.setdefault(kind, []).append(relation)
    shared = [kind for kind, relations in by_kind.items() if len(relations) > 1]
    pairs: list[tuple[str, str, int]] = []
    while shared and len(pairs) < 2 * count:
        kind = rng.choice(shared)
        first, second = rng.sample(by_kind[kind], 2)
        value = rng.choice(book.values[kind])
        texts = [_statement(relation, value, kind, book, rng) for relation in (first, second)]
        pairs += [(texts[0], texts[1], 0), (texts[1], texts[0], 0)]
    return pairs


def _statement(relation: Relation, value: str, kind: str, book: Catalogue, rng: random.Random) -> str:
    template = rng.choice(relation.statements)
    values = {slot: value if slot_kind == kind else rng.choice(book.values[slot_kind])
              for slot, slot_kind in relation.slots.items()}
    return render(template, values)


def update_pairs(convs: Sequence[Conversation]) -> list[tuple[str, str, int]]:
    """(new statement, remembered fact, 1 if the statement updates it) from replaying conversations."""
    pairs = []
    for conversation in convs:
        by_text = {fact.text: fact for fact in conversation.facts}
        memory: dict[str, str] = {}  # relation -> fact text
        for turn in conversation.turns:
            e = turn.expect
            if e.kind in ("tell", "update"):
                for relation, text in memory.items():
                    pairs.append((e.fact, text, int(e.kind == "update" and relation == e.relation)))
                memory[e.relation] = by_text[e.fact].text
            elif e.kind == "forget":
                memory.pop(e.relation, None)
    return pairs


@dataclass(frozen=True)
class UpdateTrainResult:
    dev: dict[str, float]  # precision, recall, f1 (%) of the chosen epoch on dev pairs
    best_epoch: int
    pairs: dict[str, int]  # train/dev pairs and positives
    seconds: float


def train_update_detector(config: UpdateTrainConfig, embed: Embed, embedder: str, out: Path,
                          progress: Progress | None = None) -> UpdateTrainResult:
    """Embed the pairs of train-split conversations with `embed` (the embedding model named `embedder`),
    train the detector, keep the best dev epoch (F1) and save it to `out`."""
    start = time.perf_counter()
    train_pairs = update_pairs(conversations("train", config.conversations, seed=config.seed))
    train_pairs += shared_value_pairs(config.shared_value_pairs, config.seed)
    dev_pairs = update_pairs(conversations("train", config.dev_conversations, seed=-1 - config.seed))
    texts = sorted({t for pairs in (train_pairs, dev_pairs) for new, old, _ in pairs for t in (new, old)})
    vectors = _embedded(texts, embed, progress)
    row = {t: i for i, t in enumerate(texts)}

    def tensors(pairs):
        new = vectors[[row[n] for n, _, _ in pairs]]
        old = vectors[[row[o] for _, o, _ in pairs]]
        return new, old, torch.tensor([y for _, _, y in pairs], dtype=torch.float32)

    train_new, train_old, train_y = tensors(train_pairs)
    dev_new, dev_old, dev_y = tensors(dev_pairs)
    torch.manual_seed(config.seed)
    model = UpdateDetector(config.detector)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    positives = float(train_y.sum())
    weight = torch.tensor((len(train_y) - positives) / max(positives, 1.0))  # balance the rare positives
    order = torch.Generator().manual_seed(config.seed)
    best, best_epoch, best_state = {"f1": -1.0}, 0, None
    for epoch in range(1, config.epochs + 1):
        model.train()
        for rows in torch.randperm(len(train_y), generator=order).split(config.batch_size):
            logits = model(train_new[rows], train_old[rows])
            loss = nn.functional.binary_cross_entropy_with_logits(logits, train_y[rows], pos_weight=weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            guess = torch.sigmoid(model(dev_new, dev_old)) >= config.detector.threshold
        scores = _prf(guess, dev_y.bool())
        if scores["f1"] > best["f1"]:
            best, best_epoch, best_state = scores, epoch, {k: v.clone() for k, v in model.state_dict().items()}
        if progress is not None:
            progress("update detector epochs", epoch, config.epochs)
    model.load_state_dict(best_state)
    result = UpdateTrainResult(best, best_epoch, {"train": len(train_y), "train_updates": int(positives),
                                                  "dev": len(dev_y), "dev_updates": int(dev_y.sum())},
                               time.perf_counter() - start)
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=model, config=config.detector, vocab=Vocab.build([]),
                    metrics={"recipe": dataclasses.asdict(config), "embedder": embedder, "dev": best, "best_epoch": best_epoch,
                             "pairs": result.pairs, "seconds": round(result.seconds, 1)})
    return result


def choose_update(new: str, candidates: Sequence[str], probabilities: Sequence[float], threshold: float) -> int | None:
    """Which of the candidate facts a statement updates: the most probable one not vetoed, if it reaches
    `threshold` (a statement updates at most one fact)."""
    allowed = [(p, i) for i, (old, p) in enumerate(zip(candidates, probabilities)) if p >= threshold and not vetoed(new, old)]
    return max(allowed)[1] if allowed else None


def load_detector(path: Path) -> tuple[UpdateDetector, dict]:
    """A saved detector and its metrics (which name the embedding model it was trained with)."""
    saved = load_checkpoint(Path(path), kind=CHECKPOINT_KIND)
    try:
        model = UpdateDetector(UpdateConfig(**saved.config))
        model.load_state_dict(saved.state)
    except (TypeError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not a detector this version can load: {e}") from e
    return model.eval(), saved.metrics


def _embedded(texts: list[str], embed: Embed, progress: Progress | None, chunk: int = 256) -> torch.Tensor:
    parts = []
    for n, i in enumerate(range(0, len(texts), chunk), start=1):
        parts.append(np.asarray(embed(texts[i : i + chunk]), dtype=np.float32))
        if progress is not None:
            progress("embedding statements", n, math.ceil(len(texts) / chunk))
    return torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0, 0)


def _prf(guess: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    tp = float((guess & truth).sum())
    precision = tp / max(float(guess.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1}
