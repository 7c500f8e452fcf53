"""Which remembered fact answers a question: a pair classifier over sentence embeddings (`pairs.py`).

The generator learned to match a question to a fact by their words, which fails on phrasings it never saw
("Remind me what my mother is called." against "My mother is Bakari."). The store's embedding model
carries paraphrase; the answer finder reads the question's and the fact's embeddings and says whether the
fact answers the question. It is trained on pairs written from the TRAIN split of the relation catalogue
(`relations.py`): a question of one relation against a statement of the same relation (any of its
phrasings, update phrasings included, with random values) is a positive; against a statement of another
relation a negative, half of them hard ones (another relative, or a relation with a value of the same
kind: "Where does my sister live?" against "My brother lives in Rome." or "I was born in Rome."). The
epoch is chosen on dev pairs of another seed; pairs from the EVAL split's phrasings are scored as a
held-out figure only. One rule stays in front of it as a veto: a fact about another relative never
answers a question about one (`consolidation.about_someone_else`).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from .consolidation import about_someone_else, people_of
from .errors import ConfigError
from .pairs import Embed, FitConfig, Pair, PairClassifier, PairConfig, embedded, fit, load_classifier, prf
from .personal_data import CASUAL
from .relations import Catalogue, Relation, Split, catalogue, render
from .training import Progress, save_checkpoint
from .vocab import Vocab

CHECKPOINT_KIND = "answer-finder"
AnswerFinder = PairClassifier  # (question, remembered fact) -> P(the fact answers the question)


@dataclass(frozen=True)
class AnswerTrainConfig:
    seed: int = 0
    questions: int = 20000  # questions drawn, each paired with one fact that answers it and `negatives` that do not
    negatives: int = 4
    hard: float = 0.5  # share of negatives from a relation sharing a value kind with the question's, or a relative
    dev_questions: int = 2000  # train split, another seed: the epoch is chosen on them
    fit: FitConfig = FitConfig(epochs=30)
    finder: PairConfig = PairConfig(dropout=0.3)

    def __post_init__(self) -> None:
        if min(self.questions, self.dev_questions) < 1 or self.negatives < 0:
            raise ConfigError("questions and dev_questions must be 1 or more, negatives 0 or more")
        if not 0 <= self.hard <= 1:
            raise ConfigError(f"hard is a share between 0 and 1, not {self.hard}")


def answer_pairs(split: Split, questions: int, negatives: int, hard: float, seed: int) -> list[Pair]:
    """(question, fact, 1 if the fact answers it) written from one split's phrasings and values."""
    book = catalogue(split)
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
    dev: dict[str, float]  # precision, recall, f1 (%) of the chosen epoch on dev pairs (train phrasings)
    held_out: dict[str, float]  # the same on pairs of the EVAL split's phrasings and values (not used to choose)
    best_epoch: int
    pairs: dict[str, int]
    seconds: float


def train_answer_finder(config: AnswerTrainConfig, embed: Embed, embedder: str, out: Path,
                        progress: Progress | None = None) -> AnswerTrainResult:
    """Train the answer finder on train-split pairs embedded with `embed` (the model named `embedder`),
    keep the best dev epoch (F1), score it on eval-split pairs and save it to `out`."""
    train_pairs = answer_pairs("train", config.questions, config.negatives, config.hard, config.seed)
    dev_pairs = answer_pairs("train", config.dev_questions, config.negatives, config.hard, -1 - config.seed)
    fitted = fit(train_pairs, dev_pairs, embed, config.finder, config.fit, config.seed, progress, "answer finder")
    held_out = score_pairs(fitted.model, answer_pairs("eval", config.dev_questions, config.negatives, config.hard,
                                                      config.seed), embed, progress)
    result = AnswerTrainResult(fitted.dev, held_out, fitted.best_epoch, fitted.pairs, fitted.seconds)
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=fitted.model, config=config.finder, vocab=Vocab.build([]),
                    metrics={"recipe": dataclasses.asdict(config), "embedder": embedder, "dev": result.dev,
                             "held_out": result.held_out, "best_epoch": result.best_epoch, "pairs": result.pairs,
                             "seconds": round(result.seconds, 1)})
    return result


def score_pairs(model: PairClassifier, pairs: Sequence[Pair], embed: Embed, progress: Progress | None = None) -> dict[str, float]:
    """Precision, recall and F1 (%) of `model` on labelled pairs."""
    texts = sorted({t for a, b, _ in pairs for t in (a, b)})
    vectors = embedded(texts, embed, progress)
    row = {t: i for i, t in enumerate(texts)}
    with torch.no_grad():
        logits = model(vectors[[row[a] for a, _, _ in pairs]], vectors[[row[b] for _, b, _ in pairs]])
    truth = torch.tensor([y for *_, y in pairs], dtype=torch.bool)
    return prf(torch.sigmoid(logits) >= model.config.threshold, truth)


def choose_answer(question: str, facts: Sequence[str], probabilities: Sequence[float], threshold: float) -> int | None:
    """Which fact answers the question: the most probable one not about someone else, if it reaches
    `threshold` (None: no fact answers it)."""
    allowed = [(p, -i) for i, (fact, p) in enumerate(zip(facts, probabilities))
               if p >= threshold and not about_someone_else(question, fact)]
    return -max(allowed)[1] if allowed else None


def load_finder(path: Path) -> tuple[AnswerFinder, dict]:
    """A saved answer finder and its metrics (which name the embedding model it was trained with)."""
    return load_classifier(path, CHECKPOINT_KIND)
