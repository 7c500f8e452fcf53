"""What a user's turn asks of memory: remember, forget, recall, list, or nothing (small talk).

Rules, no LLM: explicit requests ("remember that ...", "forget everything about ...", "what do you
know about me?") are recognised by their wording; a question is a turn that ends with "?" or opens like
one; a statement is stored only when it is about the user or their world (first person, or naming
someone or something); greetings, thanks and other small talk are never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["remember", "forget", "list", "question", "statement", "small_talk", "help", "exit"]

POLITE = r"(?:(?:please|pls|could you|can you|would you|you can|you may|now|i'?d like you to|i want you to)[, ]+)*"
REMEMBER = re.compile(
    rf"^{POLITE}(?:remember|note(?: down)?|keep in mind|don'?t forget|do not forget|make a note|take note|"
    r"for the record|just so you know|fyi|for your information|(?:something )?you should know(?: about me)?)"
    r"\b(?:\s+that)?[:,]?\s+(?P<text>.+)$", re.I)
FORGET_VERB = r"(?:forget|delete|erase|remove|wipe|drop|clear|scratch|stop remembering|don'?t keep|do not keep)"
TOPIC = (r"(?P<all>everything|anything|all|whatever|what(?:ever)? (?:i told you|i've told you|you know|you remember|"
         r"you have)|all (?:of )?your notes|your notes|the notes)(?:\s+(?:you know|you remember|i told you|you have))?"
         r"\s+(?:about|on|regarding|concerning)\s+(?P<topic>.+)")
FACT = r"(?:(?:the )?(?:fact|memory|note|thing)\s+)?(?:that|about)\s+(?P<text>.+)"
FORGET = re.compile(
    rf"^{POLITE}{FORGET_VERB}\s+(?:from\s+(?:your\s+)?memory\s+)?(?:{TOPIC}|{FACT}|"
    r"(?P<object>.+?)\s+from\s+(?:your\s+)?(?:memory|notes)[.!]*|(?P<bare>.+))$", re.I)
NOT_REMEMBER = re.compile(  # "I don't want you to remember anything about my car", "dont remember ... my mum"
    r"^(?:please\s+)?(?:i (?:don'?t|do not) want you to|(?:don'?t|do not|stop))\s+"
    r"(?:remember|remembering|keep|know)\s+(?:anything|everything|what i told you)\s+(?:about|on|regarding)\s+"
    r"(?P<topic>.+?)(?:\s+any\s?more)?[.!]*$", re.I)
LIST = re.compile(
    r"^(?:what\s+do\s+you\s+(?:know|remember)\s*[?.!]*$|(?:list|show)\s+(?:me\s+)?(?:my\s+|all\s+|the\s+)?"
    r"(?:facts|memories)|what\s+have\s+i\s+told\s+you)", re.I)
ABOUT_ME = re.compile(r"\babout\s+(?:me|myself)\b", re.I)
MEMORY_WORDS = re.compile(r"\b(?:know|remember|stored|saved|noted|told|learned|learnt|facts|things|notes)\b", re.I)
QUESTION = re.compile(
    r"^(?:who|what|where|when|why|how|which|whose|whom|is|are|am|was|were|do|does|did|can|could|will|would|"
    r"should|have|has|had|tell me|remind me|whats|wheres|whos|hows|whens|wat|wot|wht|wut)\b"  # typed in a hurry
    # "on which day is my birthday", "since when do I ..." (not "For what it's worth, I ...")
    r"|^(?:on|in|at|from|to|for|with|by|since|until|about) (?:which|what|whom|whose|when|where|how)(?: \w+){0,2} "
    r"(?:do|does|did|is|are|was|were|am|can|could|will|would|have|has|had)\b", re.I)
SMALL_TALK = re.compile(
    r"^(?:hi|hello|hey|yo|thanks|thank you|thx|ok|okay|cool|great|nice|bye|goodbye|see you|good (?:morning|"
    r"afternoon|evening|night)|how are you|lol|yes|no|sure)\b[\s\w]{0,12}[.!?]*$", re.I)
FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|im|ive|me|my|mine|myself|we|we're|our|ours|us)\b", re.I)


@dataclass(frozen=True)
class Intent:
    kind: Kind
    text: str  # the fact to store, the query to forget or recall, or the turn itself
    everything: bool = False  # "forget everything about ...": every match, not only the best
    facts: tuple[str, ...] = ()  # the facts a telling turn says, one by one (the turn model cuts them); ()
    # when the word rules split `text` themselves (`clauses`)


def classify(turn: str) -> Intent:
    """What `turn` asks of memory. Questions about memory itself come before ordinary questions."""
    text = " ".join(turn.split())
    if not text:
        return Intent("small_talk", "")
    if m := REMEMBER.match(text):
        return Intent("remember", _clean(m["text"]))
    if m := NOT_REMEMBER.match(text):
        return Intent("forget", _clean(m["topic"]), everything=True)
    if m := FORGET.match(text):
        if m["topic"] or m["object"]:
            return Intent("forget", _clean(m["topic"] or m["object"]), everything=True)
        return Intent("forget", _clean(m["text"] or m["bare"]))
    if LIST.match(text) or (ABOUT_ME.search(text) and MEMORY_WORDS.search(text)):
        return Intent("list", text)
    if SMALL_TALK.match(text):
        return Intent("small_talk", text)
    if text.endswith("?") or QUESTION.match(text):
        return Intent("question", text)
    if worth_storing(text):
        return Intent("statement", text)
    return Intent("small_talk", text)


def worth_storing(text: str) -> bool:
    """About the user or their world: first person, or a name (a capitalised word after the first)."""
    words = text.split()
    named = any(w[:1].isupper() and w.strip(".,!?;:").isalpha() for w in words[1:])
    return bool(FIRST_PERSON.search(text)) or named


def _clean(text: str) -> str:
    """A quoted fact as a sentence: capitalised, one full stop."""
    text = text.strip().rstrip(".!").strip()
    return text[:1].upper() + text[1:] + "."
