"""The assistant: one conversation joining short-term memory, long-term memory and the generator.

One turn (STYLE.md, "One chat turn") is a pipeline, each stage in its own module and none calling back
up: understand (`understanding`: what the line asks of memory) -> recall (`recalling`: ONE read of the
store, the facts nearest the turn) -> decide (`answering`: which of them the reply reads) -> generate
(`generating`: the generator writes the reply from those facts and the recent turns, copying names and
places from them) -> commit (`remembering`: what the user told us, retiring what it updates; then what
the reply used is marked recalled). Explicit memory operations (`forgetting`: forget requests; "what do
you know about me?") are carried out on the store and answered from what the store did, so the answer
can never disagree with memory. This module is the façade that holds the session and runs the stages.

Short-term memory is the window of recent lines, re-read every turn (their words can be copied), plus
the generator's dialogue-LSTM state carried across turns: each line that falls out of the window is read
into it (`Generator.carry`), so it still shapes replies but its words can no longer be copied; both are
cleared at the end of a session, and nothing of them lasts unless it was consolidated into the store.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from memory_store import Fact, MemoryStore

from . import remembering
from .answering import Decision, decide, not_told, quoted
from .answers import AnswerFinder, load_finder
from .batching import collate, encode_history
from .chatter import ChatterBank, load_chatter
from .checkpoint import load_checkpoint
from .consolidation import signals_a_fact, speaks_of, without_update_marker
from .cued import recall_by_cue
from .errors import CheckpointError
from .forgetting import forget
from .generating import generate, recalled, worded
from .generator import CHAT_CHECKPOINT_KIND, GO, Generator, GeneratorConfig, State
from .intents import Intent
from .lines import Line
from .reading import Reader, load_reader
from .recalling import Recall, recall
from .remembering import Judges, Told
from .replies import Recalled, Reply
from .settings import AssistantConfig
from .text import as_sentence, second_person
from .turns import TurnReader, load_turn_reader
from .understanding import Understood, understand
from .updates import UpdateDetector, load_detector
from .vocab import Vocab
from .wording import NOT_KNOWING, NOT_TOLD, acknowledged, lower_first

__all__ = ["DEFAULT_ANSWERS", "DEFAULT_CHATTER", "DEFAULT_MODEL", "DEFAULT_READER", "DEFAULT_TURNS", "DEFAULT_UPDATES", "GOODBYE",
           "HELP", "NOT_KNOWING", "NOT_TOLD", "Assistant", "AssistantConfig", "Recalled", "Reply", "load_generator"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default.pt"
DEFAULT_UPDATES = DEFAULT_MODEL.with_name("updates.pt")  # the update detector (`memchat train-updates`)
DEFAULT_ANSWERS = DEFAULT_MODEL.with_name("answers.pt")  # the answer finder (`memchat train-answers`)
DEFAULT_TURNS = DEFAULT_MODEL.with_name("turns.pt")  # the turn model (`memchat train-turns`)
DEFAULT_READER = DEFAULT_MODEL.with_name("reader.pt")  # the memory reader (`memchat train-reader`)
DEFAULT_CHATTER = DEFAULT_MODEL.with_name("chatter.npz")  # replies to small talk (`memchat train-chatter`)
HELP = ("Tell me anything and I'll remember it; ask me about it later. Say \"forget ...\" to make me forget "
        "something, \"what do you know?\" for everything I remember, and \"exit\" to leave.")
GOODBYE = "Bye! Everything you told me stays in memory."


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
                 turns: TurnReader | None = None, reader: Reader | None = None,
                 chatter: ChatterBank | None = None) -> None:
        self.store, self.model, self.vocab, self.user, self.config = store, model, vocab, user, config
        self.model_name = model_name
        self.updates = updates  # None: updates are found by the word rules alone
        self.answers = answers  # None: the generator alone picks which fact answers a question
        self.turns = turns  # None: a line is understood by the word rules of `intents.classify`
        self.reader = reader  # None: the answer finder (or the generator) picks which fact answers
        self.chatter = chatter  # None: the generator replies to small talk too
        self.model.eval()
        self._session = _Session(deque(maxlen=config.window))

    @classmethod
    def load(cls, store: MemoryStore, user: str = "default", checkpoint: Path | None = None,
             config: AssistantConfig = AssistantConfig(), updates: Path | None = DEFAULT_UPDATES,
             answers: Path | None = DEFAULT_ANSWERS, turns: Path | None = DEFAULT_TURNS,
             reader: Path | None = DEFAULT_READER, chatter: Path | None = DEFAULT_CHATTER) -> Assistant:
        """The assistant with the shipped default model, or the generator checkpoint given. `updates`: the
        update detector, `answers`: the answer finder (None, a missing file, or one trained on another
        embedding model than the store's: updates are found by the word rules alone, and the generator
        alone picks the fact that answers a question). `chatter`: the bank of replies to small talk (None or
        a missing file: the generator replies to it)."""
        path = Path(checkpoint) if checkpoint is not None else DEFAULT_MODEL
        model, vocab = load_generator(path)
        return cls(store, model, vocab, user, config, model_name=path.name,
                   updates=_classifier(updates, load_detector, store), answers=_classifier(answers, load_finder, store),
                   turns=_reader(turns, load_turn_reader, store), reader=_reader(reader, load_reader, store),
                   chatter=_chatter(chatter, store))

    def for_user(self, user: str) -> Assistant:
        """A fresh conversation with another user over the same store and the same loaded model."""
        return Assistant(self.store, self.model, self.vocab, user, self.config, self.model_name, self.updates,
                         self.answers, self.turns, self.reader, self.chatter)

    @property
    def recent(self) -> tuple[Line, ...]:
        """Short-term memory: the window of recent lines, oldest first."""
        return tuple(self._session.lines)

    @property
    def carried(self) -> State | None:
        """The dialogue LSTM's state over the lines that left the window this session (None: none yet, or
        a model trained without it)."""
        return self._session.carried

    def reply(self, text: str, now: datetime | None = None) -> Reply:
        """Answer one user turn, reading and writing long-term memory as the turn asks."""
        text = " ".join(text.split())
        self._session.turn += 1
        understood = understand(self.store, self.turns, self.config, text)
        intent = understood.intent
        if intent.kind in ("help", "exit"):
            return Reply(HELP if intent.kind == "help" else GOODBYE, intent.kind)
        with self.store.transaction():  # the turn's writes commit together, or (on an error) not at all
            if intent.kind == "forget":
                reply = self._forget(intent, now)
            elif intent.kind == "list":
                reply = self._list(now)
            else:
                reply = self._converse(text, understood, now)
        if reply.forgotten:  # forgetting reaches short-term memory too: no line about it stays to be copied
            self._forget_briefly(reply.forgotten)
        else:
            self._remember_briefly([Line("user", text), Line("bot", reply.text)])
        return reply

    def remember(self, statement: str, now: datetime | None = None, importance: float | None = None
                 ) -> tuple[list[Fact], list[Fact]]:
        """Store a statement as the chat stores one (`memchat add`): cut into its facts, each checked for
        being known already (reinforced) and for updating an older memory (retired, linked). Returns
        (stored, replaced)."""
        with self.store.transaction():
            return remembering.remember(self.store, self.config, self._judges, self._told(self._session.turn),
                                        statement, now, importance=importance)

    def end_session(self, now: datetime | None = None) -> list[Fact]:
        """Consolidate short-term memory: store the statements still pending, then start afresh."""
        with self.store.transaction():
            stored = [f for statement, turn in self._session.pending
                      for f in remembering.remember(self.store, self.config, self._judges, self._told(turn), statement,
                                                    now)[0]]
        self._session = _Session(deque(maxlen=self.config.window), number=self._session.number + 1)
        return stored

    @property
    def _judges(self) -> Judges:
        """The models that judge updates, as they are now (a caller may swap one)."""
        return Judges(self.updates, self.answers, self.reader)

    def _told(self, turn: int) -> Told:
        return Told(self.user, self._session.number, turn)

    # -- short-term memory ----------------------------------------------------------------------------

    def _forget_briefly(self, facts: Sequence[Fact]) -> None:
        """Drop the window's lines about forgotten facts (the forget turn itself is not added either)."""
        kept = [line for line in self._session.lines if not any(speaks_of(line.text, f.text) for f in facts)]
        self._session.lines.clear()
        self._session.lines.extend(kept)
        self._session.pending = [(s, t) for s, t in self._session.pending if not any(speaks_of(s, f.text) for f in facts)]

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

    # -- one turn -------------------------------------------------------------------------------------

    def _converse(self, text: str, understood: Understood, now: datetime | None) -> Reply:
        """A statement, a question or small talk: recall -> decide -> commit what was told -> generate ->
        word the reply and mark what it used recalled."""
        intent = understood.intent
        telling = intent.kind in ("remember", "statement")
        said = without_update_marker(intent.text)[0] if telling else text  # "Actually, ..." says nothing
        known = understood.vector if said == understood.turn.text else None
        read = recall(self.store, self.config, self.user, self.reader, self.answers, said, now, known)
        if read.query != said:  # "Ana moved." -> "My sister Ana moved.": stored, asked and answered as that
            kind = "statement" if intent.kind == "small_talk" and signals_a_fact(read.query) else intent.kind
            text, intent = read.query, dataclasses.replace(intent, kind=kind, text=read.query, facts=())  # "Sofia teaches maths."
        if intent.kind == "small_talk" and self.chatter is not None and read.query == understood.turn.text:
            said_before = tuple(line.text for line in self._session.lines if line.speaker == "bot")
            chat = self.chatter.reply(read.vector, self.config.chatter, avoid=said_before[-2:])
            if chat is not None:  # what people say to such a line; memory is neither read nor claimed
                return Reply(chat, intent.kind)
        words = understood.words if read.query == understood.turn.text else None
        decision = decide(self.store, self.config, self.reader, self.answers, text, intent, read, words)
        stored, replaced = self._commit_told(text, intent, read, now)
        generated = generate(self.model, self.vocab, self.config, decision.hits, self._session.lines,
                             self._session.carried, text)
        memories = recalled(self.config, decision.hits, generated, decision.probability)
        memories += [Recalled(h.fact, h.similarity, h.retention, 0.0, False, decision.probability.get(h.fact.id),
                              h.found_by) for h in decision.weighed if h not in decision.hits]  # weighed, not read
        answer = worded(generated, decision.hits, self._session.lines, text)
        return self._answered(text, intent, read, decision, answer, memories, stored, replaced, now)

    def _commit_told(self, text: str, intent: Intent, read: Recall, now: datetime | None
                     ) -> tuple[list[Fact], list[Fact]]:
        """Store what a telling turn told ("remember ...", or any statement when `consolidate` is "at_once"),
        read against the turn's nearest facts; else keep a statement pending until the session ends.
        Returns (stored, replaced)."""
        if intent.kind == "remember" or intent.kind == "statement" and self.config.consolidate == "at_once":
            stored, replaced = remembering.remember(
                self.store, self.config, self._judges, self._told(self._session.turn), intent.text, now, read.nearest,
                importance=0.8 if intent.kind == "remember" else None, parts=intent.facts,
                marked=without_update_marker(text)[1] or None)
            self._session.last_stored = tuple(f.id for f in stored)
            return stored, replaced
        if intent.kind == "statement":
            self._session.pending.append((intent.text, self._session.turn))
        return [], []

    def _answered(self, text: str, intent: Intent, read: Recall, decision: Decision, answer: str,
                  memories: list[Recalled], stored: list[Fact], replaced: list[Fact], now: datetime | None) -> Reply:
        """The reply as said: a question no memory answers gets a faded memory it cues, or `NOT_TOLD`; a
        statement is acknowledged; a memory the answer must tell as it is held is quoted. The memories the
        reply used are marked recalled."""
        hits = decision.hits
        used = [r.fact.id for r in memories if r.used and r.fact.id not in {f.id for f in stored}]
        if decision.finding and not hits and (self.reader is not None
                                              or not_told(text, answer, read.nearest, self._session.lines)):
            cued = recall_by_cue(self.store, self.reader, self.answers, self.user, read.query, read.vector, now)
            if cued is not None:  # a faded memory the question clearly asks about: recalled, hedged (cued.py)
                memories.append(Recalled(cued.fact, cued.similarity, cued.retention, 1.0, True, cued.chance))
                return Reply(cued.text, intent.kind, tuple(memories), tuple(stored), tuple(replaced), answer=cued.answer)
            return Reply(NOT_TOLD, intent.kind, tuple(memories), tuple(stored), tuple(replaced))
        answer = acknowledged(answer, stored, replaced)
        quote = quoted(self.config, intent, hits, answer, text, sure=decision.finding)
        if quote is None and decision.answer and hits and decision.answer.lower() not in answer.lower():
            quote = hits[0]  # the reply must say the answer as the memory holds it ("6:15", "check-in")
        if quote is not None:
            answer = f"You told me that {lower_first(second_person(quote.fact.text).rstrip('.!'))}."
            memories = [dataclasses.replace(r, used=True) if r.fact.id == quote.fact.id else r for r in memories]
            used.append(quote.fact.id)
        if used:
            self.store.mark_recalled(sorted(set(used)), now=now)
        return Reply(answer, intent.kind, tuple(memories), tuple(stored), tuple(replaced), answer=decision.answer)

    def _forget(self, intent: Intent, now: datetime | None) -> Reply:
        """A forget request, carried out (`forgetting.forget`); a list edited leaves short-term memory too."""
        forgot = forget(self.store, self.config, self.answers, self.reader, self.user, intent, now,
                        self._session.last_stored)
        if forgot.took_last:
            self._session.last_stored = ()
        if forgot.leaves_window:
            self._forget_briefly(forgot.leaves_window)
        return forgot.reply

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


def _chatter(path: Path | None, store: MemoryStore) -> ChatterBank | None:
    """The chatter bank at `path`, if there is one and its vectors are the store's embedder's."""
    if path is None or not Path(path).exists():
        return None
    bank = load_chatter(Path(path))
    if bank.embedder != store.embedder.name:
        log.info("%s holds %s vectors, the store has %s: not used", path, bank.embedder, store.embedder.name)
        return None
    return bank


def load_generator(path: Path = DEFAULT_MODEL) -> tuple[Generator, Vocab]:
    """A chat model checkpoint (kind "generator-chat"), ready to reply (eval mode)."""
    path = Path(path)
    if path == DEFAULT_MODEL and not path.exists():
        raise CheckpointError(f"the default model is missing ({path}); train it with `memchat train`")
    saved = load_checkpoint(path, kind=CHAT_CHECKPOINT_KIND)
    model = Generator(len(saved.vocab), GeneratorConfig(**saved.config), go_id=saved.vocab.id(GO))
    model.load_state_dict(saved.state)
    return model.eval(), saved.vocab
