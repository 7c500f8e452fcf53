"""The memory reader: which of the memories a search returned answers a question, which of its words are
the answer, or that none answers.

End-to-End Memory Networks (Sukhbaatar et al. 2015), over the words of the memories rather than bags of
a closed vocabulary: every word piece of a memory and of the question is MiniLM's contextual vector
(`MemoryStore.embed_words`), so any word anyone types has a meaning to attend with.
- Section 2.1 (single layer): the question is a controller state u (here attention-pooled from its
  words); each memory's words get input and output embeddings (A, C); u attends over the words of every
  memory, each memory's output is its attention-weighted words, and the answer reads them.
- Section 2.2 (multiple layers): `hops` rounds, u_{k+1} = H u_k + o_k (layer-wise tying).
- A memory answers only if it holds what the question asks: a learned alignment of each question word
  with its best-matching memory word (weighted by how much that question word matters) says how much of
  the question a memory covers ("Who directed Inception?" is poorly covered by "Inception is my
  favourite film."). This, with the final state, scores each memory against a learned "none" slot
  (SQuAD 2.0's unanswerable questions teach it, Rajpurkar et al. 2018).
- A pointer over the chosen memory's words gives the answer's first and last word (Seo et al. 2017's
  start/end output layer, without the bidirectional attention flow).

Trained by `lab/reading_training.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from memory_store import Fact, Words

from .checkpoint import load_checkpoint
from .errors import CheckpointError

CHECKPOINT_KIND = "memory-reader"
MAX_ANSWER_PIECES = 16  # the longest answer the pointer returns, in word pieces


@dataclass(frozen=True)
class ReadingConfig:
    dim: int = 384  # the word vectors' width (all-MiniLM-L6-v2)
    hidden: int = 128
    hops: int = 2
    dropout: float = 0.1
    # P(a memory answers) at or above which the reader's choice is taken (by the chat, and by SQuAD's
    # scoring): set for the best F1 on the development examples (`lab/reading_training.py`) and saved with
    # the weights (`AssistantConfig.reader_threshold` overrides it in the chat).
    threshold: float = 0.5
    # Whether each question word also reads if the memory says that very word (DrQA's exact-match feature,
    # Chen et al. 2017, section 3.1): "how much parmesan" is not covered by "500g of ricotta", however
    # close the two cheeses are in MiniLM's space. False: readers trained before it.
    exact_match: bool = False
    # Whether each memory also reads when it was told against the others (End-to-End Memory Networks'
    # temporal encoding, section 4.1, as order rather than slot): how like it is a memory told later, and how
    # much of the question that one covers (and the same for one told earlier). An old value and its
    # correction, both kept, are alike; the later one that also covers the question is the answer, the
    # earlier one history. False: readers trained before it.
    recency: bool = False
    # Whether each memory also reads how near it is to the question as a whole (the cosine of their mean word
    # vectors, within 0.01 of MiniLM's own sentence similarity, which it was trained on question-answer
    # pairs to give), and how far below the nearest memory it is; "none" reads the nearest one's.
    similarity: bool = False


@dataclass(frozen=True)
class JointConfig:
    """The joint reader: MiniLM's last layers run again over a question and one memory together."""

    dim: int = 384  # the word vectors' width (all-MiniLM-L6-v2)
    layers: int = 2  # joint layers, started from MiniLM's last ones (the words come in after layer 4 of 6)
    heads: int = 12
    feedforward: int = 1536
    hidden: int = 128  # the answer and none scorers' width
    dropout: float = 0.1
    threshold: float = 0.5  # as ReadingConfig.threshold


@dataclass(frozen=True)
class Reading:
    """What the reader made of a question over some memories."""

    chances: tuple[float, ...]  # P(memory i answers), in the order given
    none: float  # P(no memory answers)
    chosen: int | None  # the memory that answers (None: none does)
    answer: str = ""  # the answer's words, cut from the chosen memory's text
    versions: tuple[int, ...] = ()  # with `pooled`: the memories read as versions of the chosen one's answer


class MemoryReader(nn.Module):
    def __init__(self, config: ReadingConfig = ReadingConfig()):
        super().__init__()
        self.config = config
        d, h = config.dim, config.hidden
        self.question = nn.Linear(d, h)  # B
        self.keys = nn.Linear(d, h)  # A
        self.values = nn.Linear(d, h)  # C
        self.align = nn.Linear(d, h)  # the space question and memory words are matched in
        self.weight = nn.Linear(h, 1)  # how much each question word matters
        self.hop = nn.Linear(h, h)  # H
        self.drop = nn.Dropout(config.dropout)
        exact, recency, near = int(config.exact_match), 4 * int(config.recency), int(config.similarity)
        self.score = nn.Sequential(nn.Linear(2 * h + 3 + exact + recency + 2 * near, h), nn.ReLU(), nn.Linear(h, 1))
        self.none = nn.Sequential(nn.Linear(h + 2 + exact + near, h), nn.ReLU(), nn.Linear(h, 1))
        self.span = nn.Linear(2 * h + 1, 2)

    def forward(self, q: torch.Tensor, q_mask: torch.Tensor, m: torch.Tensor, m_mask: torch.Tensor,
                exact: torch.Tensor | None = None, ages: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """q (B, T, dim), q_mask (B, T); m (B, K, N, dim), m_mask (B, K, N); exact (B, K, T): 1 where
        memory k says question word t itself; ages (B, K): when each memory was told, larger for later
        (any scale; None: in the order given) -> answer logits (B, K + 1) (the last is "none"), span logits
        (B, K, N, 2)."""
        low = torch.finfo(q.dtype).min
        Q = self.drop(torch.tanh(self.question(q)))  # (B, T, h)
        importance = torch.softmax(self.weight(Q).squeeze(-1).masked_fill(~q_mask, low), dim=-1)  # (B, T)
        u = (importance.unsqueeze(-1) * Q).sum(1)  # (B, h)
        A = self.drop(torch.tanh(self.keys(m)))  # (B, K, N, h)
        C = self.drop(torch.tanh(self.values(m)))  # (B, K, N, h)
        qa = nn.functional.normalize(self.align(q), dim=-1)  # (B, T, h)
        ma = nn.functional.normalize(self.align(m), dim=-1)  # (B, K, N, h)
        match = torch.einsum("bth,bknh->bktn", qa, ma).masked_fill(~m_mask.unsqueeze(2), -1.0)  # (B, K, T, N)
        best = match.max(dim=-1).values  # (B, K, T): each question word's best memory word
        coverage = (best * importance.unsqueeze(1)).sum(-1)  # (B, K)
        peak = best.masked_fill(~q_mask.unsqueeze(1), -1.0).max(-1).values  # (B, K)
        has = m_mask.any(-1)  # (B, K): a real memory in the slot
        for _ in range(self.config.hops):
            s = torch.einsum("bknh,bh->bkn", A, u).masked_fill(~m_mask, low)  # word scores
            words = torch.softmax(s, dim=-1) * m_mask  # within each memory
            o_k = torch.einsum("bkn,bknh->bkh", words, C)  # (B, K, h)
            z = torch.logsumexp(s, dim=-1).masked_fill(~has, low)  # (B, K)
            p = torch.softmax(z, dim=-1) * has
            u = torch.tanh(self.hop(u)) + torch.einsum("bk,bkh->bh", p, o_k)
        z_last = z.masked_fill(~has, 0.0) / (self.config.hidden ** 0.5)
        feats = [u.unsqueeze(1) * o_k, o_k, coverage.unsqueeze(-1), peak.unsqueeze(-1), z_last.unsqueeze(-1)]
        top = coverage.masked_fill(~has, -1.0)
        reads = [u, top.max(-1, keepdim=True).values, has.float().sum(-1, keepdim=True) / 8]
        if self.config.exact_match:  # how much of the question the memory says word for word
            if exact is None:
                raise ValueError("this reader reads exact word matches: batch them with batch_reading(..., exact=True)")
            said = (exact * importance.unsqueeze(1)).sum(-1)  # (B, K)
            feats.append(said.unsqueeze(-1))
            reads.append(said.masked_fill(~has, 0.0).max(-1, keepdim=True).values)
        if self.config.recency:
            feats.append(told_around(m, m_mask, coverage, ages))
        if self.config.similarity:
            near = nearness(q, q_mask, m, m_mask)  # (B, K)
            nearest = near.masked_fill(~has, -1.0).max(-1, keepdim=True).values
            feats += [near.unsqueeze(-1), (near - nearest).unsqueeze(-1)]
            reads.append(nearest)
        scores = self.score(torch.cat(feats, dim=-1)).squeeze(-1).masked_fill(~has, low)  # (B, K)
        none = self.none(torch.cat(reads, dim=-1))  # (B, 1)
        word_match = match.masked_fill(~q_mask[:, None, :, None], -1.0).max(2).values  # (B, K, N)
        span = self.span(torch.cat([C, C * u[:, None, None, :], word_match.unsqueeze(-1)], dim=-1))
        span = span.masked_fill(~m_mask.unsqueeze(-1), low)
        return torch.cat([scores, none], dim=-1), span


def mean_vectors(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The unit mean of each text's word vectors: x (..., N, dim), mask (..., N) -> (..., dim)."""
    count = mask.sum(-1, keepdim=True).clamp(min=1)
    return nn.functional.normalize((x * mask.unsqueeze(-1)).sum(-2) / count, dim=-1)


def nearness(q: torch.Tensor, q_mask: torch.Tensor, m: torch.Tensor, m_mask: torch.Tensor) -> torch.Tensor:
    """The cosine of the question's and each memory's mean word vectors -> (B, K), 0 for an empty slot."""
    return torch.einsum("bd,bkd->bk", mean_vectors(q, q_mask), mean_vectors(m, m_mask))


def told_around(m: torch.Tensor, m_mask: torch.Tensor, coverage: torch.Tensor, ages: torch.Tensor | None
                ) -> torch.Tensor:
    """For each memory, of the memories told later: the likeness of the most alike (cosine of the mean word
    vectors) and the most of the question one of them covers, times its likeness; then the same of those told
    earlier -> (B, K, 4), 0 where there is none."""
    b, k = m_mask.shape[:2]
    if ages is None:
        ages = torch.arange(k, dtype=m.dtype, device=m.device).expand(b, k)
    has = m_mask.any(-1)
    mean = mean_vectors(m, m_mask)  # (B, K, dim)
    alike = torch.einsum("bid,bjd->bij", mean, mean).clamp(min=0.0)  # (B, K, K)
    real = has.unsqueeze(1) & has.unsqueeze(2)
    later = (ages.unsqueeze(1) > ages.unsqueeze(2)) & real  # [b, i, j]: j was told after i
    earlier = (ages.unsqueeze(1) < ages.unsqueeze(2)) & real
    covered = alike * coverage.clamp(min=0.0).unsqueeze(1)  # j's coverage, as alike to i as j is

    def most(x: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return x.masked_fill(~where, 0.0).max(-1).values

    return torch.stack([most(alike, later), most(covered, later), most(alike, earlier), most(covered, earlier)], -1)


class JointReader(nn.Module):
    """Which memory answers, read from each memory and the question together (cross-attention).

    MiniLM encodes the question and each memory apart up to layer 4 (`Words.middle`, from the store's one
    forward pass); the model's last two layers, started from MiniLM's own weights and fine-tuned, then read
    the question's words and one memory's words as one sequence, with a summary token in front, so every
    question word attends to every memory word (the late-interaction split of PreTTR, MacAvaney et al.
    2020). The summary token scores the memory; a "none" slot, scored from the strongest summary among the
    memories read, competes with them in one softmax, as in MemoryReader; a start/end pointer over the
    memory's words gives the answer. Same inputs and outputs as MemoryReader."""

    def __init__(self, config: JointConfig = JointConfig()):
        super().__init__()
        self.config = config
        d = config.dim
        self.summary = nn.Parameter(torch.zeros(d))
        self.side = nn.Parameter(torch.zeros(2, d))  # question words, memory words
        self.layers = nn.ModuleList(nn.TransformerEncoderLayer(
            d, config.heads, config.feedforward, config.dropout, activation="gelu", layer_norm_eps=1e-12,
            batch_first=True) for _ in range(config.layers))
        self.score = nn.Sequential(nn.Linear(d, config.hidden), nn.GELU(), nn.Linear(config.hidden, 1))
        self.none = nn.Sequential(nn.Linear(d, config.hidden), nn.GELU(), nn.Linear(config.hidden, 1))
        self.span = nn.Linear(d, 2)

    def forward(self, q: torch.Tensor, q_mask: torch.Tensor, m: torch.Tensor, m_mask: torch.Tensor,
                exact: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q (B, T, dim), q_mask (B, T); m (B, K, N, dim), m_mask (B, K, N) (the words' `middle` states;
        `exact` is not read: every question word attends to every memory word here) ->
        answer logits (B, K + 1) (the last is "none"), span logits (B, K, N, 2)."""
        b, k, n, d = m.shape
        t = q.shape[1]
        low = torch.finfo(q.dtype).min
        has = m_mask.any(-1)  # (B, K)
        rows = has.reshape(-1).nonzero().squeeze(-1)  # only real memories are read
        qs = (q + self.side[0]).unsqueeze(1).expand(b, k, t, d).reshape(b * k, t, d)[rows]
        ms = (m + self.side[1]).reshape(b * k, n, d)[rows]
        x = torch.cat([self.summary.expand(len(rows), 1, d), qs, ms], dim=1)
        mask = torch.cat([torch.ones(len(rows), 1, dtype=torch.bool, device=q.device),
                          q_mask.unsqueeze(1).expand(b, k, t).reshape(b * k, t)[rows],
                          m_mask.reshape(b * k, n)[rows]], dim=1)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~mask)
        summary = q.new_zeros(b * k, d)
        summary[rows] = x[:, 0]
        words = q.new_zeros(b * k, n, d)
        words[rows] = x[:, 1 + t:]
        summary = summary.reshape(b, k, d)
        scores = self.score(summary).squeeze(-1).masked_fill(~has, low)  # (B, K)
        strongest = summary.masked_fill(~has.unsqueeze(-1), low).max(1).values  # (B, d)
        none = self.none(torch.where(has.any(-1, keepdim=True), strongest, torch.zeros_like(strongest)))
        span = self.span(words).reshape(b, k, n, 2).masked_fill(~m_mask.unsqueeze(-1), low)
        return torch.cat([scores, none], dim=-1), span


def batch_reading(questions: list[Words], memories: list[list[Words]], middle: bool = False, exact: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Pad questions to (B, T, dim) and memories to (B, K, N, dim), with their masks: the words' last
    hidden states, or (`middle`) their states after MiniLM's layer 4; with `exact` (a reader that reads
    it, `reads(model, "exact_match")`), also (B, K, T): 1 where memory k says the word question piece t belongs to
    (`piece_words`), else None."""
    def of(w: Words) -> np.ndarray:
        array = w.middle if middle else w.vectors
        if array is None:
            raise CheckpointError("the joint memory reader needs MiniLM's middle-layer word states; this "
                                  "embedder gives none")
        return array

    dim = next((of(w).shape[1] for w in questions if len(w.pieces)), 384)
    t = max(1, max(len(w.pieces) for w in questions))
    k = max(1, max(len(ms) for ms in memories))
    n = max(1, max((len(w.pieces) for ms in memories for w in ms), default=1))
    q = torch.zeros(len(questions), t, dim)
    q_mask = torch.zeros(len(questions), t, dtype=torch.bool)
    m = torch.zeros(len(questions), k, n, dim)
    m_mask = torch.zeros(len(questions), k, n, dtype=torch.bool)
    said_words = torch.zeros(len(questions), k, t) if exact else None
    for b, (w, ms) in enumerate(zip(questions, memories)):
        if said_words is not None:
            asked = piece_words(w)
            for i, mw in enumerate(ms):
                said = set(piece_words(mw))
                said_words[b, i, : len(asked)] = torch.tensor([float(bool(a) and a in said) for a in asked])
        if len(w.pieces):
            q[b, : len(w.pieces)] = torch.from_numpy(np.asarray(of(w), dtype=np.float32))
            q_mask[b, : len(w.pieces)] = True
        else:
            q_mask[b, 0] = True
        for i, mw in enumerate(ms):
            if len(mw.pieces):
                m[b, i, : len(mw.pieces)] = torch.from_numpy(np.asarray(of(mw), dtype=np.float32))
                m_mask[b, i, : len(mw.pieces)] = True
    return q, q_mask, m, m_mask, said_words


def reads(model: nn.Module, feature: str) -> bool:
    """Whether a reader was built to read one of `ReadingConfig`'s optional features ("exact_match",
    "recency", "similarity"); readers without it (the joint reader, older ones) read none."""
    return bool(getattr(getattr(model, "config", None), feature, False))


def told_order(facts: Sequence[Fact]) -> list[float]:
    """Each fact's place in the order it was told (0 for the first of them; by when it was stored, then by
    id), as a reader's `ages`."""
    order = sorted(range(len(facts)), key=lambda i: (facts[i].created_at, facts[i].id))
    place = [0.0] * len(facts)
    for rank, i in enumerate(order):
        place[i] = float(rank)
    return place


def piece_words(words: Words) -> list[str]:
    """For each word piece, the whole word it belongs to, lower case, a final "s" or "'s" dropped (so
    "tins" is "tin"); "" for a piece of punctuation."""
    out: list[str] = []
    start = 0
    for i, piece in enumerate(words.pieces):
        if not piece.startswith("##"):
            start = i
        end = i
        while end + 1 < len(words.pieces) and words.pieces[end + 1].startswith("##"):
            end += 1
        word = words.text[words.spans[start][0]: words.spans[end][1]].lower()
        word = word[:-2] if word.endswith("'s") else word[:-1] if len(word) > 3 and word.endswith("s") else word
        out.append(word if any(c.isalnum() for c in word) else "")
    return out


def best_span(start: torch.Tensor, end: torch.Tensor, length: int) -> tuple[int, int]:
    """The (first, last) piece maximising start + end logits, first <= last < first + MAX_ANSWER_PIECES."""
    scores = start[:length, None] + end[None, :length]
    allowed = torch.triu(torch.ones(length, length, dtype=torch.bool)) & ~torch.triu(
        torch.ones(length, length, dtype=torch.bool), diagonal=MAX_ANSWER_PIECES)
    flat = int(scores.masked_fill(~allowed, torch.finfo(scores.dtype).min).argmax())
    return flat // length, flat % length


def answer_text(words: Words, first: int, last: int) -> str:
    """The characters from piece `first` to piece `last`, widened to whole words."""
    while first > 0 and words.pieces[first].startswith("##"):
        first -= 1
    while last + 1 < len(words.pieces) and words.pieces[last + 1].startswith("##"):
        last += 1
    return words.text[words.spans[first][0]: words.spans[last][1]].strip()


class Reader:
    """The shipped memory reader, ready to read: one model, or several trained alike (an ensemble) whose
    probabilities, and whose answer pointers' log-probabilities, are averaged."""

    def __init__(self, models: MemoryReader | JointReader | Sequence[MemoryReader | JointReader],
                 metrics: dict | None = None):
        self.models = [m.eval() for m in (list(models) if isinstance(models, (list, tuple)) else [models])]
        self.model = self.models[0]
        self.metrics = dict(metrics or {})
        self.middle = isinstance(self.model, JointReader)  # reads the words' middle-layer states
        self.exact = reads(self.model, "exact_match")  # ... and which question words each memory says itself
        self.recency = reads(self.model, "recency")  # ... and when each memory was told against the others
        if any(isinstance(m, JointReader) != self.middle or reads(m, "exact_match") != self.exact
               or reads(m, "recency") != self.recency for m in self.models):
            raise ValueError("the members of a reader ensemble must read the same features")

    @property
    def threshold(self) -> float:
        """P(a memory answers) at or above which its choice is taken, as chosen in training (an ensemble's
        own, else its first member's)."""
        return float(self.metrics.get("threshold", self.model.config.threshold)) if len(self.models) > 1 \
            else self.model.config.threshold

    def _run(self, question: Words, memories: list[list[Words]] | list[Words], ages: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's reading of one question over `memories`, averaged: P(each memory answers, last
        "none") (K + 1,) and the answer pointer's log-probabilities (K, N, 2)."""
        batch = batch_reading([question], [memories], self.middle, self.exact)
        told = {"ages": ages} if self.recency and ages is not None else {}
        p, pointer = [], []
        with torch.no_grad():
            for model in self.models:
                logits, span = model(*batch, **told)
                p.append(torch.softmax(logits[0], dim=-1))
                pointer.append(torch.log_softmax(span[0], dim=1))
        return torch.stack(p).mean(0), torch.stack(pointer).mean(0)

    def read(self, question: Words, memories: list[Words], threshold: float | None = None,
             pooled: float | None = None, alike: np.ndarray | None = None, ages: Sequence[float] | None = None
             ) -> Reading:
        """Which of `memories` answers `question` (in the order given), and the answer's words: the most
        probable memory when it is more probable than "none" and, if `threshold` is given, at least that
        probable. `pooled` (a share): the memories at least that share as probable as the likeliest count
        together, as versions of one answer (an old value and its correction, both kept, share the
        probability that the question is answered, and neither alone may reach it); `alike` (n, n booleans),
        if given, says which memories may be versions of one fact at all; `ages`: when each memory was told,
        larger for later (read only by a reader built with `ReadingConfig.recency`; None: in the order given)."""
        if not memories:
            return Reading((), 1.0, None)
        if ages is not None and len(ages) != len(memories):
            raise ValueError(f"{len(ages)} ages for {len(memories)} memories: one each")
        p, span = self._run(question, memories, None if ages is None else torch.tensor([list(map(float, ages))]))
        chances = tuple(float(x) for x in p[:-1])
        best = int(p[:-1].argmax())
        versions = (best,) if pooled is None else tuple(
            i for i, c in enumerate(chances) if c >= pooled * chances[best] and (alike is None or alike[best, i]))
        answered = sum(chances[i] for i in versions)
        if answered <= float(p[-1]) or (threshold is not None and answered < threshold):
            return Reading(chances, float(p[-1]), None)
        first, last = best_span(span[best, :, 0], span[best, :, 1], len(memories[best].pieces))
        return Reading(chances, float(p[-1]), best, answer_text(memories[best], first, last), versions)

    def span(self, question: Words, memory: Words) -> str:
        """The words of one memory that answer the question best (whether or not it answers at all)."""
        _, span = self._run(question, [memory])
        first, last = best_span(span[0, :, 0], span[0, :, 1], len(memory.pieces))
        return answer_text(memory, first, last)


def load_reader(path: Path) -> Reader:
    """A saved reader; an ensemble's members are saved side by side ("0.score.0.weight", ...)."""
    saved = load_checkpoint(Path(path), kind=CHECKPOINT_KIND)
    members = int(saved.metrics.get("members", 1))
    try:
        models = []
        for i in range(members):
            model = JointReader(JointConfig(**saved.config)) if "layers" in saved.config else MemoryReader(
                ReadingConfig(**saved.config))
            prefix = f"{i}." if members > 1 else ""
            model.load_state_dict({k[len(prefix):]: v for k, v in saved.state.items() if k.startswith(prefix)})
            models.append(model)
    except (TypeError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not a memory reader this version can load: {e}") from e
    return Reader(models, saved.metrics)
