"""The End-to-End Memory Network reader (Sukhbaatar, Szlam, Weston & Fergus 2015, arXiv:1503.08895).

Two layers, kept apart so the chat can reuse the first with its own slot encodings:
- `MultiHopAttention`: the multi-hop core (section 2). It takes an already-encoded query (B, d) and
  memory keys/values (B, M, d) or one pair per hop (B, K, M, d), plus a mask, and returns the final
  controller state u^{K+1} and every hop's attention.
- `MemN2N`: the bAbI model (sections 2.2, 4.1): bag-of-words slot and query encodings with position
  and temporal encoding, adjacent weight tying, and the answer layer W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ReaderConfig:
    dim: int = 50  # embedding size d; the paper's joint models use 50
    hops: int = 3  # K
    memory_size: int = 50  # slots that get their own temporal embedding; the paper caps memory at 50
    position_encoding: bool = True  # section 4.1; False gives a plain bag of words
    temporal: bool = True  # section 4.1: learned embedding of each slot's age
    random_time: float = 0.1  # section 4.1 "random noise": share of empty memories inserted in training
    init_std: float = 0.1  # section 4.2: weights drawn from N(0, 0.1)
    position_length: int = 0  # J in 4.1: 0 = each sentence's own length (the paper's text); > 0 = one fixed J
    projection: bool = False  # a learned H between hops, u^{k+1} = H u^k + o^k (2.2), shared by all hops
    relu_units: int = 0  # ReLU on this many controller units after each hop (the paper's * models: d/2)


@dataclass(frozen=True)
class Read:
    """What a multi-hop read returns."""

    state: torch.Tensor  # (B, d) the controller state after the last hop, u^{K+1} = u^K + o^K; (B, T, d) for T queries
    attention: torch.Tensor  # (B, K, M) each hop's weights over the slots, masked slots 0; (B, T, K, M) for T queries


@dataclass(frozen=True)
class Answer:
    logits: torch.Tensor  # (B, V) scores over the vocabulary
    attention: torch.Tensor  # (B, K, M)


def masked_attention(scores: torch.Tensor, mask: torch.Tensor | None, linear: bool = False) -> torch.Tensor:
    """Softmax over the last axis with masked entries at exactly 0. Masking uses the dtype's minimum, not
    -inf, so a row with nothing unmasked gives zeros instead of NaN. `linear` skips the softmax (4.2)."""
    if mask is None:
        return scores if linear else torch.softmax(scores, dim=-1)
    if linear:
        return scores * mask
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1) * mask


class MultiHopAttention(nn.Module):
    """K hops of attention; each hop adds what it read to the query (section 2.2, adjacent tying needs
    no extra weights: u^{k+1} = u^k + o^k). Set `linear = True` for linear start (section 4.2)."""

    def __init__(self, hops: int = 3, relu_units: int = 0, dim: int = 0):
        super().__init__()
        if hops < 1:
            raise ValueError(f"a reader needs at least one hop, got {hops}")
        self.hops = hops
        # Section 2.2 (layer-wise tying): with `dim`, a learned map H between hops, u^{k+1} = H u^k + o^k.
        self.project = nn.Linear(dim, dim, bias=False) if dim else None
        self.relu_units = relu_units  # section 4.2 (the * models): ReLU on this many controller units per hop
        self.linear = False

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor | None = None
    ) -> Read:
        # query (B, d), or (B, T, d): T queries into the same memory at once (e.g. every step of a reply);
        # keys, values (B, M, d) shared by all hops, or (B, K, M, d) one per hop; mask (B, M)
        if keys.dim() == 3:
            keys = keys.unsqueeze(1).expand(-1, self.hops, -1, -1)
        if values.dim() == 3:
            values = values.unsqueeze(1).expand(-1, self.hops, -1, -1)
        steps = query.dim() == 3
        u = query if steps else query.unsqueeze(1)  # (B, T, d)
        if mask is not None:
            mask = mask.bool().unsqueeze(1)  # (B, 1, M)
        weights = []
        for k in range(self.hops):
            scores = u @ keys[:, k].transpose(1, 2)  # (B, T, M)
            p = masked_attention(scores, mask, self.linear)  # (B, T, M)
            o = p @ values[:, k]  # (B, T, d)
            u = (self.project(u) if self.project is not None else u) + o
            if self.relu_units:
                u = torch.cat([torch.relu(u[..., : self.relu_units]), u[..., self.relu_units :]], dim=-1)
            weights.append(p)
        attention = torch.stack(weights, dim=2)  # (B, T, K, M)
        if not steps:
            return Read(state=u.squeeze(1), attention=attention.squeeze(1))
        return Read(state=u, attention=attention)


def position_encoding(lengths: torch.Tensor, width: int, dim: int, fixed: int = 0) -> torch.Tensor:
    """Section 4.1: l_kj = (1 - j/J) - (k/d)(1 - 2j/J) for word j = 1..J of a J-word sentence and
    embedding component k = 1..d; zero past the sentence's end. lengths (...) -> weights (..., width, dim)."""
    a, b = _position_terms(lengths, width, fixed)  # (..., width) each
    k = torch.arange(1, dim + 1, dtype=torch.float32, device=lengths.device) / dim  # (dim,)
    return a[..., None] + k * b[..., None]


def _position_terms(lengths: torch.Tensor, width: int, fixed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """l_kj = a_j + (k/d) b_j with a_j = 1 - j/J and b_j = 2j/J - 1, zero past the sentence's end:
    (...) -> 2 x (..., width). J is the sentence's length, or `fixed` for every sentence when > 0."""
    length = lengths.to(torch.float32)[..., None]  # (..., 1)
    J = torch.full_like(length, float(fixed)) if fixed else length.clamp(min=1)
    j = torch.arange(1, width + 1, dtype=torch.float32, device=lengths.device)  # (width,)
    inside = j <= length
    return (1 - j / J) * inside, (2 * j / J - 1) * inside


def bag_of_words(
    tokens: torch.Tensor, table: torch.Tensor, dim: int, position: bool = True, fixed_length: int = 0
) -> torch.Tensor:
    """Sum each sentence's word embeddings, weighted by position encoding (4.1) when `position` is on.
    tokens (..., L) ids, 0 = padding; table (V, n*dim) holds n embeddings of size `dim` side by side
    -> (..., n*dim). Since l_kj = a_j + (k/d) b_j, two weighted embedding bags give the whole sum
    without building the (..., L, n*dim) tensor of looked-up words."""
    flat = tokens.reshape(-1, tokens.shape[-1])  # (N, L)
    if not position:
        sums = nn.functional.embedding_bag(flat, table, mode="sum", padding_idx=0)  # (N, n*dim)
        return sums.reshape(*tokens.shape[:-1], table.shape[-1])
    a, b = _position_terms((flat != 0).sum(dim=-1), flat.shape[-1], fixed_length)  # (N, L) each
    sums = nn.functional.embedding_bag(
        torch.cat([flat, flat]), table, per_sample_weights=torch.cat([a, b]), mode="sum", padding_idx=0
    )  # (2N, n*dim)
    k = torch.arange(1, dim + 1, dtype=table.dtype, device=table.device) / dim
    k = k.repeat(table.shape[-1] // dim)  # (n*dim,) component index within each embedding
    bags = sums[: flat.shape[0]] + k * sums[flat.shape[0] :]  # (N, n*dim)
    return bags.reshape(*tokens.shape[:-1], table.shape[-1])


class MemN2N(nn.Module):
    """The bAbI question answerer: memory of statements, a question, an answer word (sections 2, 4.1).

    Adjacent weight tying (2.2): the embeddings A^1, C^1, ..., C^K sit side by side in one table,
    A^{k+1} = C^k, the question embedding B = A^1 and the answer layer W^T = C^K. Temporal embeddings
    T_A, T_C are tied the same way. Slot 0 is the newest statement; its temporal index is its age.
    """

    def __init__(self, vocab_size: int, config: ReaderConfig = ReaderConfig()):
        super().__init__()
        self.config = config
        K, d = config.hops, config.dim
        width = (K + 1) * d
        self.words = nn.Embedding(vocab_size, width, padding_idx=0)  # [A^1 | C^1 | ... | C^K]
        nn.init.normal_(self.words.weight, std=config.init_std)
        with torch.no_grad():
            self.words.weight[0].zero_()
        # Ages past memory_size happen only with random noise, which shifts ages by the inserted blanks.
        self.time_slots = config.memory_size + math.ceil(4 * config.memory_size * config.random_time) + 1
        self.time = nn.Parameter(torch.randn(self.time_slots, width) * config.init_std)  # [T_A^1 | T_C^1 ...]
        self.attention = MultiHopAttention(K, config.relu_units, d if config.projection else 0)
        if config.projection:
            nn.init.normal_(self.attention.project.weight, std=config.init_std)
        pad_answer = torch.zeros(vocab_size, dtype=torch.bool)
        pad_answer[0] = True
        self.register_buffer("_pad_answer", pad_answer, persistent=False)

    @property
    def linear_start(self) -> bool:
        return self.attention.linear

    @linear_start.setter
    def linear_start(self, on: bool) -> None:
        self.attention.linear = on

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Bags of words with position encoding, all K+1 embeddings at once: (..., L) -> (..., K+1, d)."""
        K, d = self.config.hops, self.config.dim
        bags = bag_of_words(
            tokens, self.words.weight, d, self.config.position_encoding, self.config.position_length
        )  # (..., (K+1)*d)
        return bags.unflatten(-1, (K + 1, d))

    def ages(self, batch: int, slots: int, device: torch.device) -> torch.Tensor:
        """Temporal index of each slot (B, M): its age, plus in training the blanks random noise inserts
        before it (each with probability random_time), so the model cannot overfit exact ages."""
        age = torch.arange(slots, device=device).expand(batch, slots)
        if self.training and self.config.random_time > 0:
            blanks = torch.rand(batch, slots, device=device) < self.config.random_time
            age = age + blanks.cumsum(dim=1)
        return age.clamp(max=self.time_slots - 1)

    def forward(self, memory: torch.Tensor, query: torch.Tensor) -> Answer:
        # memory (B, M, L) word ids, slot 0 newest, all-zero rows are empty; query (B, Lq)
        B, M, _ = memory.shape
        K, d = self.config.hops, self.config.dim
        mask = (memory != 0).any(dim=-1)  # (B, M)
        filled = mask.flatten().nonzero().squeeze(1)  # (F,) only filled slots are encoded: no work on padding
        encoded = self.encode(memory.flatten(0, 1)[filled])  # (F, K+1, d)
        slots = encoded.new_zeros(B * M, K + 1, d).index_copy(0, filled, encoded).unflatten(0, (B, M))
        if self.config.temporal:
            slots = slots + self.time[self.ages(B, M, memory.device)].unflatten(-1, (K + 1, d))
        slots = slots.transpose(1, 2)  # (B, K+1, M, d)
        u = self.encode(query)[:, 0]  # (B, d) question embedding B = A^1
        read = self.attention(u, keys=slots[:, :K], values=slots[:, 1:], mask=mask)
        answer_layer = self.words.weight[:, K * d :]  # (V, d) W^T = C^K
        logits = read.state @ answer_layer.T  # (B, V)
        logits = logits.masked_fill(self._pad_answer, torch.finfo(logits.dtype).min)  # never answer padding
        return Answer(logits=logits, attention=read.attention)
