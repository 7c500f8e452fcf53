"""Which remembered fact answers a question: what each is about, by a classifier over sentence embeddings.

The generator learned to match a question to a fact by their words, which fails on phrasings it never saw
("Remind me what my mother is called." against "Bakari, my mother, lives in Puebla."). The store's
embedding model carries paraphrase; the answer finder reads one embedding at a time and says which of the
catalogue's relations (`relations.py`: sister, home city, favourite food, car, ...) the sentence is about,
or none of them (small talk, anything else). A fact answers a question when both are about the same
relation: P = sum over relations r of P(r | question) * P(r | fact), "none" left out.

A first version scored (question, fact) pairs with an MLP (`pairs.py`, as the update detector does); it
learned the training templates: 81 % of held-out questions found their fact. One softmax over relations
is a far simpler function of the embedding and finds 96 %, at a third of the false answers: questions and
statements of a relation lie together in MiniLM's space whatever their wording.

Trained on sentences written from the TRAIN split of the catalogue (questions, and statements told or
as news with random values) and the train-split small talk (as "none"); the epoch is chosen on phrasings
held out of the train split ("check": a quarter of each relation's questions and statements), and pairs
from the EVAL split's phrasings are scored as a held-out figure only. One rule stays in front of it as a
veto: a fact about another relative never answers a question about one (`consolidation.about_someone_else`).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .consolidation import about_someone_else
from .kin import people_of
from .errors import CheckpointError, ConfigError
from .pairs import Embed, Pair, embedded, prf
from .personal_data import CASUAL, small_talk_pairs
from .relations import Catalogue, Phrasings, Relation, Split, catalogue, phrasings_part, render
from .training import Progress, load_checkpoint, save_checkpoint
from .vocab import Vocab

CHECKPOINT_KIND = "answer-finder"
NONE = "none"  # the class of sentences about no relation of the catalogue


@dataclass(frozen=True)
class FinderConfig:
    dim: int = 384  # the embedding model's (all-MiniLM-L6-v2)
    relations: tuple[str, ...] = ()  # the classes: the catalogue's relation keys, then NONE
    # P(answers) at or above which a fact answers a question. On the train split's held-out ("check")
    # phrasings 0.3 finds the answering fact for 97 % of questions and a wrong one for under 1 %.
    threshold: float = 0.3


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


class AnswerFinder(nn.Module):
    """P(relation | sentence) over the catalogue's relations and NONE: multinomial logistic regression on
    the sentence's embedding."""

    def __init__(self, config: FinderConfig):
        super().__init__()
        if not config.relations or config.relations[-1] != NONE:
            raise ConfigError(f"the finder's classes end with {NONE!r}, not {config.relations[-1:]}")
        self.config = config
        self.classes = nn.Linear(config.dim, len(config.relations))

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        """Logits (B, relations) of unit embeddings (B, dim)."""
        return self.classes(vectors)

    @torch.no_grad()
    def about(self, vectors: np.ndarray) -> torch.Tensor:
        """P(relation | sentence) (n, relations) of embeddings (n, dim)."""
        self.eval()
        # a copy: the store's rows are read-only
        rows = torch.tensor(np.asarray(vectors, dtype=np.float32)).reshape(-1, self.config.dim)
        return torch.softmax(self(rows), dim=-1)

    def probabilities(self, question: np.ndarray, facts: np.ndarray) -> list[float]:
        """P(each fact answers the question): both about the same relation of the catalogue."""
        asked, told = self.about(question), self.about(facts)  # (1, R), (n, R)
        return (told[:, :-1] * asked[:, :-1]).sum(dim=-1).tolist()

    def apart(self, first: np.ndarray, others: np.ndarray, sure: float, none_counts: bool = False) -> list[bool]:
        """Whether a sentence and each of several are surely about different relations: each is about one
        relation of the catalogue (not NONE) with P >= `sure`, and not the same one. `none_counts`: the
        others may also be surely about NONE ("I'm Tom." is apart from "my job"); the first never is."""
        one, many = self.about(first)[0], self.about(others)  # (R,), (n, R)
        none = len(self.config.relations) - 1

        def placed(p: torch.Tensor, none_is_a_place: bool = False) -> int | None:
            best = int(p.argmax())
            return best if (none_is_a_place or best != none) and float(p[best]) >= sure else None

        mine = placed(one)
        return [mine is not None and (theirs := placed(p, none_counts)) is not None and theirs != mine for p in many]

    def relation(self, vector: np.ndarray) -> tuple[str, float]:
        """The relation a sentence is most likely about, and its probability."""
        p = self.about(vector)[0]
        return self.config.relations[int(p.argmax())], float(p.max())


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


def choose_answer(question: str, facts: Sequence[str], probabilities: Sequence[float], threshold: float,
                  similarities: Sequence[float] | None = None, margin: float = 0.15) -> int | None:
    """Which fact answers the question: the most probable one not about someone else, if it reaches
    `threshold` (None: no fact answers it). Facts the finder cannot tell apart (within `margin` of the most
    probable: two facts about your sister, where she lives and what she does) go by their `similarities`
    to the question, where given: the embedding knows "What does my sister do?" is nearer "My sister
    works as a nurse." than "My sister lives in Berlin."."""
    allowed = [(p, -i) for i, (fact, p) in enumerate(zip(facts, probabilities))
               if p >= threshold and not about_someone_else(question, fact)]
    if not allowed:
        return None
    best = -max(allowed)[1]
    if similarities is None:
        return best
    close = [-i for p, i in allowed if p >= probabilities[best] - margin]
    return max(close, key=lambda i: (similarities[i], -i))


def load_finder(path: Path) -> tuple[AnswerFinder, dict]:
    """A saved answer finder and its metrics (which name the embedding model it was trained with)."""
    saved = load_checkpoint(Path(path), kind=CHECKPOINT_KIND)
    try:
        config = FinderConfig(**{**saved.config, "relations": tuple(saved.config["relations"])})
        model = AnswerFinder(config)
        model.load_state_dict(saved.state)
    except (TypeError, KeyError, RuntimeError, ConfigError) as e:
        raise CheckpointError(f"{path} is not an answer finder this version can load: {e}") from e
    return model.eval(), saved.metrics
