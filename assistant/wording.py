"""What a reply says about memory: that it stored, updated or does not know something, in the user's
own words said back in the second person, and never a memory operation that did not happen."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory_store import Fact

from .consolidation import adds
from .text import opens_sentence, second_person, tokenize

CLAIMS_MEMORY = re.compile(r"\b(?:I'll remember|I've (?:updated|forgotten|saved|noted)|I (?:have )?forgot|"
                           r"I've got it|noted|got it|for the update|here is what I know)\b", re.I)
NOTHING_DONE = "I see. Tell me about yourself, or ask me what I remember."  # a reply that claimed a memory
# operation on a turn that did none (small talk the generator took for a statement)
SAYS_UNKNOWN = re.compile(r"\b(?:don'?t|do not) know\b|\bhaven'?t told\b|\bnot sure\b", re.I)
NOT_KNOWING = {"don't", "do", "not", "know", "haven't", "have", "told", "sure", "sorry", "yet", "anything", "about",
               "what", "where", "who", "when", "which", "how", "whether", "if", "i'm", "am"}  # words of not knowing
_ACKNOWLEDGING = {"ok", "okay", "thanks", "thank", "great", "sure", "got", "noted", "i'll", "i've", "remember",
                  "updated",
                  "update", "will", "you're", "you've", "you'd", "so", "right", "alright", "cool", "nice"}
ALL_OF_IT = {"everything", "all", "all of it", "it all", "all of that", "everything you know", "everything i told you",
             "everything you remember", "me", "myself", "everything about me"}  # "forget everything": not at once
FORGET_ONE_BY_ONE = ("I won't forget everything at once. Tell me what to forget (\"forget that my sister lives in "
                     "Lisbon\", \"forget everything about my car\"), or see /facts and /forget ID.")
NOT_TOLD = "I don't know, you haven't told me."  # a question no fact answers, when the generated reply would
# name something from memory anyway, or would not say it does not know


def acknowledged(answer: str, stored: Sequence[Fact], replaced: Sequence[Fact]) -> str:
    """A reply that says what memory did: a telling turn's restates the fact it stored word for word and
    says "updated" only for an update (else "Ok, I'll remember that ..." / "Ok, I've updated that: ..."),
    and no other turn's claims a memory operation."""
    if stored:
        said = " and ".join(lower_first(second_person(f.text).rstrip(".!")) for f in stored)
        restated = (_words(said) in _words(answer) and bool(re.search(r"\bupdat", answer, re.I)) == bool(replaced)
                    and not adds(answer, " ".join(f.text for f in stored)) - _ACKNOWLEDGING)  # "... a bike called bike"
        if restated:
            return answer
        return f"Ok, I've updated that: {said}." if replaced else f"Ok, I'll remember that {said}."
    return NOTHING_DONE if CLAIMS_MEMORY.search(answer) else answer


def _words(text: str) -> str:
    return " ".join(w for w in tokenize(text) if w.isalnum() or "'" in w)


def lower_first(text: str) -> str:
    """A sentence to go inside another: its first word lower-cased unless it is a name or "I"."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return text[:1].lower() + text[1:] if opens_sentence(first.strip(",;:")) and first != "I" else text
