"""The assistant: one conversation joining short-term memory, long-term memory and the generator.

One turn (STYLE.md, "One chat turn"): classify what the user asks of memory -> ONE read from the store
(the facts nearest the turn) -> the generator writes the reply from those facts and the recent turns,
copying names and places from them -> ONE write back (what the user told us, what the reply used).
Explicit memory operations (forget, "what do you know about me?") are carried out on the store and
answered from what the store did, so the answer can never disagree with memory.

Short-term memory is the window of recent lines, re-read every turn (their words can be copied), plus
the generator's dialogue-LSTM state carried across turns: each line that falls out of the window is read
into it (`Generator.carry`), so it still shapes replies but its words can no longer be copied; both are
cleared at the end of a session, and nothing of them lasts unless it was consolidated into the store.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np
import torch

from memory_store import Fact, Hit, MemoryStore, Words

from .answers import AnswerFinder, choose_answer, load_finder
from .batching import collate, encode_context, encode_history
from .checkpoint import load_checkpoint
from .clauses import clauses
from .cued import recall_by_cue
from .consolidation import (about_someone_else, adds, asks_another_thing_about_them, names_same_person, replaces,
                            same_kind_of_thing, signals_a_fact, speaks_of, tells, without_update_marker)
from .decoding import Decoded, beam_search, greedy
from .errors import CheckpointError
from .generator import CHAT_CHECKPOINT_KIND, GO, Generator, GeneratorConfig, State
from .intents import FIRST_PERSON, Intent, classify
from .kin import may_name_someone, names_asked, names_given, with_kin
from .lines import Line
from .forgetting import named_by
from .lists import without_item
from .reading import Reader, load_reader
from .settings import AssistantConfig
from .turns import TELLING, Turn, TurnReader, load_turn_reader
from .text import as_sentence, complete_names, detokenize, names, second_person, spellings, tokenize, without_repeats
from .updates import UpdateDetector, another_pet, choose_update, load_detector, passing
from .vocab import Vocab
from .wording import ALL_OF_IT, FORGET_ONE_BY_ONE, NOT_KNOWING, NOT_TOLD, SAYS_UNKNOWN, acknowledged, lower_first

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default.pt"
DEFAULT_UPDATES = DEFAULT_MODEL.with_name("updates.pt")  # the update detector (`memchat train-updates`)
DEFAULT_ANSWERS = DEFAULT_MODEL.with_name("answers.pt")  # the answer finder (`memchat train-answers`)
DEFAULT_TURNS = DEFAULT_MODEL.with_name("turns.pt")  # the turn model (`memchat train-turns`)
DEFAULT_READER = DEFAULT_MODEL.with_name("reader.pt")  # the memory reader (`memchat train-reader`)
HELP = ("Tell me anything and I'll remember it; ask me about it later. Say \"forget ...\" to make me forget "
        "something, \"what do you know?\" for everything I remember, and \"exit\" to leave.")
GOODBYE = "Bye! Everything you told me stays in memory."


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


@dataclass(frozen=True)
class _Understood:
    """A line as the turn model understood it, with the vectors it was read with (so a turn embeds its
    line once)."""

    turn: Turn
    intent: Intent  # what the memory operations take from it
    vector: np.ndarray | None = None  # the line's sentence embedding
    words: Words | None = None  # its contextual word vectors


@dataclass
class _Session:
    lines: deque[Line]
    carried: State | None = None  # the dialogue LSTM's state over the lines that left the window
    pending: list[tuple[str, int]] = field(default_factory=list)  # statements not yet stored, with their turn
    turn: int = 0
    number: int = 1
    last_stored: tuple[int, ...] = ()  # the facts the latest telling turn stored: what "forget it" means


class Assistant:
    """A conversation with one user over one store. Build with `Assistant.load`."""

    def __init__(self, store: MemoryStore, model: Generator, vocab: Vocab, user: str = "default",
                 config: AssistantConfig = AssistantConfig(), model_name: str = "",
                 updates: UpdateDetector | None = None, answers: AnswerFinder | None = None,
                 turns: TurnReader | None = None, reader: Reader | None = None) -> None:
        self.store, self.model, self.vocab, self.user, self.config = store, model, vocab, user, config
        self.model_name = model_name
        self.updates = updates  # None: updates are found by the word rules alone
        self.answers = answers  # None: the generator alone picks which fact answers a question
        self.turns = turns  # None: a line is understood by the word rules of `intents.classify`
        self.reader = reader  # None: the answer finder (or the generator) picks which fact answers
        self.model.eval()
        self._session = _Session(deque(maxlen=config.window))

    @classmethod
    def load(cls, store: MemoryStore, user: str = "default", checkpoint: Path | None = None,
             config: AssistantConfig = AssistantConfig(), updates: Path | None = DEFAULT_UPDATES,
             answers: Path | None = DEFAULT_ANSWERS, turns: Path | None = DEFAULT_TURNS,
             reader: Path | None = DEFAULT_READER) -> Assistant:
        """The assistant with the shipped default model, or the generator checkpoint given. `updates`: the
        update detector, `answers`: the answer finder (None, a missing file, or one trained on another
        embedding model than the store's: updates are found by the word rules alone, and the generator
        alone picks the fact that answers a question)."""
        path = Path(checkpoint) if checkpoint is not None else DEFAULT_MODEL
        model, vocab = load_generator(path)
        return cls(store, model, vocab, user, config, model_name=path.name,
                   updates=_classifier(updates, load_detector, store), answers=_classifier(answers, load_finder, store),
                   turns=_reader(turns, load_turn_reader, store), reader=_reader(reader, load_reader, store))

    def for_user(self, user: str) -> Assistant:
        """A fresh conversation with another user over the same store and the same loaded model."""
        return Assistant(self.store, self.model, self.vocab, user, self.config, self.model_name, self.updates,
                         self.answers, self.turns, self.reader)

    @property
    def recent(self) -> tuple[Line, ...]:
        """Short-term memory: the window of recent lines, oldest first."""
        return tuple(self._session.lines)

    def reply(self, text: str, now: datetime | None = None) -> Reply:
        """Answer one user turn, reading and writing long-term memory as the turn asks."""
        text = " ".join(text.split())
        self._session.turn += 1
        understood = self._understand(text)
        intent = understood.intent
        if intent.kind in ("help", "exit"):
            return Reply(HELP if intent.kind == "help" else GOODBYE, intent.kind)
        if intent.kind == "forget":
            reply = self._forget(intent, now)
        elif intent.kind == "list":
            reply = self._list(now)
        else:
            reply = self._converse(text, intent, now, understood)
        if reply.forgotten:  # forgetting reaches short-term memory too: no line about it stays to be copied
            self._forget_briefly(reply.forgotten)
        else:
            self._remember_briefly([Line("user", text), Line("bot", reply.text)])
        return reply

    def _understand(self, text: str) -> _Understood:
        """What the line asks (the turn model; without one, the word rules) and what it tells."""
        if self.turns is None or not text:
            intent = classify(text)
            return _Understood(Turn(text, intent.kind, 1.0), intent)
        vectors, words = self.store.embed_words([text])
        turn = self.turns.understand(words[0], vectors[0])
        if words[0].spans and words[0].spans[-1][1] < len(text.rstrip(" .!?")):  # longer than MiniLM reads
            turn = self._understand_in_parts(text, turn)
        if turn.kind == "exit" and turn.confidence < self.config.sure_to_act:
            # not sure enough to end the chat: the model's next guess, the line as its fact
            turn = dataclasses.replace(turn, kind=turn.runner_up, facts=(turn.text,))
        return _Understood(turn, self._intent(turn), vectors[0], words[0])

    def _understand_in_parts(self, text: str, first: Turn) -> Turn:
        """A line longer than the embedding model reads (256 word pieces), understood sentence by sentence:
        its kind is the first part's, its facts every part's, so nothing told at its end is lost."""
        if first.kind not in TELLING:
            return first
        parts = [p for p in re.split(r"(?<=[.!?;])\s+", text) if p.strip()]
        vectors, words = self.store.embed_words(parts)
        turns = [self.turns.understand(w, v) for w, v in zip(words, vectors)]
        return dataclasses.replace(first, facts=tuple(f for t in turns for f in (t.facts or (t.text,))))

    @staticmethod
    def _intent(turn: Turn) -> Intent:
        """The turn as the memory operations take it: what to store, ask, or forget."""
        if turn.kind in TELLING:
            return Intent(turn.kind, " ".join(as_sentence(f) for f in turn.facts) if turn.facts else turn.text,
                          facts=tuple(as_sentence(f) for f in turn.facts))
        if turn.kind == "forget":
            return Intent("forget", turn.facts[0] if turn.facts else turn.text)
        return Intent(turn.kind, turn.text)

    def _forget_briefly(self, facts: Sequence[Fact]) -> None:
        """Drop the window's lines about forgotten facts (the forget turn itself is not added either)."""
        kept = [line for line in self._session.lines if not any(speaks_of(line.text, f.text) for f in facts)]
        self._session.lines.clear()
        self._session.lines.extend(kept)
        self._session.pending = [(s, t) for s, t in self._session.pending if not any(speaks_of(s, f.text) for f in facts)]

    @property
    def carried(self) -> State | None:
        """The dialogue LSTM's state over the lines that left the window this session (None: none yet, or
        a model trained without it)."""
        return self._session.carried

    def _remember_briefly(self, lines: list[Line]) -> None:
        """Add lines to the window; the ones pushed out of it are read into the carried state."""
        window = self._session.lines
        every = [*window, *lines]
        leaving = every[: max(0, len(every) - (window.maxlen or 0))]
        if leaving and self.model.config.reads_history:
            history = encode_history(leaving)
            if history is not None:
                with torch.no_grad():
                    self._session.carried = self.model.carry(collate([history], self.vocab), self._session.carried)
        window.extend(lines)

    def remember(self, statement: str, now: datetime | None = None, importance: float | None = None
                 ) -> tuple[list[Fact], list[Fact]]:
        """Store a statement as the chat stores one (`memchat add`): cut into its facts, each checked for
        being known already (reinforced) and for updating an older memory (retired, linked). Returns
        (stored, replaced)."""
        return self._remember(statement, now, self._session.turn, importance=importance)

    def end_session(self, now: datetime | None = None) -> list[Fact]:
        """Consolidate short-term memory: store the statements still pending, then start afresh."""
        stored = [f for statement, turn in self._session.pending for f in self._remember(statement, now, turn)[0]]
        self._session = _Session(deque(maxlen=self.config.window), number=self._session.number + 1)
        return stored

    # -- one turn -------------------------------------------------------------------------------------

    def _converse(self, text: str, intent: Intent, now: datetime | None, understood: _Understood | None = None) -> Reply:
        telling = intent.kind in ("remember", "statement")
        said = without_update_marker(intent.text)[0] if telling else text  # "Actually, ..." says nothing
        known = understood.vector if understood is not None and said == understood.turn.text else None
        query, vector, nearest = self._read(said, now, known)
        if query != said:  # "Ana moved." -> "My sister Ana moved.": stored, asked and answered as that
            kind = "statement" if intent.kind == "small_talk" and signals_a_fact(query) else intent.kind
            text, intent = query, dataclasses.replace(intent, kind=kind, text=query, facts=())  # "Sofia teaches maths."
            telling = intent.kind in ("remember", "statement")
        finding = intent.kind == "question" and (self.answers is not None or self.reader is not None)
        reach = self.config.reader_k if finding and self.reader is not None else self.config.memory_k
        hits = [h for h in nearest[:reach]
                if h.similarity >= self.config.min_similarity or finding]  # the finder judges any of them
        if intent.kind == "question" and self.reader is None:  # the word rules, without the reader:
            # a fact about your sister never answers a question about your mother
            hits = [h for h in hits if not about_someone_else(text, h.fact.text)
                    and not asks_another_thing_about_them(text, h.fact.text)]  # where she works vs lives
            known = names_given([h.fact.text for h in nearest])
            if asked := names_asked(text, known):  # "where does julia live" never reads a fact about Clara
                hits = [h for h in hits if asked & names_asked(h.fact.text, known)]
        stored: list[Fact] = []
        replaced: list[Fact] = []
        if telling and (intent.kind == "remember" or self.config.consolidate == "at_once"):
            stored, replaced = self._remember(intent.text, now, self._session.turn, nearest,
                                              importance=0.8 if intent.kind == "remember" else None,
                                              parts=intent.facts, marked=without_update_marker(text)[1] or None)
            self._session.last_stored = tuple(f.id for f in stored)
        elif intent.kind == "statement":
            self._session.pending.append((intent.text, self._session.turn))
        probability: dict[int, float] = {}
        candidates = hits
        answer_words = ""
        if finding and self.reader is not None:  # the reader chooses the memory that answers, or none
            words = understood.words if understood is not None and query == understood.turn.text else None
            read, probability, answer_words = self._read_answer(query, words, hits)
            if not read and self.answers is not None and self.config.finder_backs_reader_above is not None:
                read = self._finder_sure(vector, hits)  # what the answer finder is sure of, the reader missed
            hits = read
        elif finding:  # the generator reads the fact that answers the question, or no fact
            hits, probability = self._answer(text, vector, hits, nearest[: self.config.memory_k])
        decoded, facts_lines, context = self._generate(hits, text)
        recalled = self._recalled(hits, decoded, facts_lines, context, probability)
        recalled += [Recalled(h.fact, h.similarity, h.retention, 0.0, False, probability.get(h.fact.id), h.found_by)
                     for h in candidates if h not in hits]  # weighed by the finder, not read
        used = [r.fact.id for r in recalled if r.used and r.fact.id not in {f.id for f in stored}]
        spelled = spellings([*(h.fact.text for h in hits), *(line.text for line in self._session.lines), text])
        tokens = without_repeats(complete_names(decoded.tokens, [n for h in hits for n in names(h.fact.text)]),
                                 [*(h.fact.text for h in hits), text])
        answer = detokenize(tokens, spelled, capitalize=True)
        if finding and not hits and (self.reader is not None or self._not_told(text, answer, nearest)):
            cued = recall_by_cue(self.store, self.reader, self.answers, self.user, query, vector, now)
            if cued is not None:  # a faded memory the question clearly asks about: recalled, hedged (cued.py)
                recalled.append(Recalled(cued.fact, cued.similarity, cued.retention, 1.0, True, cued.chance))
                return Reply(cued.text, intent.kind, tuple(recalled), tuple(stored), tuple(replaced), answer=cued.answer)
            return Reply(NOT_TOLD, intent.kind, tuple(recalled), tuple(stored), tuple(replaced))
        answer = acknowledged(answer, stored, replaced)
        quoted = self._quoted(intent, hits, answer, text, sure=finding)
        if quoted is None and answer_words and hits and answer_words.lower() not in answer.lower():
            quoted = hits[0]  # the reply must say the answer as the memory holds it ("6:15", "check-in")
        if quoted is not None:
            answer = f"You told me that {lower_first(second_person(quoted.fact.text).rstrip('.!'))}."
            recalled = [dataclasses.replace(r, used=True) if r.fact.id == quoted.fact.id else r for r in recalled]
            used.append(quoted.fact.id)
        if used:
            self.store.mark_recalled(sorted(set(used)), now=now)
        return Reply(answer, intent.kind, tuple(recalled), tuple(stored), tuple(replaced), answer=answer_words)

    def _read(self, query: str, now: datetime | None, vector: np.ndarray | None = None
              ) -> tuple[str, np.ndarray, list[Hit]]:
        """The turn's read of long-term memory: the query as meant, its embedding and its nearest facts. A
        relative named by name alone gets the kin word the nearest facts give that name ("Ana moved." ->
        "My sister Ana moved."), and memory is read again for that."""
        k = max(self.config.memory_k, self.config.reader_k if self.reader is not None else 0, self._reach())
        vector = self.store.embed_query(query) if vector is None else vector
        nearest = self.store.search(query, k=k, user=self.user, now=now, vector=vector)  # words and meaning
        facts = [h.fact.text for h in nearest]
        resolved = with_kin(query, names_given(facts))
        if resolved == query and may_name_someone(query):  # a name an update left behind?
            older = self.store.replaced([h.fact.id for h in nearest])
            pairs = [(h.fact.text, old.text) for h in nearest for o in older[h.fact.id]
                     if (old := self.store.get(o)).status != "forgotten"]  # a forgotten name stays forgotten
            resolved = with_kin(query, names_given(facts, pairs)) if pairs else query
        if resolved == query:
            return query, vector, nearest
        vector = self.store.embed_query(resolved)
        return resolved, vector, self.store.search(resolved, k=k, user=self.user, now=now, vector=vector)

    def _answer(self, question: str, vector, hits: list[Hit], nearest: list[Hit]) -> tuple[list[Hit], dict[int, float]]:
        """The fact that answers a question (none, or one of `hits`), and the finder's probability for each
        hit. The finder's choice; else the nearest hit when it is at least `quote_above` similar, or at least
        `same_words_above` and the word rules find the same kind of thing in both; else, for
        a question who a relative is, the nearest of `nearest` that names them ("Who is my father?" and
        "My father, Thiago, has a flat in Minneapolis." are only 0.18 similar)."""
        if not hits:
            same_person = [h for h in nearest if names_same_person(question, h.fact.text)]
            return same_person[:1], {}
        chances = self._answering(vector, [h.fact.id for h in hits])
        probability = {h.fact.id: p for h, p in zip(hits, chances)}
        chosen = choose_answer(question, [h.fact.text for h in hits], chances, self.answers.config.threshold,
                               [h.similarity for h in hits])
        if chosen is not None:
            return [hits[chosen]], probability
        top = max(hits, key=lambda h: h.similarity)
        if self.config.quote_above is not None and top.similarity >= self.config.quote_above:
            return [top], probability  # the finder doubts it, but it is as close as answers get
        agree = self.config.same_words_above
        if agree is not None and top.similarity >= agree and same_kind_of_thing(question, top.fact.text):
            return [top], probability  # "what is my job" and "I work as an accountant at Deloitte."
        same_person = sorted((h for h in nearest if names_same_person(question, h.fact.text)),
                             key=lambda h: -h.similarity)
        return same_person[:1], probability

    def _read_answer(self, question: str, words, hits: list[Hit]) -> tuple[list[Hit], dict[int, float], str]:
        """The hit that answers a question by the memory reader (none, or one), the reader's probability
        for each hit, and the answer's words. `words`: the question's word vectors, when already made."""
        if not hits:
            return [], {}, ""
        texts = [h.fact.text for h in hits] if words is not None else [question, *(h.fact.text for h in hits)]
        _, read = self.store.embed_words(texts)
        if words is None:
            words, read = read[0], read[1:]
        threshold = self.config.reader_threshold
        reading = self.reader.read(words, read, self.reader.threshold if threshold is None else threshold)
        probability = {h.fact.id: p for h, p in zip(hits, reading.chances)}
        if reading.chosen is None:
            return [], probability, ""
        best = reading.chances[reading.chosen]
        answering = [i for i, p in enumerate(reading.chances) if p >= self.config.newer_share * best]
        newest = max(answering, key=lambda i: (hits[i].fact.created_at, hits[i].fact.id))
        if newest != reading.chosen:  # two memories answer it: the newer is the answer, the older history
            return [hits[newest]], probability, self.reader.span(words, read[newest])
        return [hits[reading.chosen]], probability, reading.answer

    def _finder_sure(self, vector: np.ndarray, hits: list[Hit]) -> list[Hit]:
        """The hit the answer finder gives at least `finder_backs_reader_above` (the likeliest), if any: the
        catalogue's relations in phrasings the reader never read ("Which city am I from?")."""
        if not hits:
            return []
        chances = self._answering(vector, [h.fact.id for h in hits])
        best = max(range(len(hits)), key=lambda i: chances[i])
        return [hits[best]] if chances[best] >= self.config.finder_backs_reader_above else []

    def _answering(self, question, fact_ids: list[int]) -> list[float]:
        """P(each fact answers the question) by the answer finder. A fact that updated older ones is about
        what they were about: it gets the most probable of its own and theirs ("Nothing beats halloumi for
        me.", news on "My favourite food is porridge.", answers what that answered, however the finder places
        its words)."""
        older = self.store.replaced(fact_ids)
        every = [*fact_ids, *(o for i in fact_ids for o in older[i])]
        chance = dict(zip(every, self.answers.probabilities(question, self.store.vectors(every))))
        return [max([chance[i], *(chance[o] for o in older[i])]) for i in fact_ids]

    def _not_told(self, question: str, answer: str, nearest: list[Hit]) -> bool:
        """Whether the generated reply to a question no fact answers must give way to `NOT_TOLD`: it names
        something remembered (a nearby fact, or a line of the recent turns), or the question is about the
        user and the reply does not say it does not know, or says it about something the question does not
        ask ("I don't know where you went on your last holiday." to "Where did I spend my student days?")."""
        remembered = [*(h.fact.text for h in nearest), *(line.text for line in self._session.lines)]
        if any(speaks_of(answer, line) for line in remembered):
            return True
        if not FIRST_PERSON.search(question):
            return False
        return not SAYS_UNKNOWN.search(answer) or bool(adds(answer, question) - NOT_KNOWING)

    def _quoted(self, intent: Intent, hits: list[Hit], answer: str, question: str, sure: bool = False) -> Hit | None:
        """The fact to quote instead of the generated answer: a question's nearest fact, when it is close
        enough (`quote_above`) and the answer does not speak of it; `sure`: the answer finder chose it, and the
        answer does not tell all of it (`consolidation.tells`) or says more (`consolidation.adds`)."""
        if intent.kind != "question" or not hits or (self.config.quote_above is None and not sure):
            return None
        top = max(hits, key=lambda h: h.similarity)
        if sure:  # the answer finder chose it: the reply must tell all of it, and nothing else
            fact = top.fact.text
            return None if tells(answer, fact, question) and not adds(answer, fact, question) else top
        if top.similarity < self.config.quote_above or speaks_of(answer, top.fact.text):
            return None
        return top

    def _generate(self, hits: list[Hit], text: str) -> tuple[Decoded, list[int], list[Line]]:
        """The reply from the facts (kb lines), the recent turns and this turn. Also returns, for each
        memory slot, the index of the fact it belongs to (-1 for dialogue words)."""
        context = [Line("kb", h.fact.text) for h in hits] + list(self._session.lines) + [Line("user", text)]
        encoded = encode_context(context, self.model.config.memory_tokens)
        batch = collate([encoded], self.vocab)
        with torch.no_grad():
            carried = self._session.carried
            decoded = (greedy(self.model, batch, self.vocab, carried=carried)[0] if self.config.beam <= 1
                       else beam_search(self.model, batch, self.vocab, beam=self.config.beam, carried=carried))
        kept = len(encoded.words)
        first = len(context) - kept  # lines dropped from the front for length
        owners = [i + first if i + first < len(hits) else -1 for i, words in enumerate(encoded.words) for _ in words]
        return decoded, owners, context

    def _recalled(self, hits: list[Hit], decoded: Decoded, owners: list[int], context: list[Line],
                  probability: dict[int, float]) -> list[Recalled]:
        pointer = decoded.pointer[:, : len(owners)]  # (steps, M) without the sentinel
        owner = torch.tensor(owners)
        reply_words = set(decoded.tokens)
        asked = set(tokenize(context[-1].text))
        out = []
        for i, hit in enumerate(hits):
            mass = pointer[:, owner == i].sum(dim=1)  # (steps,)
            attention = float(mass.max()) if mass.numel() else 0.0
            copied = {w for w in tokenize(hit.fact.text) if w.isalnum() and len(w) > 2} & reply_words - asked
            used = attention >= self.config.used_attention or bool(copied)
            out.append(Recalled(hit.fact, hit.similarity, hit.retention, attention, used, probability.get(hit.fact.id),
                                hit.found_by))
        return out

    def _reach(self) -> int:
        """How many of a statement's nearest facts are weighed for being updated by it."""
        finder = self.config.same_relation_candidates if self.answers is not None else 0
        return max(self.config.update_candidates, finder)

    def _remember(self, statement: str, now: datetime | None, turn: int, nearest: list[Hit] | None = None,
                  importance: float | None = None, parts: Sequence[str] = (), marked: bool | None = None
                  ) -> tuple[list[Fact], list[Fact]]:
        """Store a statement; where it updates one of the nearest older facts (by the update detector, or
        the word rules of `consolidation.replaces` without one), retire that one: dormant, linked to the
        new fact. `nearest`: the turn's search results, when the statement is stored during its turn."""
        core, news = without_update_marker(statement)
        marked = news if marked is None else marked
        parts = list(parts) or clauses(core)  # the turn model's facts, else the word rules' clauses
        if len(parts) == 1:
            core = parts[0]
            return self._remember_one(core, marked, now, turn, nearest, importance, ())
        stored: list[Fact] = []
        replaced: list[Fact] = []
        for part in parts:  # "I'm Tom, I'm 34 years old.": two facts, each read against its own nearest facts
            one, gone = self._remember_one(part, marked, now, turn, None, importance, [f.id for f in stored])
            stored += one
            replaced += gone
        return stored, replaced

    def _remember_one(self, core: str, marked: bool, now: datetime | None, turn: int, nearest: list[Hit] | None,
                      importance: float | None, keep: Sequence[int]) -> tuple[list[Fact], list[Fact]]:
        """Store one fact, retiring the older fact it updates (never one of `keep`, stored this turn)."""
        hits = nearest if nearest is not None else self.store.search(core, k=self._reach(), user=self.user, now=now)
        source = {"session": self._session.number, "turn": turn, "via": "chat"}
        fact = self.store.add(core, user=self.user, importance=importance, now=now, source=source)
        candidates = [h for h in hits[: self._reach()] if h.fact.id != fact.id and h.fact.id not in keep]
        if self.updates is not None and candidates:
            chosen = self._choose_update(core, marked, fact, candidates)
        else:
            nearest_few = candidates[: self.config.update_candidates]
            chosen = next((i for i, h in enumerate(nearest_few) if replaces(core, h.fact.text, h.similarity)), None)
        if self.reader is not None and self.config.reader_updates and candidates:
            chosen = self._confirmed_update(core, candidates, chosen)
        retire = [] if chosen is None else [candidates[chosen]]
        replaced = [self.store.supersede(h.fact.id, fact.id, now=now) for h in retire]
        return [fact], replaced

    def _confirmed_update(self, statement: str, candidates: list[Hit], chosen: int | None) -> int | None:
        """The memory a statement updates, read by the memory reader: both must answer the same questions,
        so the reader, given the statement, must point at the candidate the update models chose (else no
        update: a wrong retirement is worse than a missed one); a candidate the reader is sure of
        (`reader_updates_above`) is updated even when those models missed it."""
        candidates = candidates[: self.config.reader_k]  # as many as the reader was trained to read
        if (chosen is None and self.config.reader_updates_above is None) or (chosen or 0) >= len(candidates):
            return None
        _, words = self.store.embed_words([statement, *(h.fact.text for h in candidates)])
        reading = self.reader.read(words[0], words[1:], self.config.reader_update_threshold)
        if reading.chosen is None:
            return None
        if reading.chosen == chosen:
            return chosen
        sure = self.config.reader_updates_above
        return reading.chosen if sure is not None and reading.chances[reading.chosen] >= sure else None

    def _choose_update(self, statement: str, marked: bool, fact: Fact, candidates: list[Hit]) -> int | None:
        """Which candidate a statement updates, by the models: the update detector (over the nearest
        `update_candidates`) and the answer finder's same relation (ranked first), never a fact the finder
        places surely in another relation; for a statement the user marked as news ("Actually, ...", "That
        has changed."), failing those, the likeliest candidate by either model at `marked_updates`."""
        texts = [h.fact.text for h in candidates]
        vectors = self.store.vectors([fact.id, *(h.fact.id for h in candidates)])  # embedded once, when stored
        detector = [p if rank < self.config.update_candidates else 0.0
                    for rank, p in enumerate(self.updates.probabilities(vectors[0], vectors[1:]))]
        same = [0.0] * len(candidates)
        apart = [False] * len(candidates)
        if self.answers is not None:
            same = self.answers.probabilities(vectors[0], vectors[1:])
            if self.config.apart_above is not None:  # never a fact surely about another relation
                apart = self.answers.apart(vectors[0], vectors[1:], self.config.apart_above)
        above = self.config.same_relation_updates
        if not marked:  # "My cat is called Pepper." beside "My dog is called Biscuit.": a second pet, unless news
            apart = [other or another_pet(statement, t) for other, t in zip(apart, texts)]
        chances = [0.0 if other else 1.0 + q if self.answers is not None and above is not None and q >= above
                   else passing(p, self.updates.config.threshold) for p, q, other in zip(detector, same, apart)]
        chosen = choose_update(statement, texts, chances)
        if chosen is None and marked and self.config.marked_updates is not None:
            if self.answers is not None:
                apart = self.answers.apart(vectors[0], vectors[1:], self.config.marked_apart_above)
            hints = [0.0 if other else passing(max(p, q), self.config.marked_updates)
                     for p, q, other in zip(detector, same, apart)]
            chosen = choose_update(statement, texts, hints)
        return chosen

    def _forget(self, intent: Intent, now: datetime | None) -> Reply:
        """Forget what the request names (never a fact about another relative than it names): for
        "everything about my pet", the facts about that relation, else every fact its words name; for one
        fact, the one its words name best, else the likeliest about the same relation, else the nearest
        at `forget_nearest_above`."""
        def named(threshold: float | None = None) -> list[Hit]:
            return [h for h in self.store.matching(intent.text, user=self.user, threshold=threshold)
                    if not about_someone_else(intent.text, h.fact.text)]

        said = intent.text.lower().rstrip(".!")
        if said in ALL_OF_IT:
            return Reply(FORGET_ONE_BY_ONE, "forget")
        if said in ("it", "that", "this") and self._session.last_stored:  # what was just said
            forgotten = self.store.forget_many(list(self._session.last_stored), now=now)
            self._session.last_stored = ()
            return self._forgotten(forgotten, intent)
        if self.reader is not None and (read := self._forget_by_reading(intent.text, now)) is not None:
            return read  # else the answer finder and the word rules below, as without the reader
        finder = self.answers is not None
        request = cache(lambda: self.store.embed_query(intent.text))  # embedded once, if at all
        if intent.everything:
            forgotten = self._forget_by_relation(intent, request(), now) if finder else []
            if not forgotten and (matches := named()):
                forgotten = self.store.forget_many([h.fact.id for h in matches], now=now,
                                                   reason="matched a forget request")
        else:
            matches = named()
            forgotten = [self.store.forget(matches[0].fact.id, now=now)] if matches else []
            if not forgotten and finder:
                forgotten = self._forget_by_relation(intent, request(), now)
        if not forgotten and self.config.forget_nearest_above is not None:
            nearest = self._not_apart(request, named(self.config.forget_nearest_above))
            forgotten = [self.store.forget(nearest[0].fact.id, now=now)] if nearest else []
        return self._forgotten(forgotten, intent)

    def _forget_by_reading(self, target: str, now: datetime | None) -> Reply | None:
        """Forget what a request names, by the memory reader (`forgetting.named_by`): whole memories, or
        one item of a list (the memory is edited: "take the batteries off the list"); when it could mean
        several items, ask which. None: the reader finds nothing the request names."""
        named = named_by(self.store, self.reader, self.config, self.user, target, now)
        if not (named.forget or named.item_of or named.unclear):
            return None
        if named.unclear:
            return Reply("Which one should I take out: " + " or ".join(f'"{i}"' for i in named.unclear) + "?",
                         "forget")
        if named.item_of is not None:
            said = named.item_of.text[named.item[0]:named.item[1]]
            fact = self.store.update(named.item_of.id, without_item(named.item_of.text, named.item), now=now,
                                     reason="an item forgotten on request")
            self._forget_briefly([named.item_of])  # the old list leaves short-term memory too
            return Reply(f"Ok, I've taken {second_person(said)} out: {as_sentence(second_person(fact.text))}",
                         "forget", edited=(fact,), removed=(said,))
        ids = [f.id for f in named.forget]
        forgotten = self.store.forget_many(ids, now=now, reason="matched a forget request") if ids else []
        return self._forgotten(forgotten, Intent("forget", target))

    @staticmethod
    def _forgotten(forgotten: Sequence[Fact], intent: Intent) -> Reply:
        if not forgotten:
            return Reply(f"I couldn't find anything about {second_person(intent.text.rstrip('.'))} in my memory.",
                         "forget")
        said = "; ".join(second_person(f.text).rstrip(".") for f in forgotten)
        return Reply(f"Ok, I've forgotten that {lower_first(said)}.", "forget", forgotten=tuple(forgotten))

    def _not_apart(self, request: Callable[[], np.ndarray], hits: list[Hit]) -> list[Hit]:
        """The hits the answer finder does not place surely in another relation than the request (`request`:
        its embedding, made when first needed), or surely in none ("my job" is never taken for "My wife is
        Sofia." or "I'm Tom.")."""
        if self.answers is None or self.config.apart_above is None or not hits:
            return hits
        vectors = self.store.vectors([h.fact.id for h in hits])
        apart = self.answers.apart(request(), vectors, self.config.apart_above, none_counts=True)
        return [h for h, other in zip(hits, apart) if not other]

    def _forget_by_relation(self, intent: Intent, request: np.ndarray, now: datetime | None) -> list[Fact]:
        """What a forget request that names no fact clearly is about, by the answer finder: the user's facts
        about the same relation as its words ("drop all your notes on my pet" and "I adopted a chinchilla
        and named it Goufom."): the most probable one, or every one for "everything about". Every active
        fact of the user is weighed (a forget request is rare; a fact typed in lower case can be far from
        the request in the embedding space yet about the same thing). `request`: its embedding."""
        facts = [f for f in self.store.facts(self.user) if not about_someone_else(intent.text, f.text)]
        if not facts:
            return []
        vectors = self.store.vectors([f.id for f in facts])
        chances = self.answers.probabilities(request, vectors)
        ranked = sorted(((p, -i) for i, p in enumerate(chances) if p >= self.answers.config.threshold), reverse=True)
        chosen = [facts[-i].id for _, i in (ranked if intent.everything else ranked[:1])]
        return self.store.forget_many(chosen, now=now, reason="matched a forget request") if chosen else []

    def _list(self, now: datetime | None = None) -> Reply:
        facts = self.store.facts(self.user, now=now or datetime.now(timezone.utc))  # free recall: active at `now`
        if not facts:
            return Reply("I don't know anything about you yet.", "list")
        return Reply("Here is what I know about you: " + " ".join(as_sentence(second_person(f.text)) for f in facts),
                     "list")


def _classifier(path: Path | None, load, store: MemoryStore) -> torch.nn.Module | None:
    """The classifier `load` reads from `path` (the update detector, the answer finder), if there is one
    and it reads the store's embeddings."""
    if path is None or not Path(path).exists():
        return None
    classifier, metrics = load(Path(path))
    if metrics.get("embedder") != store.embedder.name:
        log.info("%s was trained on %s embeddings, the store has %s: not used", path, metrics.get("embedder"),
                 store.embedder.name)
        return None
    return classifier


def _reader(path: Path | None, load, store: MemoryStore):
    """The model `load` reads from `path` (the turn model, the memory reader), if there is one and it reads
    the store's word vectors (None otherwise: the word rules and the answer finder stand in)."""
    if path is None or not Path(path).exists():
        return None
    model = load(Path(path))
    if model.metrics.get("embedder") != store.embedder.name:
        log.info("%s was trained on %s word vectors, the store has %s: not used", path, model.metrics.get("embedder"),
                 store.embedder.name)
        return None
    return model


def load_generator(path: Path = DEFAULT_MODEL) -> tuple[Generator, Vocab]:
    """A chat model checkpoint (kind "generator-chat"), ready to reply (eval mode)."""
    path = Path(path)
    if path == DEFAULT_MODEL and not path.exists():
        raise CheckpointError(f"the default model is missing ({path}); train it with `memchat train`")
    saved = load_checkpoint(path, kind=CHAT_CHECKPOINT_KIND)
    model = Generator(len(saved.vocab), GeneratorConfig(**saved.config), go_id=saved.vocab.id(GO))
    model.load_state_dict(saved.state)
    return model.eval(), saved.vocab
