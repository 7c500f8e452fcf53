"""Reader, turn and update examples from the hand-written *training* conversations (lab/training_conversations).

Those conversations were written by hand for training, in the evaluation conversations' format
(lab/conversations/FORMAT.md), by writers told not to read the evaluation conversations (two that retold
one were taken out: the folder's README); no evaluation reads them. Replayed on paper, every question the user asks becomes a reader example over what the user had told
by then, in the words people type rather than the catalogue's templates or encyclopaedia prose:

- `ask`: of the memories holding an answer, the one sharing most words with the question answers (the
  latest on a tie); `ask-new`: the latest, and the memory its correction replaced is a version of the
  answer, answering too, pooled as the chat pools them. (Another memory that only shares the answer's
  words, "3 shelves" and "assay 3", is not a version.)
- `ask-untold` and `ask-forgotten`: none answers, often beside a close neighbour (the same person's other
  detail, the outbound flight when the return was asked).
- `forget`: the request is read as a question whose answer is the memory it names, as the chat finds a
  forget request's targets.
- `correct` and `tell`: the statement is read as a question whose answer is the memory it replaces, as the
  chat decides an update: of the memories holding a correction's OLD, the one sharing most words with it,
  and none for a statement that replaces nothing.

A memory is one told line. When more were told than a search returns, the example keeps the answering
memories, some of the others that share most words with the question (the close neighbours a search
finds), and others at random.

The update detector (`written_update_pairs`) learns from the same replay which earlier line each statement
replaces: a correction the one its OLD names, any other statement none.

For the turn model (`written_turns`), each line is a turn of its kind: `tell` and `correct` a statement,
every question a question, `forget` a forget request, `chat` small talk. A question or small talk tells no
fact; where a statement's facts begin and end, and which words a forget request names, the files do not
say, so those turns teach their kind only (`TurnExample.spans` None).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from .conversation_eval import EDGES, Conversation, holds, holds_any, read_conversations, words
from .reading_data import MAX_MEMORIES, ReadingExample
from .turn_data import TurnExample

FOLDER = Path(__file__).resolve().parent / "training_conversations"
# each line's kind as a turn the turn model learns (`assistant.turns.KINDS`)
TURN_KINDS = {"tell": "statement", "correct": "statement", "ask": "question", "ask-new": "question",
              "ask-untold": "question", "ask-forgotten": "question", "forget": "forget", "chat": "small_talk"}


def written_examples(conversations: Sequence[Conversation], seed: int, repeats: int = 1) -> list[ReadingExample]:
    """Every example of the conversations, `repeats` times, each time with other neighbours and order."""
    rng = random.Random(f"written:{seed}")
    out = []
    for conversation in conversations:
        for _, question, told, answering, versions, answers in _questions(conversation):
            span = _span(told[answering], answers) if answering is not None else None
            for _ in range(repeats):
                out.append(_example(question, told, answering, versions, span, rng))
    return out


def written_turns(conversations: Sequence[Conversation], repeats: int = 1) -> list[TurnExample]:
    """Every line of the conversations as a turn of its kind, `repeats` times."""
    out = []
    for conversation in conversations:
        for step in conversation.steps:
            kind = TURN_KINDS.get(step.kind)
            if kind is not None:
                spans = () if kind in ("question", "small_talk") else None
                out += [TurnExample(step.text, kind, spans)] * repeats
    return out


def written_update_pairs(conversations: Sequence[Conversation], repeats: int = 1) -> list[tuple[str, str, int]]:
    """(statement, an earlier memory, 1 if the statement replaces it) for every statement of the conversations
    against every line told before it, `repeats` times: the update detector's examples. A correction
    replaces the memory `_questions` finds for it (of those holding its OLD, the one sharing most words);
    every other pair, a plain statement beside a close one included ("marcus is on a phased return too"),
    replaces nothing."""
    out = []
    for conversation in conversations:
        for kind, statement, told, target, _, _ in _questions(conversation):
            if kind in ("tell", "correct"):
                out += [(statement, memory, int(i == target)) for i, memory in enumerate(told)] * repeats
    return out


def training_conversations(folder: Path = FOLDER) -> list[Conversation]:
    """The training conversations of `folder` (default: lab/training_conversations), in file-name order: the
    first batch (t01-t90), not the development batch (`development_conversations`)."""
    return [c for c in read_conversations(folder) if not _development(c)]


def held_apart(conversations: Sequence[Conversation]) -> tuple[list[Conversation], list[Conversation]]:
    """(trained on, held out): every tenth conversation is held out, its examples read once among a
    training run's development examples (the reader's, the update detector's)."""
    return ([c for i, c in enumerate(conversations) if i % 10], [c for i, c in enumerate(conversations) if not i % 10])


def development_conversations(folder: Path = FOLDER) -> list[Conversation]:
    """The second batch of the folder (t101-t150), written alike but kept out of training: the conversations
    the chat's settings are chosen on (`memchat eval conversations --dir` over a copy of them, or
    `lab.conversation_eval.run_conversation_eval` directly), so that no setting is chosen on the evaluation
    conversations or on what the models trained on."""
    return [c for c in read_conversations(folder) if _development(c)]


def _development(conversation: Conversation) -> bool:
    """Whether a conversation is of the development batch: its file's number has three digits (t101-...)."""
    return len(conversation.path.name.split("-")[0].lstrip("t")) >= 3


def _questions(conversation: Conversation
               ) -> list[tuple[str, str, list[str], int | None, list[int], tuple[str, ...]]]:
    """(the line's kind, question, memories told before it, the answering memory's index or None, its
    versions' indices, the answer's alternatives) for every line read as a question."""
    told: list[str] = []
    replaced: dict[str, str] = {}  # a correction's text -> the memory it replaced
    out = []
    for step in conversation.steps:
        if step.kind in ("ask", "ask-new"):
            holding = [i for i, m in enumerate(told) if holds_any(m, step.answers)]
            if holding:  # (an answer the told lines do not hold is the file's mistake: left out)
                answering = holding[-1] if step.kind == "ask-new" else _nearest(step.text, told, holding)
                old = replaced.get(told[answering])
                versions = [told.index(old)] if old in told else []
                out.append((step.kind, step.text, list(told), answering, versions, step.answers))
        elif step.kind in ("ask-untold", "ask-forgotten"):
            if told:
                out.append((step.kind, step.text, list(told), None, [], ()))
        elif step.kind == "forget":
            named = [i for i, m in enumerate(told) if any(holds(m, group) for group in step.targets)]
            if named:
                out.append((step.kind, step.text, list(told), named[-1], named[:-1], ()))
            told = [m for i, m in enumerate(told) if i not in set(named)]
        elif step.kind in ("tell", "correct"):
            holding = [i for i, m in enumerate(told) if step.old and holds_any(m, step.old)]
            if told and (step.kind == "tell" or holding):
                target = _nearest(step.text, told, holding) if holding else None
                out.append((step.kind, step.text, list(told), target, [], ()))
                if target is not None:
                    replaced[step.text] = told[target]
            told.append(step.text)
    return out


def _nearest(question: str, told: list[str], holding: list[int]) -> int:
    """Of the memories holding an answer, the one sharing most words with the question, the latest on a tie
    ("who's got the export work" is "marcus is on the export", not "marcus is buying the first round")."""
    asked = set(words(question))
    return max(holding, key=lambda i: (len(asked & set(words(told[i]))), i))


def _span(memory: str, answers: Sequence[str]) -> tuple[int, int] | None:
    """The characters of `memory` from the first to the last word of the first answer it holds, in its
    shortest stretch (words as the conversations match them); None without an answer (a forget request's
    or an update's target)."""
    places = [(w.lower().strip(EDGES), a + len(w) - len(w.lstrip(EDGES)), a + len(w.rstrip(EDGES)))
              for a, w in _tokens(memory)]

    def same(i: int, word: str) -> bool:
        said = places[i][0]
        return word in (said, said.lstrip("$£€"), said.removesuffix("'s"))

    for answer in answers:
        wanted = words(answer)
        best: tuple[int, int] | None = None
        for first in (i for i in range(len(places)) if wanted and same(i, wanted[0])):
            at, last = first + 1, first
            for word in wanted[1:]:
                last = next((i for i in range(at, len(places)) if same(i, word)), -1)
                if last < 0:
                    break
                at = last + 1
            if last >= 0 and (best is None or last - first < best[1] - best[0]):
                best = (first, last)
        if best is not None:
            return places[best[0]][1], places[best[1]][2]
    return None


def _tokens(text: str) -> list[tuple[int, str]]:
    """Each whitespace-separated word of `text` and where it starts."""
    out, at = [], 0
    for raw in text.split():
        at = text.index(raw, at)
        out.append((at, raw))
        at += len(raw)
    return out


def _example(question: str, told: list[str], answering: int | None, versions: list[int],
             span: tuple[int, int] | None, rng: random.Random) -> ReadingExample:
    """At most MAX_MEMORIES of `told`, shuffled: the answering ones, then the nearest by shared words."""
    keep = ([answering] if answering is not None else []) + versions[: MAX_MEMORIES - 2]
    asked = set(words(question))
    others = [i for i in range(len(told)) if i not in keep]
    rng.shuffle(others)
    others.sort(key=lambda i: -len(asked & set(words(told[i]))))
    room = MAX_MEMORIES - len(keep)
    near = others[: rng.randint(room // 2, room)]
    rest = [i for i in others if i not in near]
    rng.shuffle(rest)
    chosen = keep + near + rest[: room - len(near)]
    rng.shuffle(chosen)
    memories = tuple(told[i] for i in chosen)
    if answering is None:
        return ReadingExample(question, memories, None)
    answer = chosen.index(answering)
    return ReadingExample(question, memories, answer, span, (), tuple(chosen.index(i) for i in versions
                                                                         if i in chosen))
