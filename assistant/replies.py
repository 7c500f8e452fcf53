"""What a chat turn returns: the reply, with the memories it recalled, stored, replaced or forgot."""

from __future__ import annotations

from dataclasses import dataclass

from memory_store import Fact


@dataclass(frozen=True)
class Recalled:
    """A fact read for a reply."""

    fact: Fact
    similarity: float  # to the user's turn
    retention: float  # at the time of the turn
    attention: float  # the most copy-pointer mass its words got at any step of the reply
    used: bool  # the reply used it (attention above the threshold, or a word copied from it)
    answers: float | None = None  # P(it answers the question) by the answer finder (None: not asked); a
    # question's reply reads only the fact the finder chose, the others are listed unused
    found_by: tuple[str, ...] = ()  # the searches that found it ("lexical", "dense"; `Hit.found_by`)


@dataclass(frozen=True)
class Reply:
    text: str
    intent: str  # what the turn asked of memory: remember, forget, list, question, statement, small_talk
    recalled: tuple[Recalled, ...] = ()
    stored: tuple[Fact, ...] = ()  # facts this turn stored (or reinforced, when said again)
    replaced: tuple[Fact, ...] = ()  # older facts this turn's statement updated (now dormant, linked)
    forgotten: tuple[Fact, ...] = ()
    answer: str = ""  # the words of the answering memory that answer a question ("" when none)
    edited: tuple[Fact, ...] = ()  # memories a forget request took an item out of, as they are now
    removed: tuple[str, ...] = ()  # ... and the items taken out ("take the batteries off the list")
