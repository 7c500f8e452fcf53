"""Training the answer finder (`assistant.answers`): which of the catalogue's relations a sentence is about.

Trained on sentences written from the TRAIN split of the catalogue (questions, and statements told or
as news with random values) and the train-split small talk (as "none"); the epoch is chosen on phrasings
held out of the train split ("check": a quarter of each relation's questions and statements), and pairs
from the EVAL split's phrasings are scored as a held-out figure only.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from assistant.answers import CHECKPOINT_KIND, NONE, AnswerFinder, FinderConfig
from assistant.checkpoint import save_checkpoint
from assistant.errors import ConfigError
from assistant.kin import people_of
from assistant.vocab import Vocab

from .pair_training import Embed, Pair, embedded, prf
from .personal_data import CASUAL, small_talk_pairs
from .relations import Catalogue, Phrasings, Relation, Split, catalogue, phrasings_part, render
from .training import Progress


@dataclass(frozen=True)
class AnswerTrainConfig:
    seed: int = 0
    sentences: int = 30000  # statements, questions and forget topics drawn (2:1:1), about random relations
    small_talk: int = 4  # times each train-split small-talk line is added as a "none" sentence
    dev_sentences: int = 3000  # the train split's "check" phrasings, another seed: the epoch is chosen on them
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-2

    def __post_init__(self) -> None:
        if min(self.sentences, self.dev_sentences, self.epochs, self.batch_size) < 1 or self.small_talk < 0:
            raise ConfigError("sentences, dev_sentences, epochs and batch_size must be 1 or more, small_talk 0 or more")


def relation_sentences(split: Split, count: int, seed: int, small_talk: int = 0,
                       phrasings: Phrasings = "all") -> list[tuple[str, str]]:
    """(sentence, relation key or NONE): `count` statements, questions and forget topics ("my pet", "Forget
    everything about my pet.") about random relations, written from one split's phrasings and values, and
    the split's small-talk lines `small_talk` times as NONE.
    "fit" and "check" split the phrasings once more (a quarter of each relation's questions and
    statements are "check"), to choose the epoch on phrasings never trained on without the EVAL split."""
    book = phrasings_part(catalogue(split), phrasings)
    rng = random.Random(f"relation-sentences:{split}:{seed}")
    out = []
    for i in range(count):
        relation = rng.choice(book.relations)
        if i % 4 == 3:  # what a forget request names: "my pet", as the user says it or bare
            topic = rng.choice(book.forget_topic).format(topic=relation.topic) if rng.random() < 0.5 else relation.topic
            out.append((_cased(topic[:1].upper() + topic[1:], rng), relation.key))
        elif i % 2:
            asked = relation.questions[rng.choice(list(relation.questions))]
            out.append((_cased(rng.choice(asked), rng), relation.key))
        else:
            out.append((_fact(relation, book, rng), relation.key))
    talk = sorted({line for pair in small_talk_pairs(split) for line in pair})
    return out + [(line, NONE) for line in talk] * small_talk


def answer_pairs(split: Split, questions: int, negatives: int, hard: float, seed: int,
                 phrasings: Phrasings = "all") -> list[Pair]:
    """(question, fact, 1 if the fact answers it) written from one split's phrasings and values; "fit" and
    "check" split the phrasings once more (a quarter of each relation's questions and statements are
    "check"), to choose how the finder is used on phrasings it never saw without touching the EVAL split."""
    book = phrasings_part(catalogue(split), phrasings)
    rng = random.Random(f"answer-pairs:{split}:{seed}")
    family = {r.key for r in book.relations if people_of(r.topic)}  # the relatives ("my sister", ...)
    pairs: list[Pair] = []
    for _ in range(questions):
        relation = rng.choice(book.relations)
        slot = rng.choice(list(relation.questions))
        question = _cased(rng.choice(relation.questions[slot]), rng)
        pairs.append((question, _fact(relation, book, rng), 1))
        near = [r for r in book.relations if r is not relation and (
            set(r.slots.values()) & set(relation.slots.values()) or {r.key, relation.key} <= family)]
        others = [r for r in book.relations if r is not relation]
        for _ in range(negatives):
            other = rng.choice(near if near and rng.random() < hard else others)
            pairs.append((question, _fact(other, book, rng), 0))
    return pairs


def _fact(relation: Relation, book: Catalogue, rng: random.Random) -> str:
    """A stored fact of `relation` as a user would have told it (told or as news), random values."""
    template = rng.choice(relation.statements + relation.updates)
    return _cased(render(template, {slot: rng.choice(book.values[kind]) for slot, kind in relation.slots.items()}), rng)


def _cased(text: str, rng: random.Random) -> str:
    return text.lower().rstrip(".?!") if rng.random() < CASUAL else text


@dataclass(frozen=True)
class AnswerTrainResult:
    dev_accuracy: float  # % of dev sentences (held-out phrasings of the train split) given their relation
    dev: dict[str, float]  # precision, recall, f1 (%) of answering, at the threshold, on dev pairs
    held_out: dict[str, float]  # the same on pairs of the EVAL split's phrasings and values (not used to choose)
    best_epoch: int
    sentences: int
    seconds: float


def train_answer_finder(config: AnswerTrainConfig, embed: Embed, embedder: str, out: Path,
                        progress: Progress | None = None) -> AnswerTrainResult:
    """Train the finder on train-split sentences embedded with `embed` (the model named `embedder`), keep
    the epoch that classifies the held-out phrasings best, score answering on pairs and save it to `out`."""
    start = time.perf_counter()
    relations = (*(r.key for r in catalogue("train").relations), NONE)
    index = {key: i for i, key in enumerate(relations)}
    train_set = relation_sentences("train", config.sentences, config.seed, config.small_talk, "fit")
    dev_set = relation_sentences("train", config.dev_sentences, -1 - config.seed, 1, "check")
    texts = sorted({t for t, _ in train_set + dev_set})
    vectors = embedded(texts, embed, progress)
    row = {t: i for i, t in enumerate(texts)}
    x, y = vectors[[row[t] for t, _ in train_set]], torch.tensor([index[k] for _, k in train_set])
    dev_x, dev_y = vectors[[row[t] for t, _ in dev_set]], torch.tensor([index[k] for _, k in dev_set])
    torch.manual_seed(config.seed)
    model = AnswerFinder(FinderConfig(dim=vectors.shape[1], relations=relations))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    best, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, config.epochs + 1):
        model.train()
        for rows in torch.randperm(len(y), generator=order).split(config.batch_size):
            loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = 100.0 * float((model(dev_x).argmax(dim=-1) == dev_y).float().mean())
        if accuracy > best:
            best, best_epoch, best_state = accuracy, epoch, {k: v.clone() for k, v in model.state_dict().items()}
        if progress is not None:
            progress("answer finder epochs", epoch, config.epochs)
    model.load_state_dict(best_state)
    model.eval()
    dev = score_pairs(model, answer_pairs("train", config.dev_sentences // 5, 4, 0.5, -1 - config.seed, "check"), embed)
    held_out = score_pairs(model, answer_pairs("eval", config.dev_sentences // 5, 4, 0.5, config.seed), embed)
    result = AnswerTrainResult(best, dev, held_out, best_epoch, len(train_set), time.perf_counter() - start)
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=model, config=model.config, vocab=Vocab.build([]),
                    metrics={"recipe": dataclasses.asdict(config), "embedder": embedder,
                             "dev_accuracy": round(best, 2), "dev": dev, "held_out": held_out,
                             "best_epoch": best_epoch, "sentences": len(train_set),
                             "seconds": round(result.seconds, 1)})
    return result


def score_pairs(model: AnswerFinder, pairs: Sequence[Pair], embed: Embed) -> dict[str, float]:
    """Precision, recall and F1 (%) of "the fact answers the question" on labelled pairs."""
    texts = sorted({t for a, b, _ in pairs for t in (a, b)})
    vectors = embedded(texts, embed, None).numpy()
    row = {t: i for i, t in enumerate(texts)}
    guess = torch.tensor([model.probabilities(vectors[row[a]], vectors[row[b]])[0] >= model.config.threshold
                          for a, b, _ in pairs])
    return prf(guess, torch.tensor([bool(y) for *_, y in pairs]))
