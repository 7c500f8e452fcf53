"""The catalogue of personal facts a user can tell memchat: relations, their phrasings and values, split
into disjoint training and evaluation halves.

The text lives in `assistant/data/`: `relations.yml` holds the relations (slots, statement, question and
answer templates; the family relations are written once and expanded per kin word) and the user's wrappers
("Remember that ...", "Actually, ...", "Forget that ..."); `<kind>.txt` holds the values of each kind, one
a line (`assistant.lexicon` reads them). Dates, ages, counts, numbers and phone numbers are generated here.

Split rule: in every list, every fourth item (positions 3, 7, 11, ...) is for evaluation and the rest for
training; a generated number n is for evaluation when n % 4 == 3 (a date when its day is), so a number
means the same split in every kind. Evaluation phrasings and values never occur in training data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

import yaml

from assistant.errors import ConfigError, DataFormatError
from assistant.lexicon import DATA, lexicon

Split = Literal["train", "eval"]
Phrasings = Literal["all", "fit", "check"]  # a split's phrasings, or one of two parts of them (`phrasings_part`)
SPLITS: tuple[Split, ...] = ("train", "eval")
EVAL_EVERY = 4  # every fourth item is for evaluation

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
NUMBER_RANGES = {"ages": range(18, 96), "counts": range(2, 13), "numbers": range(1, 100)}
PHONE_NUMBERS = 400
GENERATED = ("dates", "phone_numbers", *NUMBER_RANGES)

_FIELD = re.compile(r"\{(a_)?(\w+)\}")
_NO_AN = ("uni", "use", "uku", "eu", "one")  # vowel letters that sound like "y"/"w": "a ukulele"


@dataclass(frozen=True)
class Relation:
    """One thing a user can tell about themselves, e.g. where their sister lives."""

    key: str  # "sister", "home_city"
    slots: Mapping[str, str]  # slot -> kind of value: {"name": "names", "city": "places"}
    topic: str  # how the user names it when asking to forget it: "my sister"
    answer: str  # the bot's sentence about the fact: "Your sister {name} lives in {city}."
    statements: tuple[str, ...]  # "My sister {name} lives in {city}."
    updates: tuple[str, ...]  # a changed fact said as news: "My sister {name} moved to {city}."
    changes: tuple[str, ...]  # the slots an update changes
    questions: Mapping[str, tuple[str, ...]]  # asked slot -> questions: {"city": ("Where does my sister live?",)}
    unknown: Mapping[str, str]  # asked slot -> clause: {"city": "where your sister lives"}


@dataclass(frozen=True)
class Catalogue:
    """Everything of one split that conversations are written from."""

    split: Split
    relations: tuple[Relation, ...]
    remember: tuple[str, ...]  # "Remember that {s}."
    update: tuple[str, ...]  # "Actually, {s}."
    forget_fact: tuple[str, ...]  # "Forget that {s}."
    forget_topic: tuple[str, ...]  # "Forget everything about {topic}."
    list_questions: tuple[str, ...]  # "What do you know about me?"
    values: Mapping[str, tuple[str, ...]]  # kind -> values

    def relation(self, key: str) -> Relation:
        for relation in self.relations:
            if relation.key == key:
                return relation
        raise ConfigError(f"no relation {key!r} in the catalogue")


def render(template: str, values: Mapping[str, str], capitalize: bool = True) -> str:
    """Fill a template: {slot} -> the value, {a_slot} -> "a"/"an" and the value; first letter upper-cased."""
    text = _FIELD.sub(lambda m: _with_article(values[m[2]]) if m[1] else values[m[2]], template)
    return text[:1].upper() + text[1:] if capitalize else text


def fields(template: str) -> set[str]:
    """The slots a template names: "I drive {a_colour} {brand}." -> {"colour", "brand"}."""
    return {m[2] for m in _FIELD.finditer(template)}


def in_split(items: Sequence[str], split: Split) -> tuple[str, ...]:
    """The items of `split` by the position rule (a list of two or three gives its last to evaluation)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, not {split!r}")
    chosen = {i for i in range(len(items)) if i % EVAL_EVERY == EVAL_EVERY - 1} or {len(items) - 1}
    return tuple(item for i, item in enumerate(items) if (i in chosen) == (split == "eval"))


@cache
def catalogue(split: Split) -> Catalogue:
    """The relations, wrappers and values of one split (read once, then cached)."""
    raw = _read_yaml()
    relations = tuple(_split_relation(r, split) for r in all_relations())
    kinds = sorted({kind for r in relations for kind in r.slots.values()})
    phrasings = raw["phrasings"]
    return Catalogue(
        split=split,
        relations=relations,
        remember=in_split(phrasings["remember"], split),
        update=in_split(phrasings["update"], split),
        forget_fact=in_split(phrasings["forget_fact"], split),
        forget_topic=in_split(phrasings["forget_topic"], split),
        list_questions=in_split(phrasings["list"], split),
        values={kind: values(kind, split) for kind in kinds},
    )


def phrasings_part(book: Catalogue, part: Phrasings) -> Catalogue:
    """The catalogue with only one part of each relation's questions and statements: "check" is a quarter
    of them (by the same position rule as the splits), "fit" the rest, to tune on phrasings a model was not
    fitted on without touching the EVAL split; "all" keeps them all. A list too short to split is kept whole."""
    if part == "all":
        return book
    if part not in ("fit", "check"):
        raise ConfigError(f"phrasings must be all, fit or check, not {part!r}")

    def kept(items: tuple[str, ...]) -> tuple[str, ...]:
        chosen = in_split(items, "train" if part == "fit" else "eval")
        return chosen if chosen and len(chosen) < len(items) else items

    return replace(book, relations=tuple(
        replace(r, statements=kept(r.statements), updates=kept(r.updates),
                            questions={slot: kept(qs) for slot, qs in r.questions.items()})
        for r in book.relations))


@cache
def all_relations() -> tuple[Relation, ...]:
    """Every relation with all its templates, unsplit, checked."""
    raw = _read_yaml()
    relations = [*_family(raw["family"]), *(_relation(key, body) for key, body in raw["relations"].items())]
    for relation in relations:
        _check(relation)
    return tuple(relations)


def values(kind: str, split: Split) -> tuple[str, ...]:
    """The values of a kind in a split."""
    if kind == "dates":
        return tuple(f"{day} {month}" for month, days in zip(MONTHS, DAYS_IN_MONTH)
                     for day in range(1, days + 1) if _is_eval(day) == (split == "eval"))
    if kind in NUMBER_RANGES:
        return tuple(str(n) for n in NUMBER_RANGES[kind] if _is_eval(n) == (split == "eval"))
    if kind == "phone_numbers":
        return in_split(_phone_numbers(), split)
    return in_split(lexicon(kind), split)


def _is_eval(n: int) -> bool:
    return n % EVAL_EVERY == EVAL_EVERY - 1


def _with_article(value: str) -> str:
    low = value.lower()
    vowel = low[:1] in "aeiou" and not low.startswith(_NO_AN)
    return f"{'an' if vowel else 'a'} {value}"


@cache
def _phone_numbers() -> tuple[str, ...]:
    """Made-up mobile numbers "07xx xxx xxx", the same every run."""
    numbers = dict.fromkeys(f"07{i * 37 % 100:02d} {i * 7919 % 1000:03d} {i * 104729 % 1000:03d}"
                            for i in range(PHONE_NUMBERS))
    return tuple(numbers)


@cache
def _read_yaml() -> dict:
    path = DATA / "relations.yml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFormatError(f"cannot read the relation catalogue {path}: {exc}") from exc


def _relation(key: str, body: dict) -> Relation:
    slots = dict(body["slots"])
    return Relation(
        key=key,
        slots=slots,
        topic=body["topic"],
        answer=body["answer"],
        statements=tuple(body["statements"]),
        updates=tuple(body.get("updates", ())),
        changes=tuple(body.get("changes", slots)),
        questions={slot: tuple(qs) for slot, qs in body["questions"].items()},
        unknown=dict(body["unknown"]),
    )


def _family(body: dict) -> list[Relation]:
    """The family relations, one per kin word, from the shared templates ({kin}, {their})."""
    out = []
    for kin, their in body["kin"]:
        def fill(text: str, kin: str = kin, their: str = their) -> str:
            return text.replace("{kin}", kin).replace("{their}", their)

        out.append(_relation(kin.replace(" ", "_"), {
            "slots": body["slots"], "changes": body["changes"], "topic": fill(body["topic"]),
            "answer": fill(body["answer"]), "statements": [fill(t) for t in body["statements"]],
            "updates": [fill(t) for t in body["updates"]],
            "questions": {slot: [fill(q) for q in qs] for slot, qs in body["questions"].items()},
            "unknown": {slot: fill(clause) for slot, clause in body["unknown"].items()},
        }))
    return out


def _check(r: Relation) -> None:
    """Every statement can be copied from, no question gives its answer away, and every list can be split."""
    where = f"relations.yml, relation {r.key!r}"
    slots = set(r.slots)
    for template in (*r.statements, *r.updates, r.answer):
        if fields(template) != slots:
            raise DataFormatError(f"{where}: {template!r} must name exactly the slots {sorted(slots)}")
    if not r.answer.startswith("You"):
        raise DataFormatError(f"{where}: the answer must start with 'You'/'Your', not {r.answer!r}")
    if set(r.questions) != set(r.unknown) or not set(r.questions) <= slots or not set(r.changes) <= set(r.questions):
        raise DataFormatError(f"{where}: questions and unknown must cover the same slots, changes among them")
    for questions in r.questions.values():
        if any(fields(q) for q in questions):
            raise DataFormatError(f"{where}: a question names a slot: {questions}")
    for templates in (r.statements, *r.questions.values(), *((r.updates,) if r.updates else ())):
        if len(templates) < 2:
            raise DataFormatError(f"{where}: {templates} needs two or more templates to split")
    unknown_kinds = set(r.slots.values()) - set(GENERATED) - {p.stem for p in DATA.glob("*.txt")}
    if unknown_kinds:
        raise DataFormatError(f"{where}: no values for the kinds {sorted(unknown_kinds)}")


def _split_relation(r: Relation, split: Split) -> Relation:
    return replace(r, statements=in_split(r.statements, split),
                   updates=in_split(r.updates, split) if r.updates else (),
                   questions={slot: in_split(qs, split) for slot, qs in r.questions.items()})
