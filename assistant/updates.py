"""Whether a new statement updates a remembered fact: a small classifier over sentence embeddings.

Rules on words (`consolidation.about`) miss most paraphrases: "I relocated to Cebu." updates "Home for me
is Gothenburg." with no word in common. The detector reads the two statements' embeddings (the store's
own embedding model); `lab/update_training.py` trains it. Two rules stay in front of it as vetoes:
a fact about another relative is never replaced, and the same fact said again is a reinforcement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .consolidation import kinds_of, opposite_feelings, other_aspects, restates
from .kin import other_names, people_of
from .pairs import PairClassifier, load_classifier

CHECKPOINT_KIND = "update-detector"
UpdateDetector = PairClassifier  # (new statement, remembered fact) -> P(the statement updates the fact)


ACQUIRED = re.compile(r"\b(?:new|got|adopted|adopt|took in|take in|bought|rescued|welcomed)\b", re.I)
KEEPS = re.compile(r"\b(?:my|our|have|has|got|own|owns|adopted|took in|pet|called|named)\b", re.I)  # a pet kept
ADDED = re.compile(r"\b(?:also|too|as well|in addition|besides)\b", re.I)  # "I also have a cat": one more fact


def vetoed(new: str, old: str) -> bool:
    """The rules no probability overrides: a fact about someone else (another relative, or a relative
    against the user themself, or another relative of the same kin by name: "my brother Sam" and "my
    brother Tom"), another kind of thing about the same relative by the word rules (where they live and
    what they work as), a dislike against a liking, the same fact said again, or one said as an addition
    ("I also ...")."""
    asked, named = people_of(new), people_of(old)
    return (bool((asked or named) and not asked & named) or other_names(new, old) or restates(new, old)
            or other_aspects(new, old) or opposite_feelings(new, old) or bool(ADDED.search(new)))


def another_pet(new: str, old: str) -> bool:
    """Whether a statement names a pet (or vehicle: `consolidation.kinds_of`) of another kind than an older
    one, and says nothing of getting a new one: "My cat is called Pepper." is a second pet beside "My dog is
    called Biscuit." ("We adopted a cat." or "Our new pet is a cat." may be news on it; a favourite animal
    is no pet)."""
    one, other = kinds_of(new), kinds_of(old)
    kept = all(KEEPS.search(text) and not re.search(r"\bfavou?rite\b", text, re.I) for text in (new, old))
    return bool(one and other) and kept and not one & other and not ACQUIRED.search(new)


def choose_update(new: str, candidates: Sequence[str], chances: Sequence[float]) -> int | None:
    """Which of the candidate facts a statement updates: the likeliest one not vetoed (a statement updates
    at most one fact; a tie goes to the nearer, earlier one). `chances`: each candidate's score, higher for
    likelier, 0 where no model's threshold was reached."""
    allowed = [(p, -i) for i, (old, p) in enumerate(zip(candidates, chances)) if p > 0 and not vetoed(new, old)]
    return -max(allowed)[1] if allowed else None


def passing(probability: float, threshold: float | None) -> float:
    """The probability where it reaches the threshold, else 0 (and 0 without a threshold)."""
    return probability if threshold is not None and probability >= threshold else 0.0


def load_detector(path: Path) -> tuple[UpdateDetector, dict]:
    """A saved detector and its metrics (which name the embedding model it was trained with)."""
    return load_classifier(path, CHECKPOINT_KIND)
