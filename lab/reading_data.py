"""Examples for the memory reader (`assistant.reading`): a question, the memories a search returned, which
of them answers (or none) and which characters of it are the answer.

Three sources, mixed:
- SQuAD 2.0's development set split by article (`squad_split`): a paragraph's sentences are the memories,
  the sentence holding the answer answers, and the half of the questions written to be unanswerable from
  the paragraph teach "none" against close neighbours. SQuAD 1.1's dev articles that are not in 2.0's dev
  set add answerable questions. The test articles are never trained on.
- DREAM's dialogues (`dialogue_examples`): the sentences people said are the memories, the one holding a
  question's right answer answers, and the same question over the same sentences without it teaches "none"
  next to its closest neighbours, in everyday talk rather than encyclopaedia prose.
- The catalogue's train split (`relations.py`): a user's own facts among persona sentences, questions in
  many phrasings, and questions about a relation whose fact is absent while facts of near relations (the
  same relative's other attribute, a favourite of another kind) are present.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .corpora import Article, Dialogue, persona_sentences, sentence_spans, squad
from .relations import catalogue, fields, render

TEST_EVERY = 5  # every fifth SQuAD 2.0 dev article (sorted by title) is held out for testing
MAX_MEMORIES = 8  # memories a reader example holds (a search's k)


@dataclass(frozen=True)
class ReadingExample:
    question: str
    memories: tuple[str, ...]
    answer: int | None  # which memory answers (None: none does)
    span: tuple[int, int] | None = None  # the answer's characters in that memory
    answers: tuple[str, ...] = ()  # every accepted answer text (SQuAD's several annotators)
    also: tuple[int, ...] = ()  # other memories that answer it too: earlier versions of the answering one
    ages: tuple[float, ...] = ()  # when each memory was told, larger for later (empty: in the order given)


def squad_split(data: Path) -> tuple[tuple[Article, ...], tuple[Article, ...]]:
    """(training articles, test articles) of SQuAD 2.0 dev, split by article; SQuAD 1.1 dev articles absent
    from 2.0 dev join the training side."""
    v2 = sorted(squad(data, "2.0"), key=lambda a: a.title)
    test = tuple(a for i, a in enumerate(v2) if i % TEST_EVERY == TEST_EVERY - 1)
    train = [a for i, a in enumerate(v2) if i % TEST_EVERY != TEST_EVERY - 1]
    titles = {a.title for a in v2}
    train += [a for a in squad(data, "1.1") if a.title not in titles]
    return tuple(train), test


def squad_examples(articles: Sequence[Article], seed: int, limit: int | None = None, dropped: float = 0.0,
                   casual: float = 0.0) -> list[ReadingExample]:
    """One example per question: the paragraph's sentences (at most MAX_MEMORIES around the answer) as
    memories. `dropped`: the share of answerable questions also asked over their paragraph without the
    sentence that answers them (answered by none: its neighbours are about the same thing, often with a
    value of the same kind, as when "what time does the return flight leave?" finds only the time it
    lands). `casual`: the share of questions typed as people type in a chat ("whats the ..." without a
    question mark)."""
    rng = random.Random(f"squad:{seed}")
    extra = random.Random(f"squad-dropped:{seed}")  # its own draws: the examples above stay as they were
    out = []
    for article in articles:
        for p in article.paragraphs:
            spans = sentence_spans(p.context)
            for qa in p.qas:
                chosen = _window(spans, qa, rng)
                memories = tuple(p.context[a:b] for a, b in chosen)
                answer = span = None
                if qa.answers:
                    text, start = qa.answers[0]
                    for i, (a, b) in enumerate(chosen):
                        if a <= start < b:
                            answer, span = i, (start - a, min(b, start + len(text)) - a)
                            break
                    if answer is None:
                        continue  # the answer lies outside the kept sentences
                question = casually(qa.question, extra) if extra.random() < casual else qa.question
                out.append(ReadingExample(question, memories, answer, span, tuple(t for t, _ in qa.answers)))
                if answer is not None and extra.random() < dropped:
                    rest = tuple(m for i, m in enumerate(memories) if i != answer)
                    if rest and not any(t.lower() in m.lower() for t, _ in qa.answers for m in rest):
                        out.append(ReadingExample(question, rest, None))
    rng.shuffle(out)
    return out[:limit] if limit is not None else out


def casually(question: str, rng: random.Random) -> str:
    """A question as typed in a chat: lower case, the question mark often left off, "what is" run together
    ("whats"), apostrophes sometimes dropped."""
    text = question.strip().lower()
    if rng.random() < 0.6:
        text = text.rstrip("?").rstrip()
    text = re.sub(r"\b(what|where|when|who|how) (is|was)\b", lambda m: m.group(1) + rng.choice(("'s", "s", " " + m.group(2))),
                  text)
    return text.replace("'", "") if rng.random() < 0.5 else text


def version_examples(articles: Sequence[Article], count: int, seed: int, newest: bool = False
                     ) -> list[ReadingExample]:
    """A question over its paragraph's sentences and a correction of the sentence that answers it, told
    later with another value ("actually the 14th"): both answer it (the correction is the answer, the
    sentence an earlier version of it), so the reader gives the question to both and the chat takes the
    newer. Values come from the same article and have the same shape (a number for a number).
    `newest`: the correction alone answers, told after every other memory (`ReadingExample.ages`), and
    half the time another question on the corrected sentence, on words its correction does not retell, is
    asked too: the old sentence still answers that one ("which bakery?" after "its chocolate sponge now")."""
    rng = random.Random(f"versions:{seed}")
    out = []
    for values, p, spans, qa, text, start in _half_the_answers(articles, rng):
        chosen = _window(spans, qa, rng)
        index = next((i for i, (a, b) in enumerate(chosen) if a <= start < b), None)
        if index is None or len(text.split()) > 4:
            continue
        memories = [p.context[a:b] for a, b in chosen][: MAX_MEMORIES - 1]
        if index >= len(memories):
            continue
        others = [v for v in values if v.lower() != text.lower() and _shape(v) == _shape(text)
                  and not any(v.lower() in m.lower() for m in memories)]
        if not others:
            continue
        value = rng.choice(others)
        old = (start - chosen[index][0], start - chosen[index][0] + len(text))
        retold = _retold(memories[index], old, value, rng)
        at = retold.lower().find(value.lower())
        if at < 0:
            continue
        where = rng.randrange(len(memories) + 1)
        memories.insert(where, retold)
        earlier = index + (where <= index)
        question = casually(qa.question, rng) if rng.random() < 0.3 else qa.question
        if not newest:
            out.append(ReadingExample(question, tuple(memories), where, (at, at + len(value)), (value,), (earlier,)))
            continue
        ages = told_last(len(memories), where)
        out.append(ReadingExample(question, tuple(memories), where, (at, at + len(value)), (value,), (), ages))
        sentence = chosen[index]
        rest = [q for q in p.qas if q is not qa and q.answers and sentence[0] <= q.answers[0][1] < sentence[1]
                and q.answers[0][0].lower() not in retold.lower() and text.lower() not in q.answers[0][0].lower()]
        if rest and rng.random() < 0.5:
            other = rng.choice(rest)
            said, begins = other.answers[0]
            span = (begins - sentence[0], min(sentence[1], begins + len(said)) - sentence[0])
            asked = casually(other.question, rng) if rng.random() < 0.3 else other.question
            out.append(ReadingExample(asked, tuple(memories), earlier, span, tuple(t for t, _ in other.answers), (),
                                      ages))
    rng.shuffle(out)
    return out[:count]


def told_last(count: int, last: int) -> tuple[float, ...]:
    """`ReadingExample.ages` of `count` memories told in their order, but memory `last` after all of them."""
    return tuple(float(count) if i == last else float(i) for i in range(count))


def _window(spans: list[tuple[int, int]], qa, rng: random.Random) -> list[tuple[int, int]]:
    if len(spans) <= MAX_MEMORIES:
        return spans
    at = next((i for i, (a, b) in enumerate(spans) if qa.answers and a <= qa.answers[0][1] < b), rng.randrange(len(spans)))
    first = max(0, min(at - rng.randrange(MAX_MEMORIES), len(spans) - MAX_MEMORIES))
    return spans[first:first + MAX_MEMORIES]


def personal_examples(data: Path, count: int, seed: int, split: str = "train", versions: float = 0.0,
                      newest: bool = False) -> list[ReadingExample]:
    """A user's facts (random relations of one catalogue split, some persona sentences among them) and a
    question about one relation (or what a forget request names, or news on it: the memory a statement
    updates is the one that answers the same questions): its fact when told, else none, often with a near
    relation's fact there. `versions`: the share of told facts also told again later with another value
    (an update): both answer, the update is the answer; `newest`: the update alone answers, told after every
    other memory (`ReadingExample.ages`)."""
    rng = random.Random(f"personal-reading:{split}:{seed}")
    again = random.Random(f"personal-versions:{split}:{seed}")  # its own draws
    book = catalogue(split)
    persona = persona_sentences(data)
    relations = list(book.relations)
    out = []
    for _ in range(count):
        asked = rng.choice(relations)
        slot = rng.choice(list(asked.questions))
        question = rng.choice(asked.questions[slot])
        role = rng.random()
        if role < 0.2:  # what a forget request names: the reader finds its targets too
            question = rng.choice((asked.topic, *book.forget_topic)).format(topic=asked.topic)
        elif role < 0.35 and asked.updates:  # news on it: the memory it updates answers the same questions
            question = render(rng.choice(asked.updates),
                              {name: rng.choice(book.values[kind]) for name, kind in asked.slots.items()})
        question = question.lower().rstrip("?") if rng.random() < 0.3 else question
        told = rng.random() < 0.55
        near = [r for r in relations if r is not asked and (
            r.topic == asked.topic or set(r.slots.values()) & set(asked.slots.values())
            or set(r.topic.split()) & set(asked.topic.split()) - {"my", "the", "a"})]  # a favourite of another kind
        others = rng.sample(relations, k=min(len(relations), rng.randint(1, 5)))
        others = [r for r in others if r is not asked]
        if near and rng.random() < 0.7:
            others = [rng.choice(near), *others]
        facts: list[tuple[str, tuple[int, int] | None]] = [_told(r, book, rng) for r in others[: MAX_MEMORIES - 2]]
        facts += [(s, None) for s in rng.sample(persona, k=rng.randint(0, 2))]
        answering = _told(asked, book, rng, slot) if told else None
        if answering is not None:
            facts.append(answering)
        rng.shuffle(facts)
        facts = facts[-MAX_MEMORIES:] if answering is None else [answering, *[f for f in facts if f is not answering]][:MAX_MEMORIES]
        rng.shuffle(facts)
        answer = next((i for i, f in enumerate(facts) if f is answering), None)
        span = facts[answer][1] if answer is not None else None
        also: tuple[int, ...] = ()
        if answer is not None and asked.updates and again.random() < versions:
            newer = _told(asked, book, again, slot, updates_only=True)
            if newer[0].lower() != facts[answer][0].lower() and newer[1] is not None:
                if len(facts) >= MAX_MEMORIES:  # room for the update: one other memory goes
                    facts.pop(again.choice([i for i in range(len(facts)) if i != answer]))
                    answer = next(i for i, f in enumerate(facts) if f is answering)
                where = again.randrange(len(facts) + 1)
                facts.insert(where, newer)
                also, answer, span = (answer + (where <= answer),), where, newer[1]
        ages: tuple[float, ...] = ()
        if newest and also:
            ages = told_last(len(facts), answer)
            also = ()
        if facts:
            out.append(ReadingExample(question, tuple(f for f, _ in facts), answer, span, (), also, ages))
    return out


def _told(relation, book, rng: random.Random, slot: str | None = None, updates_only: bool = False
          ) -> tuple[str, tuple[int, int] | None]:
    """A fact of `relation` as a user tells it, and where the value of `slot` (else its first) lies in it;
    with `slot`, only a way of telling that says it; `updates_only`: told as news on an earlier fact."""
    templates = relation.updates if updates_only else relation.statements + relation.updates
    template = rng.choice([t for t in templates if slot is None or slot in fields(t)] or templates)
    values = {name: rng.choice(book.values[kind]) for name, kind in relation.slots.items()}
    text = render(template, values)
    if rng.random() < 0.3:
        text = text.lower().rstrip(".")
    wanted = [values[slot]] if slot in values else list(values.values())
    at = next(((i, v) for v in wanted if (i := text.lower().find(v.lower())) >= 0), None)
    return text, (at[0], at[0] + len(at[1])) if at else None


# A person's attributes, one fact each: the catalogue gives a relative one fact (name and home), so these
# teach that "what does my brother do?" is not answered by "My brother Karim lives in Leeds." (data, not rules).
KIN = ("sister", "brother", "mum", "mother", "dad", "father", "son", "daughter", "wife", "husband", "partner",
       "boss", "best friend", "flatmate", "neighbour", "cousin", "aunt", "uncle", "grandma", "niece", "coach",
       "tutor", "landlord", "dentist", "doctor", "mechanic")
ATTRIBUTES = {  # attribute: (value kind, ways to tell it, ways to ask it)
    "home": ("places", ("my {k} lives in {v}", "my {k} moved to {v}", "my {k} is based in {v}"),
             ("where does my {k} live?", "where is my {k} based", "which city is my {k} in?")),
    "name": ("names", ("my {k} is called {v}", "my {k}'s name is {v}", "{v} is my {k}"),
             ("what's my {k}'s name?", "what is my {k} called", "who is my {k}?")),
    "job": ("jobs", ("my {k} works as a {v}", "my {k} is a {v}", "my {k} just started as a {v}"),
            ("what does my {k} do for a living?", "what's my {k}'s job", "what does my {k} work as?")),
    "age": ("ages", ("my {k} is {v} years old", "my {k} just turned {v}", "my {k} is {v}"),
            ("how old is my {k}?", "what age is my {k}", "how old's my {k}")),
    "birthday": ("dates", ("my {k}'s birthday is on {v}", "my {k} was born on {v}"),
                 ("when is my {k}'s birthday?", "when was my {k} born", "what day is my {k}'s birthday")),
    "study": ("subjects", ("my {k} studies {v}", "my {k} is doing a degree in {v}"),
              ("what does my {k} study?", "what's my {k} studying", "what is my {k}'s degree in")),
    "drink": ("drinks", ("my {k} only drinks {v}", "my {k}'s favourite drink is {v}"),
              ("what does my {k} like to drink?", "what's my {k}'s favourite drink")),
    "car": ("cars", ("my {k} drives a {v}", "my {k} has a {v}"),
            ("what car does my {k} drive?", "what does my {k} drive")),
}


def attribute_examples(count: int, seed: int, split: str = "train") -> list[ReadingExample]:
    """Questions about one attribute of one person, over memories of that person's other attributes and
    other people's same attribute: the answering memory when it was told (about half), else none."""
    rng = random.Random(f"attributes:{split}:{seed}")
    book = catalogue(split)
    out = []
    for _ in range(count):
        kin, attribute = rng.choice(KIN), rng.choice(list(ATTRIBUTES))
        kind, tells, asks = ATTRIBUTES[attribute]
        question = rng.choice(asks).format(k=kin)
        others = [(kin, a) for a in rng.sample([a for a in ATTRIBUTES if a != attribute], rng.randint(1, 3))]
        others += [(k, attribute) for k in rng.sample([k for k in KIN if k != kin], rng.randint(0, 2))]
        facts: list[tuple[str, tuple[int, int] | None]] = [_attribute_fact(k, a, book, rng)[:2] for k, a in others]
        answering = _attribute_fact(kin, attribute, book, rng)[:2] if rng.random() < 0.5 else None
        if answering is not None:
            facts.append(answering)
        rng.shuffle(facts)
        answer = next((i for i, f in enumerate(facts) if f is answering), None)
        texts = tuple(_cased(f, rng) for f, _ in facts)
        out.append(ReadingExample(_cased(question, rng), texts, answer, facts[answer][1] if answer is not None else None))
    return out


def _attribute_fact(kin: str, attribute: str, book, rng: random.Random) -> tuple[str, tuple[int, int]]:
    kind, tells, _ = ATTRIBUTES[attribute]
    value = rng.choice(book.values[kind])
    template = rng.choice(tells)
    text = template.format(k=kin, v=value)
    text = text[:1].upper() + text[1:] + "."
    at = text.find(value)
    return text, (at, at + len(value))


def _cased(text: str, rng: random.Random) -> str:
    """As typed in a hurry, now and then: lower case, no final stop (spans stay where they were)."""
    return text.lower().rstrip(".") if rng.random() < 0.3 and not text.endswith("?") else text


# How a user marks a correction, and how it may end (data: the model learns that news restates a memory
# with another value, however it is introduced).
NEWS_OPENINGS = ("", "", "", "actually ", "update: ", "correction, ", "no wait, ", "oops, ", "change of plan, ",
                 "scratch that, ", "sorry, ", "it turns out ")
NEWS_ENDINGS = ("", "", "", " now", " instead", " actually", " after all")


def _half_the_answers(articles: Sequence[Article], rng: random.Random):
    """Half the answerable questions (drawn with `rng`), each with its article's short answers (values of
    a correction), its paragraph and sentence spans, and its first answer and where it starts."""
    for article in articles:
        values = [t for p in article.paragraphs for qa in p.qas for t, _ in qa.answers[:1] if len(t.split()) <= 4]
        for p in article.paragraphs:
            spans = sentence_spans(p.context)
            for qa in p.qas:
                if not qa.answers or rng.random() > 0.5:
                    continue
                text, start = qa.answers[0]
                yield values, p, spans, qa, text, start


def news_examples(articles: Sequence[Article], count: int, seed: int) -> list[ReadingExample]:
    """Statements read as questions, over a paragraph's sentences: a sentence retold with another value in
    place of an answer (a correction, cut to the words around it) points at that sentence, the answer span
    being the old value; another sentence of the same paragraph (a new fact on the same topic) points at none
    (its own sentence left out). They teach the reader which memory a statement updates, and that a related
    new fact updates none (a wrong retirement is worse than a missed one)."""
    rng = random.Random(f"news:{seed}")
    out = []
    for values, p, spans, qa, text, start in _half_the_answers(articles, rng):
        at = next((i for i, (a, b) in enumerate(spans) if a <= start < b), None)
        if at is None or len(spans) < 2 or len(text.split()) > 4:
            continue
        chosen = [s for s in _window(spans, qa, rng)]
        index = chosen.index(spans[at]) if spans[at] in chosen else None
        if index is None:
            continue
        memories = tuple(p.context[a:b] for a, b in chosen)
        old = (start - chosen[index][0], start - chosen[index][0] + len(text))
        if rng.random() < 0.5:  # a correction of this sentence
            others = [v for v in values if v.lower() != text.lower() and v.lower() not in memories[index].lower()
                      and _shape(v) == _shape(text)]  # a number for a number, a name for a name
            if not others:
                continue
            sentence = memories[index]
            statement = _retold(sentence, old, rng.choice(others), rng)
            out.append(ReadingExample(statement, memories, index, old, (text,)))
        else:  # another fact of the same paragraph: news on none of the others
            other = rng.choice([i for i in range(len(memories)) if i != index] or [index])
            if other == index:
                continue
            statement = _cased(rng.choice(NEWS_OPENINGS) + memories[other], rng)
            rest = tuple(m for i, m in enumerate(memories) if i != other)
            out.append(ReadingExample(statement, rest, None))
    rng.shuffle(out)
    return out[:count]


def _retold(sentence: str, span: tuple[int, int], value: str, rng: random.Random) -> str:
    """`sentence` with `value` in place of the characters `span`, cut to a few words around it, as a user
    types a correction."""
    before = sentence[:span[0]].split()
    after = sentence[span[1]:].split()
    words = before[max(0, len(before) - rng.randint(2, 8)):] + [value] + after[:rng.randint(0, 4)]
    text = rng.choice(NEWS_OPENINGS) + " ".join(words).rstrip(",;:. ") + rng.choice(NEWS_ENDINGS)
    return text.lower() if rng.random() < 0.4 else text


def _shape(value: str) -> str:
    """What kind of value a SQuAD answer is, by its characters: a number, a name, or other words."""
    return "number" if any(c.isdigit() for c in value) else "name" if value[:1].isupper() else "words"


# Words too common to show where an answer was said (data generation only: which sentence of a dialogue
# holds a question's answer).
_COMMON = frozenset("""a an the of to in on at for by with from and or but not no is are was were be been am do does
did has have had i you he she it we they me him her us them my your his its our their this that these those
there here so very just too will would can could shall should may might must s t ll ve re d m what which who
when where why how he's she's it's i'm""".split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _content(text: str) -> list[tuple[str, int, int]]:
    """The uncommon words of `text`, each with where it is."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text.lower()) if m.group() not in _COMMON]


def dialogue_examples(dialogues: Sequence[Dialogue], count: int | None, seed: int) -> list[ReadingExample]:
    """DREAM's questions over the sentences of their dialogue (at most MAX_MEMORIES, around the answer). A
    question whose right answer's words are mostly in one sentence, and clearly fewer in every other, is
    answered by it, the answer span running from the first of those words to the last; the same question
    over the sentences left when every sentence sharing a third of the answer's words is taken out is
    answered by none. Questions about what the talk implies (the answer's words are in no sentence) are
    left out."""
    rng = random.Random(f"dialogue:{seed}")
    out = []
    for dialogue in dialogues:
        sentences = [line[a:b] for _, line in dialogue.lines for a, b in sentence_spans(line)]
        for question, answer in dialogue.questions:
            wanted = {w for w, _, _ in _content(answer)}
            if not wanted or not sentences:
                continue
            found = [[(w, a, b) for w, a, b in _content(s) if w in wanted] for s in sentences]
            share = [len({w for w, _, _ in f}) / len(wanted) for f in found]
            at = max(range(len(sentences)), key=lambda i: share[i])
            runner_up = max((x for i, x in enumerate(share) if i != at), default=0.0)
            if share[at] < 0.6 or runner_up > share[at] - 0.3:
                continue
            first, last = found[at][0][1], found[at][-1][2]
            span = (first, last) if len(sentences[at][first:last].split()) <= 10 else None
            start = max(0, min(at - rng.randrange(MAX_MEMORIES), len(sentences) - MAX_MEMORIES))
            window = list(range(start, min(len(sentences), start + MAX_MEMORIES)))
            asked = question.lower().rstrip("?") if rng.random() < 0.3 else question
            out.append(ReadingExample(asked, tuple(sentences[i] for i in window), window.index(at), span, (answer,)))
            rest = tuple(sentences[i] for i in window if share[i] < 1 / 3)
            if rest:
                out.append(ReadingExample(asked, rest, None))
    rng.shuffle(out)
    return out[:count] if count is not None else out
