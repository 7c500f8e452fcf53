"""Decide stage of a chat turn: which of the recalled memories the reply reads (for a question, the one
that answers it, by the memory reader or the answer finder; else the nearest), and whether the generated
answer must give way to a quote of the memory or to "you haven't told me"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memory_store import Hit, MemoryStore, Words

from .answers import AnswerFinder, choose_answer
from .consolidation import (about_someone_else, adds, asks_another_thing_about_them, names_same_person,
                            same_kind_of_thing, speaks_of, tells)
from .intents import FIRST_PERSON, Intent
from .kin import names_asked, names_given
from .lines import Line
from .reading import Reader, told_order
from .recalling import Recall
from .settings import AssistantConfig
from .versions import newest_version
from .wording import NOT_KNOWING, SAYS_UNKNOWN


@dataclass(frozen=True)
class Decision:
    """Which memories a turn's reply reads."""

    finding: bool  # a question the reader or the answer finder judges the memories for
    hits: tuple[Hit, ...]  # the memories the reply reads
    weighed: tuple[Hit, ...]  # every memory weighed for it (those not read are listed, unused)
    probability: Mapping[int, float]  # P(it answers the question) for each weighed memory, by fact id
    answer: str = ""  # the words of the answering memory that answer the question ("" when none)


def decide(store: MemoryStore, config: AssistantConfig, reader: Reader | None, answers: AnswerFinder | None,
           text: str, intent: Intent, recall: Recall, words: Words | None) -> Decision:
    """The memories the reply to `text` reads, of those `recall` found: a question's answering memory (or
    none) by the memory reader, the answer finder or, without them, the word rules; else the nearest
    at `min_similarity`. `words`: the question's word vectors, when already made."""
    nearest = list(recall.nearest)
    finding = intent.kind == "question" and (answers is not None or reader is not None)
    reach = config.reader_k if finding and reader is not None else config.memory_k
    hits = [h for h in nearest[:reach]
            if h.similarity >= config.min_similarity or finding]  # the finder judges any of them
    if intent.kind == "question" and reader is None:  # the word rules, without the reader:
        # a fact about your sister never answers a question about your mother
        hits = [h for h in hits if not about_someone_else(text, h.fact.text)
                and not asks_another_thing_about_them(text, h.fact.text)]  # where she works vs lives
        known = names_given([h.fact.text for h in nearest])
        if asked := names_asked(text, known):  # "where does julia live" never reads a fact about Clara
            hits = [h for h in hits if asked & names_asked(h.fact.text, known)]
    weighed = hits
    probability: dict[int, float] = {}
    answer_words = ""
    if finding and reader is not None:  # the reader chooses the memory that answers, or none
        read, probability, answer_words = read_answer(store, reader, config, recall.query, words, hits)
        if not read and answers is not None and config.finder_backs_reader_above is not None:
            read = finder_sure(store, answers, config, recall.vector, hits)  # sure to the finder, missed by the reader
        hits = read
    elif finding:  # the generator reads the fact that answers the question, or no fact
        hits, probability = answer(store, answers, config, text, recall.vector, hits, nearest[: config.memory_k])
    return Decision(finding, tuple(hits), tuple(weighed), probability, answer_words)


def answer(store: MemoryStore, answers: AnswerFinder, config: AssistantConfig, question: str, vector: np.ndarray,
           hits: list[Hit], nearest: list[Hit]) -> tuple[list[Hit], dict[int, float]]:
    """The fact that answers a question (none, or one of `hits`), and the finder's probability for each
    hit. The finder's choice; else the nearest hit when it is at least `quote_above` similar, or at least
    `same_words_above` and the word rules find the same kind of thing in both; else, for
    a question who a relative is, the nearest of `nearest` that names them ("Who is my father?" and
    "My father, Thiago, has a flat in Minneapolis." are only 0.18 similar)."""
    if not hits:
        same_person = [h for h in nearest if names_same_person(question, h.fact.text)]
        return same_person[:1], {}
    chances = answering(store, answers, vector, [h.fact.id for h in hits])
    probability = {h.fact.id: p for h, p in zip(hits, chances)}
    chosen = choose_answer(question, [h.fact.text for h in hits], chances, answers.config.threshold,
                           [h.similarity for h in hits])
    if chosen is not None:
        return [hits[chosen]], probability
    top = max(hits, key=lambda h: h.similarity)
    if config.quote_above is not None and top.similarity >= config.quote_above:
        return [top], probability  # the finder doubts it, but it is as close as answers get
    agree = config.same_words_above
    if agree is not None and top.similarity >= agree and same_kind_of_thing(question, top.fact.text):
        return [top], probability  # "what is my job" and "I work as an accountant at Deloitte."
    same_person = sorted((h for h in nearest if names_same_person(question, h.fact.text)),
                         key=lambda h: -h.similarity)
    return same_person[:1], probability


def read_answer(store: MemoryStore, reader: Reader, config: AssistantConfig, question: str, words: Words | None,
                hits: list[Hit]) -> tuple[list[Hit], dict[int, float], str]:
    """The hit that answers a question by the memory reader (none, or one), the reader's probability
    for each hit, and the answer's words. Of versions of one answer, the newest answers: the memories the
    reader finds about as likely (`newer_share`), and those told later as a newer version of one
    (`Fact.follows`). `words`: the question's word vectors, when already made."""
    if not hits:
        return [], {}, ""
    texts = [h.fact.text for h in hits] if words is not None else [question, *(h.fact.text for h in hits)]
    vectors, read = store.embed_words(texts)
    if words is None:
        words, read, vectors = read[0], read[1:], vectors[1:]
    threshold = config.reader_threshold
    alike = None if config.pooled_similarity is None else (vectors @ vectors.T) >= config.pooled_similarity
    reading = reader.read(words, read, reader.threshold if threshold is None else threshold, config.newer_share, alike,
                          told_order([h.fact for h in hits]))
    probability = {h.fact.id: p for h, p in zip(hits, reading.chances)}
    if reading.chosen is None:
        return [], probability, ""
    newest = max(reading.versions, key=lambda i: (hits[i].fact.created_at, hits[i].fact.id))
    newer = newest_version(newest, [h.fact for h in hits])  # told later as its newer version ("moved to fri")
    if newer != newest and _answers_instead(reader, words, read, hits, newest, newer):
        newest = newer
    if newest != reading.chosen:  # two memories answer it: the newer is the answer, the older history
        return [hits[newest]], probability, reader.span(words, read[newest])
    return [hits[reading.chosen]], probability, reading.answer


def _answers_instead(reader: Reader, question: Words, read: list[Words], hits: list[Hit], older: int, newer: int
                     ) -> bool:
    """Whether the newer version of the memory that answers a question answers it in its stead: read
    without the older one, the reader chooses it (more probable than "none"; no threshold: the older one
    reached it, and a correction shares fewer words with the question than what it corrects). A newer
    version may tell one part of the older memory anew ("the test team grew to 9" of "my test team is 6
    people and we run 1400 test cases"): the older one still answers what the newer leaves out ("how many
    test cases?")."""
    others = [i for i in range(len(read)) if i != older]
    again = reader.read(question, [read[i] for i in others], None, ages=told_order([hits[i].fact for i in others]))
    return again.chosen is not None and others[again.chosen] == newer


def finder_sure(store: MemoryStore, answers: AnswerFinder, config: AssistantConfig, vector: np.ndarray,
                hits: list[Hit]) -> list[Hit]:
    """The hit the answer finder gives at least `finder_backs_reader_above` (the likeliest), if any: the
    catalogue's relations in phrasings the reader never read ("Which city am I from?")."""
    if not hits:
        return []
    chances = answering(store, answers, vector, [h.fact.id for h in hits])
    best = max(range(len(hits)), key=lambda i: chances[i])
    return [hits[best]] if chances[best] >= config.finder_backs_reader_above else []


def answering(store: MemoryStore, answers: AnswerFinder, question: np.ndarray, fact_ids: list[int]) -> list[float]:
    """P(each fact answers the question) by the answer finder. A fact that updated older ones is about
    what they were about: it gets the most probable of its own and theirs ("Nothing beats halloumi for
    me.", news on "My favourite food is porridge.", answers what that answered, however the finder places
    its words)."""
    older = store.replaced(fact_ids)
    every = [*fact_ids, *(o for i in fact_ids for o in older[i])]
    chance = dict(zip(every, answers.probabilities(question, store.vectors(every))))
    return [max([chance[i], *(chance[o] for o in older[i])]) for i in fact_ids]


def not_told(question: str, answer: str, nearest: Sequence[Hit], lines: Sequence[Line]) -> bool:
    """Whether the generated reply to a question no fact answers must give way to `NOT_TOLD`: it names
    something remembered (a nearby fact, or a line of the recent turns `lines`), or the question is about
    the user and the reply does not say it does not know, or says it about something the question does not
    ask ("I don't know where you went on your last holiday." to "Where did I spend my student days?")."""
    remembered = [*(h.fact.text for h in nearest), *(line.text for line in lines)]
    if any(speaks_of(answer, line) for line in remembered):
        return True
    if not FIRST_PERSON.search(question):
        return False
    return not SAYS_UNKNOWN.search(answer) or bool(adds(answer, question) - NOT_KNOWING)


def quoted(config: AssistantConfig, intent: Intent, hits: Sequence[Hit], answer: str, question: str,
           sure: bool = False) -> Hit | None:
    """The fact to quote instead of the generated answer: a question's nearest fact, when it is close
    enough (`quote_above`) and the answer does not speak of it; `sure`: the answer finder chose it, and the
    answer does not tell all of it (`consolidation.tells`) or says more (`consolidation.adds`)."""
    if intent.kind != "question" or not hits or (config.quote_above is None and not sure):
        return None
    top = max(hits, key=lambda h: h.similarity)
    if sure:  # the answer finder chose it: the reply must tell all of it, and nothing else
        fact = top.fact.text
        return None if tells(answer, fact, question) and not adds(answer, fact, question) else top
    if top.similarity < config.quote_above or speaks_of(answer, top.fact.text):
        return None
    return top
