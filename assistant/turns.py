"""The turn model: what a user's line asks of the assistant, and which of its words are the facts it tells.

One small network over the contextual word vectors MiniLM gives every word piece of the line (the store
computes them with the line's sentence vector, in one pass): a bidirectional LSTM reads the pieces; an
attention-pooled summary, with the sentence vector, gives the kind of turn (`KINDS`); each piece gets a
tag, B (begins a fact), I (inside one) or O (filler, command words, joiners), so "oh and my flight is at
7:45, and Sam does the slides lol" is two facts, "my flight is at 7:45" and "Sam does the slides", and
"forget the trip, it's off" names "the trip". The facts are cut from the user's own characters, so times,
hyphenated words and names come back exactly as typed.

Trained by `lab/turn_training.py` on real sentences (persona facts, DailyDialog, SQuAD, DREAM) composed
with the ways people wrap them (`lab/turn_data.py`); nothing in the runtime lists English words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from memory_store import Words

from .checkpoint import load_checkpoint
from .errors import CheckpointError

CHECKPOINT_KIND = "turn-model"
KINDS = ("statement", "remember", "question", "forget", "list", "small_talk", "help", "exit")
TAGS = ("O", "B", "I")
TELLING = ("statement", "remember")  # kinds whose facts are stored
MAX_GAP = 3  # word pieces tagged O that an I after them still bridges (a fact's words the tagger left out)


@dataclass(frozen=True)
class TurnConfig:
    dim: int = 384  # the word vectors' width (all-MiniLM-L6-v2)
    hidden: int = 128  # each direction of the LSTM
    kinds: tuple[str, ...] = KINDS
    dropout: float = 0.1


@dataclass(frozen=True)
class Turn:
    """A line understood: its kind, how sure the model is, and the facts (or the forget target) it says."""

    text: str
    kind: str
    confidence: float
    facts: tuple[str, ...] = ()  # the user's own words, filler and wrappers left out
    runner_up: str = ""  # the kind the model found next most likely


class TurnModel(nn.Module):
    """Kind of turn and per-piece B/I/O tags from MiniLM's word vectors (BiLSTM tagger, Huang et al. 2015;
    attention pooling for the sentence class)."""

    def __init__(self, config: TurnConfig = TurnConfig()):
        super().__init__()
        self.config = config
        self.inp = nn.Sequential(nn.Linear(config.dim, config.hidden), nn.Tanh(), nn.Dropout(config.dropout))
        self.lstm = nn.LSTM(config.hidden, config.hidden, batch_first=True, bidirectional=True)
        width = 2 * config.hidden
        self.pool = nn.Linear(width, 1)
        self.kind = nn.Sequential(nn.Linear(width + config.dim, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
                                  nn.Linear(config.hidden, len(config.kinds)))
        self.tag = nn.Linear(width, len(TAGS))

    def forward(self, words: torch.Tensor, mask: torch.Tensor, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """words (B, T, dim), mask (B, T) bool, sentence (B, dim) -> kind logits (B, K), tag logits (B, T, 3)."""
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.inp(words), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=words.shape[1])  # (B, T, 2H)
        scores = self.pool(h).squeeze(-1).masked_fill(~mask, torch.finfo(h.dtype).min)  # (B, T)
        pooled = (torch.softmax(scores, dim=1).unsqueeze(-1) * h).sum(dim=1)  # (B, 2H)
        return self.kind(torch.cat([pooled, sentence], dim=-1)), self.tag(h)


def batch(words: list[Words], sentences: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad word vectors into (B, T, dim) with a (B, T) mask; an empty line gets one zero piece."""
    width = max(1, max((len(w.pieces) for w in words), default=1))
    dim = sentences.shape[1]
    x = torch.zeros(len(words), width, dim)
    mask = torch.zeros(len(words), width, dtype=torch.bool)
    for i, w in enumerate(words):
        n = len(w.pieces)
        if n:
            x[i, :n] = torch.from_numpy(np.asarray(w.vectors, dtype=np.float32))
            mask[i, :n] = True
        else:
            mask[i, 0] = True
    return x, mask, torch.from_numpy(np.asarray(sentences, dtype=np.float32))


def decode_tags(tag_p: torch.Tensor, drop_above: float | None, split_above: float | None = None) -> list[int]:
    """Each piece's tag from the model's (T, 3) tag probabilities. `drop_above` (None: the likeliest tag):
    a piece is O only when the model gives O at least this probability, or when it is likelier O and stands
    between a fact and the next fact's B (the joiner ", and" of "my flight is at 7:45, and Sam does the
    slides"); else B or I, whichever is likelier: a told word is lost only when surely filler.
    `split_above` (None: whenever B is likelier than I): a piece after the first fact begins another fact
    only when the model gives B at least this probability, else it goes on with the fact before it: a fact
    cut from its subject ("mrs. Albright, $40 a lesson" out of "Leo's piano lesson is thursdays at 4 with
    mrs. Albright, $40 a lesson") answers nothing."""
    likeliest = tag_p.argmax(dim=-1).tolist()
    if drop_above is None and split_above is None:
        return likeliest
    chosen = list(likeliest) if drop_above is None else \
        torch.where(tag_p[:, 0] >= drop_above, 0, 1 + tag_p[:, 1:].argmax(dim=-1)).tolist()
    if split_above is not None:
        begun = False
        for j, tag in enumerate(chosen):
            if tag == 1 and begun and float(tag_p[j, 1]) < split_above:
                chosen[j] = 2  # not sure enough of a new fact: the one before goes on
            begun = begun or tag != 0
    for j in range(1, len(chosen)):
        if likeliest[j] == 1 and chosen[j] == 1:  # a new fact begins: the likely filler just before it is its joiner
            k = j - 1
            while k > 0 and likeliest[k] == 0 and chosen[k] != 0:
                chosen[k] = 0
                k -= 1
    return chosen


def spans_from_tags(words: Words, tags: list[int]) -> list[tuple[int, int]]:
    """The character spans of the facts a line's B/I/O tags mark. BIO decoding: B begins a fact, I goes on
    with the one before it (across a gap of O words the model left out inside it, unless punctuation
    stands in the gap: ", and Tom runs QA" begins another), O is outside.
    Word pieces never split: a fact starting or ending inside a word ("war ##far ##in") takes all of it."""
    spans: list[list[int]] = []
    inside, gap, punctuated = False, 0, False
    for i, (piece, (start, end), tag) in enumerate(zip(words.pieces, words.spans, tags)):
        label, attached = TAGS[tag], _attached(words, i)
        ends_clause = not any(c.isalnum() for c in piece) and (end >= len(words.text) or words.text[end].isspace())
        if label == "O":
            if inside and attached and not ends_clause:
                spans[-1][1] = end  # finish the word the fact is in ("war ##far ##in", "7 : 45", "Dave ' s")
            else:
                gap, punctuated = gap + 1, punctuated or ends_clause
                inside = False
        elif (label == "I" and spans and not punctuated and gap <= MAX_GAP) or (attached and inside):
            spans[-1][1] = end
            inside, gap = True, 0
        else:
            spans.append([_word_start(words, i), end])
            inside, gap, punctuated = True, 0, False
    merged: list[list[int]] = []
    for span in spans:  # one word is no fact: it joins the fact beside it when no punctuation parts them
        last = merged[-1] if merged else None
        between = words.text[last[1]:span[0]] if last else ""
        one_word = last and (" " not in words.text[last[0]:last[1]].strip() or " " not in words.text[span[0]:span[1]].strip())
        if one_word and not any(c in ",.;:!?" for c in between):
            last[1] = span[1]
        else:
            merged.append(span)
    return [(a, b) for a, b in merged]


def _attached(words: Words, i: int) -> bool:
    """Whether piece `i` is written onto the one before it, with no space: part of the same token."""
    return i > 0 and words.spans[i][0] == words.spans[i - 1][1]


def _word_start(words: Words, i: int) -> int:
    """Where the token holding piece `i` starts (back over the pieces written onto each other)."""
    while _attached(words, i):
        i -= 1
    return words.spans[i][0]


class TurnReader:
    """The shipped turn model, ready to understand lines: one model, or several trained alike whose
    probabilities are averaged (an ensemble is steadier on lines unlike its training data)."""

    def __init__(self, models: TurnModel | list[TurnModel], metrics: dict | None = None):
        self.models = [m.eval() for m in (models if isinstance(models, list) else [models])]
        self.model = self.models[0]
        self.metrics = dict(metrics or {})

    def understand(self, words: Words, sentence: np.ndarray, drop_above: float | None = None,
                   split_above: float | None = None) -> Turn:
        """One line: `words` and `sentence` as `MemoryStore.embed_words` gives them. `drop_above`: a telling
        turn's word piece is left out of its facts only when the model gives O at least this probability
        (else it is B or I, whichever is likelier); None: every piece takes its likeliest tag. `split_above`:
        a telling turn's next fact begins only where the model gives B at least this probability
        (`decode_tags`)."""
        x, mask, s = batch([words], np.asarray(sentence, dtype=np.float32).reshape(1, -1))
        with torch.no_grad():
            outputs = [m(x, mask, s) for m in self.models]
        p = torch.stack([torch.softmax(k[0], dim=-1) for k, _ in outputs]).mean(0)
        order = p.argsort(descending=True).tolist()
        kind, runner_up = self.model.config.kinds[order[0]], self.model.config.kinds[order[1]]
        tag_p = torch.stack([torch.softmax(t[0], dim=-1) for _, t in outputs]).mean(0)
        tag_p = tag_p[: len(words.pieces)]
        chosen = decode_tags(tag_p, drop_above, split_above) if kind in TELLING else tag_p.argmax(dim=-1).tolist()
        spans = spans_from_tags(words, chosen)
        if kind == "forget" and spans:  # a request names one thing: its first run, with the runs after it
            spans = [_joined(words.text, spans)]  # that only a space parts from it ("that" "my dog is ...")
        facts = tuple(f for f in (_clean(words.text[a:b]) for a, b in spans) if f)
        return Turn(words.text, kind, float(p.max()), facts, runner_up)


def _joined(text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    start, end = spans[0]
    for a, b in spans[1:]:
        if text[end:a].strip():
            break
        end = b
    return start, end


def _clean(text: str) -> str:
    """A fact cut from a line: no joining punctuation at its ends."""
    return text.strip().strip(",;:-–—").strip()


def load_turn_reader(path: Path) -> TurnReader:
    """A saved turn model; an ensemble's members are saved side by side ("0.lstm.weight_ih_l0", ...)."""
    saved = load_checkpoint(Path(path), kind=CHECKPOINT_KIND)
    members = int(saved.metrics.get("members", 1))
    try:
        config = TurnConfig(**{**saved.config, "kinds": tuple(saved.config["kinds"])})
        models = []
        for i in range(members):
            model = TurnModel(config)
            prefix = f"{i}." if members > 1 else ""
            model.load_state_dict({k[len(prefix):]: v for k, v in saved.state.items() if k.startswith(prefix)})
            models.append(model)
    except (TypeError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not a turn model this version can load: {e}") from e
    return TurnReader(models, saved.metrics)
