"""memchat's own conversations about a user's personal facts: scripted dialogues with what each reply
must and must not say, the generator's training examples drawn from them, and small talk.

A conversation is written from one split of the relation catalogue (`relations.py`): the user tells 3-8
facts (some as "Remember that ...", some casually in lower case), chats, asks about them, asks about
things never told, updates and forgets some and asks again, and asks what the assistant knows. Each turn
carries an `Expectation` an evaluation checks the assistant's reply against, and the scripted reply.

`training_examples` replays conversations through a simulated memory: a fact is stored when told,
replaced when updated and removed when forgotten, and each reply is generated from the facts a
retrieval would return (the relevant one, when stored, among other facts of the user) and the recent
turns. Small talk comes from the English part of the `chatterbot-corpus` package.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from assistant.errors import ConfigError, DataFormatError, DataNotFoundError
from assistant.lines import Line

from .dialog_babi import Example
from .relations import SPLITS, Catalogue, Phrasings, Relation, Split, catalogue, in_split, phrasings_part, render

Kind = Literal["tell", "ask", "ask_unknown", "update", "ask_updated", "forget", "ask_forgotten", "small_talk", "list"]

TELL_REPLIES = ("Got it, {a}.", "Ok, I'll remember that.", "Noted: {a}.", "Thanks, I'll remember that {a}.",
                "Okay, I've saved that.")
UPDATE_REPLIES = ("Ok, I've updated that: {a}.", "Thanks for the update, {a}.", "Got it, {a} now.")
FORGET_REPLIES = ("Ok, I've forgotten that {a}.", "Done, I forgot that {a}.", "Alright, I have forgotten that {a}.")
FORGOT = ("forgot", "forgotten")  # every forget reply says one (answers match whole words)
UNKNOWN_REPLIES = ("I don't know {u}.", "Sorry, I don't know {u}.", "You haven't told me {u}.",
                   "I'm not sure, you haven't told me {u}.")
DONT_KNOW = ("don't know", "haven't told")  # every unknown reply says one of these
LIST_OPENER = "Here is what I know about you:"
NOTHING_KNOWN = "I don't know anything about you yet."

CASUAL = 0.15  # chance a user line is typed in lower case without a final stop
REMEMBER = 0.35  # chance a fact is told with a "Remember that ..." wrapper
NOT_SMALL_TALK = ("coding.yml", "tech_support.yml", "trivia.yml")  # corpus files of code, help desk and quiz
_PERSONAL = re.compile(r"^\s*i\b|\b(my|mine|remember|forget|forgot)\b", re.IGNORECASE)
_MAX_WORDS = 25


@dataclass(frozen=True)
class Expectation:
    """What a reply must do: contain one of `answers` (none: anything goes) and none of `forbidden`, both
    case-insensitive substrings."""

    kind: Kind
    answers: tuple[str, ...] = ()  # e.g. ("Lisbon",): at least one must appear in the reply
    forbidden: tuple[str, ...] = ()  # values the reply must not contain (unknown, forgotten, replaced)
    fact: str | None = None  # the fact text the turn stores (tell, update), asks about (ask*) or removes (forget)
    relation: str | None = None  # the relation the turn is about, e.g. "sister"
    gone: tuple[str, ...] = ()  # of those, the values of the fact asked about that was forgotten or replaced


@dataclass(frozen=True)
class Turn:
    user: str
    expect: Expectation
    reply: str  # the scripted bot reply (for "list": every stored fact; training lists only those recalled)


@dataclass(frozen=True)
class StatedFact:
    """A fact as the user stated it, and the bot's sentence about it."""

    relation: str
    text: str  # stored verbatim: "My sister Ana lives in Lisbon." (without "Remember that"/"Actually")
    answer: str  # "Your sister Ana lives in Lisbon."
    values: dict[str, str] = field(hash=False)  # slot -> value as written in `text`


@dataclass(frozen=True)
class Conversation:
    turns: tuple[Turn, ...]
    facts: tuple[StatedFact, ...]  # every fact stated, in order, replaced and forgotten ones included


def conversations(split: Split, count: int, seed: int, phrasings: Phrasings = "all") -> list[Conversation]:
    """`count` conversations written only from `split`'s phrasings and values, the same for the same seed
    (`phrasings`: only one part of the split's questions and statements, `relations.phrasings_part`)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, not {split!r}")
    if count < 0:
        raise ConfigError(f"count must be 0 or more, not {count}")
    book, talk = phrasings_part(catalogue(split), phrasings), small_talk_pairs(split)
    rng = random.Random(f"{split}:{seed}" if phrasings == "all" else f"{split}:{phrasings}:{seed}")
    return [_Script(book, talk, rng).write() for _ in range(count)]


def training_examples(conversations: Sequence[Conversation], *, window: int = 6, memory_k: int = 5,
                      seed: int) -> list[Example]:
    """One example per turn: kb lines (what retrieval would return from the simulated memory), the last
    `window` dialogue lines and the user line as context, the older lines as history (read into the
    dialogue LSTM's carried state); the bot reply as target."""
    if window < 0 or memory_k < 0:
        raise ConfigError(f"window and memory_k must be 0 or more, not {window} and {memory_k}")
    rng = random.Random(seed)
    out = []
    for d, conversation in enumerate(conversations):
        by_text = {fact.text: fact for fact in conversation.facts}
        memory: dict[str, StatedFact] = {}
        dialogue: list[Line] = []
        for turn in conversation.turns:
            e = turn.expect
            relevant = [memory[e.relation]] if e.kind in ("ask", "ask_updated", "update", "forget") else []
            others = [fact for fact in memory.values() if fact not in relevant]
            kb = _recall(relevant, others, memory_k, rng, shrink=e.kind != "list")
            reply = list_reply([fact.answer for fact in kb]) if e.kind == "list" else turn.reply
            cut = max(0, len(dialogue) - window)
            context = (*(Line("kb", fact.text) for fact in kb), *dialogue[cut:], Line("user", turn.user))
            out.append(Example(dialog=d, context=tuple(context), reply=reply, history=tuple(dialogue[:cut])))
            dialogue += [Line("user", turn.user), Line("bot", reply)]
            if e.kind in ("tell", "update"):
                memory[e.relation] = by_text[e.fact]
            elif e.kind == "forget":
                del memory[e.relation]
    return out


def list_reply(answers: Sequence[str]) -> str:
    """The reply to "what do you know about me?" from the bot sentences of the facts recalled."""
    return f"{LIST_OPENER} {' '.join(answers)}" if answers else NOTHING_KNOWN


def small_talk_pairs(split: Split | None = None) -> list[tuple[str, str]]:
    """(statement, response) pairs from chatterbot-corpus's English small talk: every pair, or one split's
    (split by statement; training pairs never mention an evaluation value)."""
    pairs = _corpus_pairs()
    if split is None:
        return list(pairs)
    statements = set(in_split(sorted({s for s, _ in pairs}), split))
    chosen = [(s, r) for s, r in pairs if s in statements]
    if split == "train":
        unseen = _mentions(tuple(v for vs in catalogue("eval").values.values() for v in vs))
        chosen = [(s, r) for s, r in chosen if not unseen.search(f"{s} {r}")]
    return chosen


class _Script:
    """Writes one conversation: draws the plan, then plays turns until every part of it is done."""

    def __init__(self, book: Catalogue, talk: Sequence[tuple[str, str]], rng: random.Random):
        self.book, self.talk, self.rng = book, talk, rng
        self.turns: list[Turn] = []
        self.facts: list[StatedFact] = []
        self.stored: dict[str, StatedFact] = {}
        self.gone: dict[str, list[str]] = {}  # relation -> values it no longer has (replaced or forgotten)
        self.used: list[str] = []  # every value said so far, lower-cased
        self.asked: set[str] = set()  # relations asked about
        self.to_check_update: list[tuple[Relation, str, str]] = []  # (relation, changed slot, old value)
        self.to_check_forget: list[Relation] = []

    def write(self) -> Conversation:
        rng = self.rng
        told = rng.randint(3, 8)
        chosen = rng.sample(self.book.relations, told + rng.randint(1, 2))
        self.pending, self.never = chosen[:told], chosen[told:]
        self.budget = {"small_talk": rng.randint(1, 4), "ask": rng.randint(2, 5), "update": rng.randint(0, 2),
                       "forget": rng.randint(0, 2), "list": int(rng.random() < 0.5)}
        while options := self._options():
            actions, weights = zip(*options)
            rng.choices(actions, weights)[0]()
        return Conversation(tuple(self.turns), tuple(self.facts))

    def _options(self) -> list[tuple[Callable[[], None], float]]:
        b, stored = self.budget, list(self.stored)
        checking = {r.key for r, _, _ in self.to_check_update}
        updatable = [k for k in stored if k not in checking and k not in self.gone]
        options = [
            (self.tell, 3.0 if self.pending else 0),
            (self.small_talk, 1.0 if b["small_talk"] and self.talk else 0),
            (self.ask_unknown, 1.0 if self.never else 0),
            (self.ask, 2.0 if b["ask"] and stored else 0),
            (self.update, 1.0 if b["update"] and updatable else 0),
            (self.forget, 1.0 if b["forget"] and len(stored) > len(checking) else 0),
            (self.ask_updated, 1.5 if self.to_check_update else 0),
            (self.ask_forgotten, 1.5 if self.to_check_forget else 0),
            (self.list_facts, 1.0 if b["list"] and len(stored) >= 2 and not self.pending else 0),
        ]
        return [(action, weight) for action, weight in options if weight]

    # --- the turns ---------------------------------------------------------------------------------------

    def tell(self) -> None:
        relation = self.pending.pop(0)
        casual = self.rng.random() < CASUAL
        values = {slot: self._value(kind, casual) for slot, kind in relation.slots.items()}
        fact = self._state(relation, self.rng.choice(relation.statements), values, casual)
        user = fact.text
        if self.rng.random() < REMEMBER:
            user = self._wrap(self.rng.choice(self.book.remember), fact, casual)
        reply = self.rng.choice(TELL_REPLIES).format(a=_clause(fact.answer))
        self._say(user, Expectation("tell", fact=fact.text, relation=relation.key), reply)

    def update(self) -> None:
        self.budget["update"] -= 1
        checking = {r.key for r, _, _ in self.to_check_update}
        key = self.rng.choice([k for k in self.stored if k not in checking and k not in self.gone])
        relation, old = self.book.relation(key), self.stored[key]
        casual = self.rng.random() < CASUAL
        values = dict(old.values) | {slot: self._value(relation.slots[slot], casual, avoid=old.values[slot])
                                     for slot in relation.changes}
        if relation.updates and self.rng.random() < 0.5:
            fact = self._state(relation, self.rng.choice(relation.updates), values, casual)
            user = fact.text
        else:
            fact = self._state(relation, self.rng.choice(relation.statements), values, casual)
            user = self._wrap(self.rng.choice(self.book.update), fact, casual)
        old_values = [old.values[slot] for slot in relation.changes]
        self.gone[key] = old_values
        slot = self.rng.choice(relation.changes)
        self.to_check_update.append((relation, slot, old.values[slot]))
        reply = self.rng.choice(UPDATE_REPLIES).format(a=_clause(fact.answer))
        answers = tuple(values[slot] for slot in relation.changes)
        self._say(user, Expectation("update", answers, _absent(old_values, reply), fact.text, key), reply)

    def forget(self) -> None:
        self.budget["forget"] -= 1
        checking = {r.key for r, _, _ in self.to_check_update}
        key = self.rng.choice([k for k in self.stored if k not in checking])
        relation, fact = self.book.relation(key), self.stored.pop(key)
        casual = self.rng.random() < CASUAL
        if self.rng.random() < 0.5:
            user = self._wrap(self.rng.choice(self.book.forget_fact), fact, casual)
        else:
            user = _cased(self.rng.choice(self.book.forget_topic).format(topic=relation.topic), casual)
        self.gone[key] = self.gone.get(key, []) + list(fact.values.values())
        self.to_check_forget.append(relation)
        reply = self.rng.choice(FORGET_REPLIES).format(a=_clause(fact.answer))
        self._say(user, Expectation("forget", FORGOT, fact=fact.text, relation=key), reply)

    def ask(self, relation: Relation | None = None, slot: str | None = None, old: str | None = None) -> None:
        if relation is None:
            self.budget["ask"] -= 1
            unasked = [k for k in self.stored if k not in self.asked]
            relation = self.book.relation(self.rng.choice(unasked or list(self.stored)))
        self.asked.add(relation.key)
        slot = slot or self.rng.choice(list(relation.questions))
        fact = self.stored[relation.key]
        user = _cased(self.rng.choice(relation.questions[slot]), self.rng.random() < CASUAL)
        kind: Kind = "ask" if old is None else "ask_updated"
        forbidden = _absent([old] if old else [], fact.answer)
        self._say(user, Expectation(kind, (fact.values[slot],), forbidden, fact.text, relation.key), fact.answer)

    def ask_updated(self) -> None:
        relation, slot, old = self.to_check_update.pop(0)
        self.ask(relation, slot, old)

    def ask_unknown(self, relation: Relation | None = None) -> None:
        kind: Kind = "ask_unknown" if relation is None else "ask_forgotten"
        relation = relation or self.never.pop(0)
        slot = self.rng.choice(list(relation.questions))
        user = _cased(self.rng.choice(relation.questions[slot]), self.rng.random() < CASUAL)
        reply = self.rng.choice(UNKNOWN_REPLIES).format(u=relation.unknown[slot])
        known = [v for fact in self.stored.values() for v in fact.values.values()]
        forbidden = _absent(self.gone.get(relation.key, []) + known, reply)
        gone = _absent(self.gone.get(relation.key, []), reply)
        self._say(user, Expectation(kind, DONT_KNOW, forbidden, gone=gone, relation=relation.key), reply)

    def ask_forgotten(self) -> None:
        self.ask_unknown(self.to_check_forget.pop(0))

    def small_talk(self) -> None:
        self.budget["small_talk"] -= 1
        statement, response = self.rng.choice(self.talk)
        self._say(statement, Expectation("small_talk"), response)

    def list_facts(self) -> None:
        self.budget["list"] -= 1
        user = _cased(self.rng.choice(self.book.list_questions), self.rng.random() < CASUAL)
        facts = list(self.stored.values())
        reply = list_reply([fact.answer for fact in facts])
        known = {v.lower() for fact in facts for v in fact.values.values()}
        gone = [v for values in self.gone.values() for v in values if v.lower() not in known]
        answers = tuple(v for fact in facts for v in fact.values.values())
        self._say(user, Expectation("list", answers, _absent(gone, reply)), reply)

    # --- helpers -----------------------------------------------------------------------------------------

    def _say(self, user: str, expect: Expectation, reply: str) -> None:
        self.turns.append(Turn(user, expect, reply))

    def _state(self, relation: Relation, template: str, values: dict[str, str], casual: bool) -> StatedFact:
        """A stated fact, now in memory."""
        fact = StatedFact(relation.key, _cased(render(template, values), casual), render(relation.answer, values),
                          values)
        self.facts.append(fact)
        self.stored[relation.key] = fact
        return fact

    def _value(self, kind: str, casual: bool, avoid: str = "") -> str:
        """A value not said before in this conversation, preferably not inside (or around) one that was."""
        pool = self.book.values[kind]
        for _ in range(30):
            value = self.rng.choice(pool)
            low = value.lower()
            if all(low not in u and u not in low for u in self.used):
                break
        else:
            fresh = [v for v in pool if v.lower() not in self.used]
            value = self.rng.choice(fresh or [v for v in pool if v.lower() != avoid.lower()])
        self.used.append(value.lower())
        return value.lower() if casual else value

    def _wrap(self, wrapper: str, fact: StatedFact, casual: bool) -> str:
        """A wrapper around a fact: {s} the statement mid-sentence, {S} the statement as it is."""
        inner = fact.text.rstrip(".!?")
        starts_with_value = any(inner.startswith(v) for v in fact.values.values())
        if not (starts_with_value or re.match(r"I\b", inner)):
            inner = inner[:1].lower() + inner[1:]
        return _cased(wrapper.format(s=inner, S=fact.text), casual)


def _recall(relevant: list[StatedFact], others: list[StatedFact], k: int, rng: random.Random,
            shrink: bool = True) -> list[StatedFact]:
    """What retrieval returns: the relevant facts and others up to k in all, shuffled (now and then fewer)."""
    n = max(0, min(k - len(relevant), len(others)))
    if shrink and rng.random() < 0.2:
        n = rng.randint(0, n)
    kb = relevant[:k] + rng.sample(others, n)
    rng.shuffle(kb)
    return kb


def _clause(answer: str) -> str:
    """A bot sentence to go inside another: "Your sister Ana lives in Lisbon." -> "your sister Ana lives in Lisbon"."""
    return answer[:1].lower() + answer[1:].rstrip(".")


def _cased(text: str, casual: bool) -> str:
    """Casual typing: all lower case, no final stop."""
    return text.lower().rstrip(".?!") if casual else text


def _absent(values: Sequence[str], reply: str) -> tuple[str, ...]:
    """The values, once each, but not those the right reply itself contains (a check could not tell)."""
    return tuple(dict.fromkeys(v for v in values if v.lower() not in reply.lower()))


@cache
def _mentions(values: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@cache
def _corpus_pairs() -> tuple[tuple[str, str], ...]:
    """Consecutive lines of the corpus's English conversations, short and not about the user."""
    try:
        folder = resources.files("chatterbot_corpus") / "data" / "english"
    except ModuleNotFoundError:
        hint = "pip install 'chatterbot-corpus>=1.3'"
        raise DataNotFoundError(f"small talk needs the chatterbot-corpus package: {hint}") from None
    pairs: dict[tuple[str, str], None] = {}
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yml") and f.name not in NOT_SMALL_TALK),
                   key=lambda f: f.name)
    for path in files:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DataFormatError(f"cannot read chatterbot-corpus file {path.name}: {exc}") from exc
        for lines in document.get("conversations", []):
            for statement, response in zip(lines, lines[1:]):
                if _is_small_talk(statement) and isinstance(response, str) and _short(response):
                    pairs[" ".join(statement.split()), " ".join(response.split())] = None
    return tuple(pairs)


def _is_small_talk(statement: object) -> bool:
    return isinstance(statement, str) and _short(statement) and not _PERSONAL.search(statement)


def _short(text: str) -> bool:
    return 0 < len(text.split()) <= _MAX_WORDS and "\n" not in text.strip()
