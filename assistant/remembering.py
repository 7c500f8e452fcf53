"""Commit stage of a telling turn: a statement stored as its facts, each retiring the older memory it
updates (by the update detector, the answer finder and the memory reader; without them, the word rules),
and linked to an older memory it tells a newer version of (by the memory reader), which stays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from memory_store import Fact, Hit, MemoryStore

from .answers import AnswerFinder
from .clauses import clauses
from .consolidation import replaces, without_update_marker
from .reading import Reader, Reading, told_order
from .recalling import update_reach
from .settings import AssistantConfig
from .updates import UpdateDetector, another_pet, choose_update, passing


@dataclass(frozen=True)
class Judges:
    """The models that judge whether a statement updates an older memory (None: not loaded)."""

    updates: UpdateDetector | None = None  # None: updates are found by the word rules alone
    answers: AnswerFinder | None = None
    reader: Reader | None = None


@dataclass(frozen=True)
class Told:
    """Who told a statement, in which session and turn (the `source` its facts are stored with)."""

    user: str
    session: int
    turn: int


def remember(store: MemoryStore, config: AssistantConfig, judges: Judges, told: Told, statement: str,
             now: datetime | None, nearest: Sequence[Hit] | None = None, importance: float | None = None,
             parts: Sequence[str] = (), marked: bool | None = None) -> tuple[list[Fact], list[Fact]]:
    """Store a statement; where it updates one of the nearest older facts (by the update detector, or
    the word rules of `consolidation.replaces` without one), retire that one: dormant, linked to the
    new fact. `nearest`: the turn's search results, when the statement is stored during its turn. Returns
    (stored, replaced)."""
    core, news = without_update_marker(statement)
    marked = news if marked is None else marked
    parts = _unmarked(list(parts), core) if news and parts else list(parts) or clauses(core)
    if not parts:  # the statement was its marker alone ("Wait."): nothing to store
        return [], []
    if len(parts) == 1:
        core = parts[0]
        return _remember_one(store, config, judges, told, core, marked, now, nearest, importance, ())
    stored: list[Fact] = []
    replaced: list[Fact] = []
    for part in parts:  # "I'm Tom, I'm 34 years old.": two facts, each read against its own nearest facts
        one, gone = _remember_one(store, config, judges, told, part, marked, now, None, importance,
                                  [f.id for f in stored])
        stored += one
        replaced += gone
    return stored, replaced


def _unmarked(parts: list[str], core: str) -> list[str]:
    """The turn model's facts of a statement whose update marker (`without_update_marker`) left `core`:
    the first fact without the marker when it holds the one the statement lost ("Actually, I moved to
    Porto": the marker says it is news, it is no part of it); a fact that was only the marker goes."""
    first, had = without_update_marker(parts[0])
    if had and parts[0].lower() not in core.lower() and first.lower() in core.lower():
        parts = [first, *parts[1:]]
    return [p for p in parts if p.strip(" .,!?;:")]


def _remember_one(store: MemoryStore, config: AssistantConfig, judges: Judges, told: Told, core: str, marked: bool,
                  now: datetime | None, nearest: Sequence[Hit] | None, importance: float | None,
                  keep: Sequence[int]) -> tuple[list[Fact], list[Fact]]:
    """Store one fact, retiring the older fact it updates (never one of `keep`, stored this turn), or else
    linking it to the older memory it tells a newer version of (`MemoryStore.follow`; both stay)."""
    reach = update_reach(config, judges.answers)
    hits = nearest if nearest is not None else store.search(core, k=reach, user=told.user, now=now)
    source = {"session": told.session, "turn": told.turn, "via": "chat"}
    fact = store.add(core, user=told.user, importance=importance, now=now, source=source)
    candidates = [h for h in hits[:reach] if h.fact.id != fact.id and h.fact.id not in keep]
    if judges.updates is not None and candidates:
        chosen = _update_by_models(store, config, judges, core, marked, fact, candidates)
    else:
        nearest_few = candidates[: config.update_candidates]
        chosen = next((i for i, h in enumerate(nearest_few) if replaces(core, h.fact.text, h.similarity)), None)
    read = candidates[: config.reader_k]  # as many as the reader was trained to read
    reading = _read_as_question(store, judges.reader, core, read) if judges.reader is not None and read and (
        _may_retire(config, chosen) or _may_link(config, chosen)) else None
    # without a reading the reader had nothing to confirm: `chosen` is None, or no reader is to confirm it
    confirms = reading is not None and config.reader_updates
    retired = _confirmed_update(config, reading, read, chosen) if confirms else chosen
    if retired is None and not fact.reinforced and (follows := _follows(config, reading, read, chosen)) is not None:
        fact = store.follow(fact.id, follows, now=now)
    retire = [] if retired is None else [candidates[retired]]
    replaced = [store.supersede(h.fact.id, fact.id, now=now) for h in retire]
    return [fact], replaced


def _may_retire(config: AssistantConfig, chosen: int | None) -> bool:
    """Whether the reader's reading could confirm a retirement (`_confirmed_update`)."""
    return config.reader_updates and (chosen is not None or config.reader_updates_above is not None)


def _may_link(config: AssistantConfig, chosen: int | None) -> bool:
    """Whether the reader's reading could link the statement to an older memory (`_follows`)."""
    return (chosen is not None and config.version_above is not None) or config.version_alone_above is not None


def _read_as_question(store: MemoryStore, reader: Reader, statement: str, hits: Sequence[Hit]) -> Reading:
    """The reader's reading of a statement as if it were a question over the memories it may update: one it
    replaces, or tells a newer version of, answers what the statement answers."""
    _, words = store.embed_words([statement, *(h.fact.text for h in hits)])
    return reader.read(words[0], words[1:], None, ages=told_order([h.fact for h in hits]))


def _follows(config: AssistantConfig, reading: Reading | None, read: Sequence[Hit], chosen: int | None) -> int | None:
    """The older memory a statement tells a newer version of, by id: the one the update models chose
    (`chosen`, an index of `read`'s candidates) when the reader, reading the statement as a question over
    `read`, points at it at least `version_above`; or the one the reader alone gives at least
    `version_alone_above` (None: none)."""
    if reading is None or reading.chosen is None:
        return None
    chance = reading.chances[reading.chosen]
    agreed = chosen == reading.chosen
    if agreed and config.version_above is not None and chance >= config.version_above:
        return read[reading.chosen].fact.id
    alone = config.version_alone_above
    return read[reading.chosen].fact.id if alone is not None and chance >= alone else None


def _confirmed_update(config: AssistantConfig, reading: Reading, read: Sequence[Hit], chosen: int | None
                      ) -> int | None:
    """The memory a statement updates, read by the memory reader (`reading`, over `read`, the first of the
    candidates): both must answer the same questions, so the reader, given the statement, must point at the
    candidate the update models chose, at least `reader_update_threshold` surely (else no update: a wrong
    retirement is worse than a missed one); a candidate the reader is sure of (`reader_updates_above`) is
    updated even when those models missed it."""
    if (chosen is None and config.reader_updates_above is None) or (chosen or 0) >= len(read) or reading.chosen is None:
        return None
    chance = reading.chances[reading.chosen]
    if config.reader_update_threshold is not None and chance < config.reader_update_threshold:
        return None
    if reading.chosen == chosen:
        return chosen
    sure = config.reader_updates_above
    return reading.chosen if sure is not None and chance >= sure else None


def _update_by_models(store: MemoryStore, config: AssistantConfig, judges: Judges, statement: str, marked: bool,
                      fact: Fact, candidates: list[Hit]) -> int | None:
    """Which candidate a statement updates, by the models: the update detector (over the nearest
    `update_candidates`) and the answer finder's same relation (ranked first), never a fact the finder
    places surely in another relation; for a statement the user marked as news ("Actually, ...", "That
    has changed."), failing those, the likeliest candidate by either model at `marked_updates`."""
    updates, answers = judges.updates, judges.answers
    texts = [h.fact.text for h in candidates]
    vectors = store.vectors([fact.id, *(h.fact.id for h in candidates)])  # embedded once, when stored
    detector = [p if rank < config.update_candidates else 0.0
                for rank, p in enumerate(updates.probabilities(vectors[0], vectors[1:]))]
    same = [0.0] * len(candidates)
    apart = [False] * len(candidates)
    if answers is not None:
        same = answers.probabilities(vectors[0], vectors[1:])
        if config.apart_above is not None:  # never a fact surely about another relation
            apart = answers.apart(vectors[0], vectors[1:], config.apart_above)
    above = config.same_relation_updates
    if not marked:  # "My cat is called Pepper." beside "My dog is called Biscuit.": a second pet, unless news
        apart = [other or another_pet(statement, t) for other, t in zip(apart, texts)]
    chances = [0.0 if other else 1.0 + q if answers is not None and above is not None and q >= above
               else passing(p, updates.config.threshold) for p, q, other in zip(detector, same, apart)]
    chosen = choose_update(statement, texts, chances)
    if chosen is None and marked and config.marked_updates is not None:
        if answers is not None:
            apart = answers.apart(vectors[0], vectors[1:], config.marked_apart_above)
        hints = [0.0 if other else passing(max(p, q), config.marked_updates)
                 for p, q, other in zip(detector, same, apart)]
        chosen = choose_update(statement, texts, hints)
    return chosen
