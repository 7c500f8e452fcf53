"""Which remembered fact answers a question: what each is about, by a classifier over sentence embeddings.

The generator learned to match a question to a fact by their words, which fails on phrasings it never saw
("Remind me what my mother is called." against "Bakari, my mother, lives in Puebla."). The store's
embedding model carries paraphrase; the answer finder reads one embedding at a time and says which of the
catalogue's relations (`lab/relations.py`: sister, home city, favourite food, car, ...) the sentence is about,
or none of them (small talk, anything else). A fact answers a question when both are about the same
relation: P = sum over relations r of P(r | question) * P(r | fact), "none" left out.

A first version scored (question, fact) pairs with an MLP (`pairs.py`, as the update detector does); it
learned the training templates: 81 % of held-out questions found their fact. One softmax over relations
is a far simpler function of the embedding and finds 96 %, at a third of the false answers: questions and
statements of a relation lie together in MiniLM's space whatever their wording.

Trained by `lab/answer_training.py`. One rule stays in front of it as a veto: a fact about another relative
never answers a question about one (`consolidation.about_someone_else`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint
from .consolidation import about_someone_else
from .errors import CheckpointError, ConfigError

CHECKPOINT_KIND = "answer-finder"
NONE = "none"  # the class of sentences about no relation of the catalogue


@dataclass(frozen=True)
class FinderConfig:
    dim: int = 384  # the embedding model's (all-MiniLM-L6-v2)
    relations: tuple[str, ...] = ()  # the classes: the catalogue's relation keys, then NONE
    # P(answers) at or above which a fact answers a question. On the train split's held-out ("check")
    # phrasings 0.3 finds the answering fact for 97 % of questions and a wrong one for under 1 %.
    threshold: float = 0.3


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
