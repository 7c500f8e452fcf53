"""A forget turn, decided and carried out: what the request names (by the memory reader, else the answer
finder and the word rules) is forgotten, a list item taken out of its memory, or a question asked back
when the request could mean several items."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import numpy as np

from memory_store import Fact, Hit, MemoryStore

from .answers import AnswerFinder
from .consolidation import about_someone_else
from .intents import Intent
from .lists import item_count, named_items, without_item
from .reading import Reader, told_order
from .replies import Reply
from .settings import AssistantConfig
from .text import as_sentence, second_person
from .versions import linked_versions
from .wording import ALL_OF_IT, FORGET_ONE_BY_ONE, lower_first


@dataclass(frozen=True)
class Forgot:
    """A forget request carried out: the reply, and what it changes in short-term memory."""

    reply: Reply
    leaves_window: tuple[Fact, ...] = ()  # memories whose lines leave short-term memory, though not forgotten
    # (a list as it was before an item was taken out of it)
    took_last: bool = False  # "forget it": the facts the latest telling turn stored were forgotten


@dataclass(frozen=True)
class Named:
    """What a forget request names among the user's memories."""

    forget: tuple[Fact, ...] = ()  # memories to forget whole
    item_of: Fact | None = None  # a list memory to take one item out of ...
    item: tuple[int, int] | None = None  # ... the item's characters in it
    unclear: tuple[str, ...] = ()  # several items the request could mean: ask which


def named_by(store: MemoryStore, reader: Reader, config: AssistantConfig, user: str, request: str,
             now: datetime | None) -> Named:
    """Read a forget request against its nearest memories (one store read). The memory
    the reader chooses goes, and every other it finds, read alone, surely named (`forget_sure`) and, read
    among the others, at least `forget_share` as likely as the chosen one: "everything about my old
    flatmate" names several. A chosen list whose one item the request says loses that item
    only ("take the tent off the list"); one whose several items, not all, it says is not touched (`unclear`);
    one whose every item it says goes whole ("forget that bakari, my mother, lives in puebla")."""
    said = [request, *([first] if (first := request.split(",")[0].strip()) != request and first else [])]
    vectors, asking = store.embed_words(said)  # the request embedded once: searched with, and read
    hits = store.search(request, k=config.forget_candidates, user=user, now=now, vector=vectors[0])  # words and meaning
    if not hits:
        return Named()
    _, memories = store.embed_words([h.fact.text for h in hits])
    for asked in asking:  # the request, then its first clause ("the flight number, its in the app")
        reading = reader.read(asked, memories, ages=told_order([h.fact for h in hits]))
        if reading.chosen is not None:
            break
    else:
        return Named()
    chosen = hits[reading.chosen].fact
    items = named_items(chosen.text, request)
    if len(items) == 1 and item_count(chosen.text) > 1:
        return Named(item_of=chosen, item=items[0])
    if 1 < len(items) < item_count(chosen.text):
        return Named(unclear=tuple(chosen.text[a:b] for a, b in items))
    # no item named, or every one ("forget that bakari, my mother, lives in puebla"): the memory goes whole
    share = config.forget_share * reading.chances[reading.chosen]
    alone = [i for i in range(len(hits)) if i != reading.chosen and reading.chances[i] >= share
             and reader.read(asked, [memories[i]], config.forget_sure).chosen is not None]
    versions = linked_versions(reading.chosen, [h.fact for h in hits])  # an old value goes with its correction
    return Named(forget=(chosen, *(hits[i].fact for i in sorted({*alone, *versions}))))


def forget(store: MemoryStore, config: AssistantConfig, answers: AnswerFinder | None, reader: Reader | None,
           user: str, intent: Intent, now: datetime | None, last_stored: Sequence[int] = ()) -> Forgot:
    """Forget what the request names (never a fact about another relative than it names): for
    "everything about my pet", the facts about that relation, else every fact its words name; for one
    fact, the one its words name best, else the likeliest about the same relation, else the nearest
    at `forget_nearest_above`. `last_stored`: the facts the latest telling turn stored, what "forget it"
    means."""
    def named(threshold: float | None = None) -> list[Hit]:
        return [h for h in store.matching(intent.text, user=user, threshold=threshold)
                if not about_someone_else(intent.text, h.fact.text)]

    said = intent.text.lower().rstrip(".!")
    if said in ALL_OF_IT:
        return Forgot(Reply(FORGET_ONE_BY_ONE, "forget"))
    if said in ("it", "that", "this") and last_stored:  # what was just said
        forgotten = store.forget_many(list(last_stored), now=now)
        return Forgot(_forgotten(forgotten, intent), took_last=True)
    if reader is not None and (read := _forget_by_reading(store, config, reader, user, intent.text, now)) is not None:
        return read  # else the answer finder and the word rules below, as without the reader
    request = cache(lambda: store.embed_query(intent.text))  # embedded once, if at all
    if intent.everything:
        forgotten = _forget_by_relation(store, answers, user, intent, request(), now) if answers is not None else []
        if not forgotten and (matches := named()):
            forgotten = store.forget_many([h.fact.id for h in matches], now=now, reason="matched a forget request")
    else:
        matches = named()
        forgotten = [store.forget(matches[0].fact.id, now=now)] if matches else []
        if not forgotten and answers is not None:
            forgotten = _forget_by_relation(store, answers, user, intent, request(), now)
    if not forgotten and config.forget_nearest_above is not None:
        nearest = _not_apart(store, config, answers, request, named(config.forget_nearest_above))
        forgotten = [store.forget(nearest[0].fact.id, now=now)] if nearest else []
    return Forgot(_forgotten(forgotten, intent))


def _forget_by_reading(store: MemoryStore, config: AssistantConfig, reader: Reader, user: str, target: str,
                       now: datetime | None) -> Forgot | None:
    """Forget what a request names, by the memory reader (`named_by`): whole memories, or one item of a
    list (the memory is edited: "take the batteries off the list"); when it could mean several items, ask
    which. None: the reader finds nothing the request names."""
    named = named_by(store, reader, config, user, target, now)
    if not (named.forget or named.item_of or named.unclear):
        return None
    if named.unclear:
        return Forgot(Reply("Which one should I take out: " + " or ".join(f'"{i}"' for i in named.unclear) + "?",
                            "forget"))
    if named.item_of is not None:
        said = named.item_of.text[named.item[0]:named.item[1]]
        fact = store.update(named.item_of.id, without_item(named.item_of.text, named.item), now=now,
                            reason="an item forgotten on request")
        return Forgot(Reply(f"Ok, I've taken {second_person(said)} out: {as_sentence(second_person(fact.text))}",
                            "forget", edited=(fact,), removed=(said,)),
                      leaves_window=(named.item_of,))  # the old list leaves short-term memory too
    ids = [f.id for f in named.forget]
    forgotten = store.forget_many(ids, now=now, reason="matched a forget request") if ids else []
    return Forgot(_forgotten(forgotten, Intent("forget", target)))


def _forgotten(forgotten: Sequence[Fact], intent: Intent) -> Reply:
    """The reply to a forget request: what was forgotten, or that nothing was found."""
    if not forgotten:
        return Reply(f"I couldn't find anything about {second_person(intent.text.rstrip('.'))} in my memory.",
                     "forget")
    said = "; ".join(second_person(f.text).rstrip(".") for f in forgotten)
    return Reply(f"Ok, I've forgotten that {lower_first(said)}.", "forget", forgotten=tuple(forgotten))


def _not_apart(store: MemoryStore, config: AssistantConfig, answers: AnswerFinder | None,
               request: Callable[[], np.ndarray], hits: list[Hit]) -> list[Hit]:
    """The hits the answer finder does not place surely in another relation than the request (`request`:
    its embedding, made when first needed), or surely in none ("my job" is never taken for "My wife is
    Sofia." or "I'm Tom.")."""
    if answers is None or config.apart_above is None or not hits:
        return hits
    vectors = store.vectors([h.fact.id for h in hits])
    apart = answers.apart(request(), vectors, config.apart_above, none_counts=True)
    return [h for h, other in zip(hits, apart) if not other]


def _forget_by_relation(store: MemoryStore, answers: AnswerFinder, user: str, intent: Intent, request: np.ndarray,
                        now: datetime | None) -> list[Fact]:
    """What a forget request that names no fact clearly is about, by the answer finder: the user's facts
    about the same relation as its words ("drop all your notes on my pet" and "I adopted a chinchilla
    and named it Goufom."): the most probable one, or every one for "everything about". Every active
    fact of the user is weighed (a forget request is rare; a fact typed in lower case can be far from
    the request in the embedding space yet about the same thing). `request`: its embedding."""
    facts = [f for f in store.facts(user) if not about_someone_else(intent.text, f.text)]
    if not facts:
        return []
    vectors = store.vectors([f.id for f in facts])
    chances = answers.probabilities(request, vectors)
    ranked = sorted(((p, -i) for i, p in enumerate(chances) if p >= answers.config.threshold), reverse=True)
    chosen = [facts[-i].id for _, i in (ranked if intent.everything else ranked[:1])]
    return store.forget_many(chosen, now=now, reason="matched a forget request") if chosen else []
