"""The LSTM generator: encodes the dialogue and its memory, reads memory at every step, copies from it.

The design of Mem2Seq (Madotto, Wu & Fung 2018) with an LSTM dialogue encoder:
- every line of the context (a user or bot turn, a knowledge-base fact, a stored fact) is read by a
  bidirectional LSTM over its words; each word's output is one memory slot, tagged with the line's
  speaker and age and with whether the word was said by the user or the bot (the "match" features of
  Bordes et al. 2017, section 4.3, so an unseen name can still be told apart by where it occurred);
- an LSTM over the line vectors, oldest first, is the dialogue's short-term state; with a max-pool over
  all slots (what has been said at all) it starts the decoder;
- each decoder step (an LSTM over the previous word) queries the memory with the End-to-End Memory
  Network reader (`reader.MultiHopAttention`, K hops); what it read conditions the vocabulary softmax, and
  the last hop's attention is the copy pointer (Mem2Seq section 2.2);
- a learned sentinel slot is the switch between generating and copying: the output distribution is
  P(w) = p_sentinel * P_vocab(w) + sum of the pointer over the slots holding w, which sums to one over an
  extended vocabulary where each out-of-vocabulary word in memory has its own id (V + j).

Two options from GLMP (Wu, Socher & Xiong 2019), off by default (the chat model reads without them):
- `kb_triples`: each knowledge-base fact of three words (subject, relation, object) is also one memory
  slot, the bag of its words' embeddings (GLMP section 2.1, the KB memory), copying its subject; the
  fact's object reaches the subject's slot in one linear step, so e.g. a restaurant's rating can rank it;
- `global_pointer`: before decoding, the encoder's state reads the memory and a sigmoid over the slots,
  trained to say which slots' words the reply holds, filters the memory the decoder reads (section 2.2).

State is explicit: `encode(context) -> (memory, state)`, `forward(tokens, state, memory) -> (output,
state)`; nothing is kept on the module between calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .errors import ConfigError
from .reader import MultiHopAttention

SPEAKERS = {"user": 1, "bot": 2, "kb": 3}  # 0 = padding
GO, EOS = "<go>", "<eos>"  # the decoder's first input and the end of every reply; both are vocabulary words
CHAT_CHECKPOINT_KIND = "generator-chat"  # the chat model's checkpoints (`memchat train`, `load_generator`)


@dataclass(frozen=True)
class GeneratorConfig:
    dim: int = 128  # embeddings, LSTM states and memory slots
    hops: int = 3  # memory-reader hops per decoder step
    max_age: int = 128  # lines older than this share one age embedding
    word_dropout: float = 0.1  # in training, share of context words read as <unk>: teaches copying unseen words
    dropout: float = 0.1  # on the context's word vectors and on the decoder's output features
    memory_tokens: int = 600  # most words of context kept; the oldest lines are dropped first
    max_reply: int = 40  # longest reply decoded, in tokens
    reads_history: bool = False  # trained with carried dialogue state (`carry`); False: every context read afresh
    kb_triples: bool = False  # also one slot per 3-word KB fact, the bag of its words (GLMP 2.1); needs
    #                           `collate(..., kb_triples=True)`
    global_pointer: bool = False  # a sigmoid filter over the slots, trained on which words the reply holds (GLMP 2.2)
    global_filter: str = "scale"  # how it filters: "scale" multiplies each slot's keys and values by g (GLMP);
    #                               "log" adds log g to the slot's score at every hop (a filtered slot loses its mass)

    def __post_init__(self) -> None:
        if self.global_filter not in ("scale", "log"):
            raise ConfigError(f"global_filter must be 'scale' or 'log', got {self.global_filter!r}")


@dataclass(frozen=True)
class ContextBatch:
    """B contexts as tensors; built by `batching.collate`. N lines in all, each at most L tokens."""

    line_tokens: torch.Tensor  # (N, L) vocabulary ids, 0 = padding, out-of-vocabulary words = <unk>
    line_flags: torch.Tensor  # (N, L) per word: 1 said by the user, 2 by the bot, 3 both, 0 neither
    line_speaker: torch.Tensor  # (N,) SPEAKERS id of each line
    line_age: torch.Tensor  # (N,) 0 = the newest line of its context
    lines: torch.Tensor  # (B, T) each context's lines (indices into N), oldest first; padded with 0
    line_count: torch.Tensor  # (B,) lines per context (>= 1)
    slot_index: torch.Tensor  # (B, M) each memory slot's word as an index into the flattened (N * L) words
    slot_mask: torch.Tensor  # (B, M) True for real slots
    slot_ids: torch.Tensor  # (B, M) extended id of each slot's word: vocabulary id, or V + j for OOV word j
    oov: tuple[tuple[str, ...], ...]  # per context, its out-of-vocabulary memory words (extended id V + j)
    # KB facts as triples (`collate(kb_triples=True)`), R per context at most; None when not built
    triple_tokens: torch.Tensor | None = None  # (B, R, 3) vocabulary ids of subject, relation, object
    triple_flags: torch.Tensor | None = None  # (B, R, 3) each word's match flag, as `line_flags`
    triple_age: torch.Tensor | None = None  # (B, R) age of the fact's line
    triple_mask: torch.Tensor | None = None  # (B, R) True for real facts
    triple_ids: torch.Tensor | None = None  # (B, R) extended id of each fact's subject: the word its slot copies


@dataclass(frozen=True)
class Memory:
    """What the decoder reads at every step."""

    keys: torch.Tensor  # (B, K, M+1, d) per hop; the last slot is the sentinel
    values: torch.Tensor  # (B, K, M+1, d)
    mask: torch.Tensor  # (B, M+1)
    slot_ids: torch.Tensor  # (B, M) extended ids of the slots' words
    extended_size: int  # V + most OOV words of any context in the batch
    global_pointer: torch.Tensor | None = None  # (B, M) the sigmoid filter over the slots (`global_pointer`)


@dataclass(frozen=True)
class State:
    """The decoder's recurrent state between steps: the short-term memory of the reply being written."""

    h: torch.Tensor  # (B, d)
    c: torch.Tensor  # (B, d)


@dataclass(frozen=True)
class Output:
    log_probs: torch.Tensor  # (B, T, V_ext) log of the copy-or-generate distribution
    pointer: torch.Tensor  # (B, T, M+1) last-hop attention over the slots and the sentinel; sums to 1
    vocab_logits: torch.Tensor  # (B, T, V) scores of the generating side


class Generator(nn.Module):
    def __init__(self, vocab_size: int, config: GeneratorConfig = GeneratorConfig(), go_id: int = 2):
        super().__init__()
        self.config = config
        d, K = config.dim, config.hops
        self.vocab_size = vocab_size
        self.words = nn.Embedding(vocab_size, d, padding_idx=0)
        self.speakers = nn.Embedding(len(SPEAKERS) + 1, d, padding_idx=0)
        self.flags = nn.Embedding(4, d)
        self.ages = nn.Embedding(config.max_age, d)
        self.line_lstm = nn.LSTM(d, d // 2, batch_first=True, bidirectional=True)
        self.dialogue_lstm = nn.LSTM(d, d, batch_first=True)
        self.start = nn.Linear(2 * d, d)  # the decoder's first state from the dialogue state and the pooled memory
        self.to_keys = nn.Linear(d, K * d)  # one key and one value embedding of each slot per hop
        self.to_values = nn.Linear(d, K * d)
        self.sentinel = nn.Parameter(torch.randn(2, K, d) * 0.1)  # (key, value) of the "generate" slot
        self.reader = MultiHopAttention(hops=K)
        self.decoder = nn.LSTM(d, d, batch_first=True)
        self.drop = nn.Dropout(config.dropout)
        self.features = nn.Sequential(nn.Linear(2 * d, d), nn.Tanh(), nn.Dropout(config.dropout))
        self.out = nn.Linear(d, vocab_size)
        if config.kb_triples:  # a fact word's match flag, embedded by its place in the fact: 4 * place + flag
            self.triple_flags = nn.Embedding(3 * 4, d)
        never = torch.zeros(vocab_size, dtype=torch.bool)
        never[[0, go_id]] = True  # padding and <go> are never generated
        self.register_buffer("_never", never, persistent=False)

    def _unk_dropout(self, tokens: torch.Tensor) -> torch.Tensor:
        """In training, a `word_dropout` share of the words read as <unk> (id 1): copying by role, not identity."""
        if not (self.training and self.config.word_dropout > 0):
            return tokens
        drop = (torch.rand(tokens.shape, device=tokens.device) < self.config.word_dropout) & (tokens > 1)
        return tokens.masked_fill(drop, 1)

    def _read_lines(self, batch: ContextBatch, ages: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each line through the word BiLSTM: (per-word outputs (N, L, d), line vectors (N, d) with `ages`)."""
        tokens = self._unk_dropout(batch.line_tokens)  # (N, L)
        x = self.words(tokens) + self.flags(batch.line_flags) + self.speakers(batch.line_speaker)[:, None]
        x = self.drop(x)
        lengths = (batch.line_tokens != 0).sum(1).clamp(min=1).cpu()
        packed, (h, _) = self.line_lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        words, _ = pad_packed_sequence(packed, batch_first=True, total_length=tokens.shape[1])  # (N, L, d)
        return words, torch.cat([h[0], h[1]], dim=-1) + ages  # each line: last states both ways

    def carry(self, history: ContextBatch, start: State | None = None) -> State:
        """Short-term memory across turns: the dialogue LSTM's state after reading `history`'s lines
        (oldest first) from `start` (zeros when None). History lines all share the oldest age, so reading
        them one turn at a time or all at once gives the same state; pass it to `encode(carried=...)`."""
        oldest = torch.full_like(history.line_age, self.config.max_age - 1)
        _, line_vectors = self._read_lines(history, self.ages(oldest))
        packed = pack_padded_sequence(line_vectors[history.lines], history.line_count.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, (h, c) = self.dialogue_lstm(packed, None if start is None else (start.h[None], start.c[None]))
        return State(h[0], c[0])

    def encode(self, batch: ContextBatch, carried: State | None = None) -> tuple[Memory, State]:
        """Read the context: memory slots for the reader and the decoder's starting state. `carried`: the
        dialogue LSTM's state over older lines (`carry`), else it starts from zeros."""
        d, K = self.config.dim, self.config.hops
        if self.config.kb_triples and batch.triple_tokens is None:
            raise ConfigError("this generator reads KB facts as triples: collate its batches with kb_triples=True")
        tokens = batch.line_tokens  # (N, L)
        ages = self.ages(batch.line_age.clamp(max=self.config.max_age - 1))  # (N, d)
        words, line_vectors = self._read_lines(batch, ages)  # (N, L, d), (N, d)
        slot_ages = ages.repeat_interleave(tokens.shape[1], dim=0)[batch.slot_index]  # (B, M, d)
        slots = words.reshape(-1, d)[batch.slot_index] + slot_ages  # (B, M, d)
        slot_mask, slot_ids = batch.slot_mask, batch.slot_ids
        if self.config.kb_triples:  # the facts' slots after the words' (M = words + R)
            slots = torch.cat([slots, self._triple_slots(batch)], dim=1)
            slot_mask = torch.cat([slot_mask, batch.triple_mask], dim=1)
            slot_ids = torch.cat([slot_ids, batch.triple_ids], dim=1)
        B, M = slot_mask.shape
        keys = self.to_keys(slots).view(B, M, K, d).transpose(1, 2)  # (B, K, M, d)
        values = self.to_values(slots).view(B, M, K, d).transpose(1, 2)
        history = line_vectors[batch.lines]  # (B, T, d) oldest line first
        packed = pack_padded_sequence(history, batch.line_count.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, c) = self.dialogue_lstm(packed, None if carried is None else (carried.h[None], carried.c[None]))
        # What was said at all, whenever: a max-pool over the slots (which requests are already answered)
        pooled = slots.masked_fill(~slot_mask[..., None], torch.finfo(slots.dtype).min).amax(dim=1)  # (B, d)
        h = torch.tanh(self.start(torch.cat([h[0], pooled], dim=-1)))  # (B, d)
        gate = None
        if self.config.global_pointer:
            gate = self._global_pointer(h, keys, values, slot_mask)  # (B, M)
        keys = torch.cat([keys, self.sentinel[0].expand(B, K, d)[:, :, None]], dim=2)  # (B, K, M+1, d)
        values = torch.cat([values, self.sentinel[1].expand(B, K, d)[:, :, None]], dim=2)
        if gate is not None:
            keys, values = self._filter(keys, values, gate)
        keys, values = keys.contiguous(), values.contiguous()  # read K times per decoder step
        mask = torch.cat([slot_mask, slot_mask.new_ones(B, 1)], dim=1)  # (B, M+1)
        extended = self.vocab_size + max((len(o) for o in batch.oov), default=0)
        memory = Memory(keys, values, mask, slot_ids, extended, gate)
        return memory, State(h, c[0])

    def _triple_slots(self, batch: ContextBatch) -> torch.Tensor:
        """GLMP section 2.1: a KB fact (subject, relation, object) as one slot, the bag of its words'
        embeddings, each with its match flag embedded by its place (so "the bot proposed this subject" is
        one vector), plus the fact line's age. The bag is a mean, not GLMP's sum, so a fact's slot has the
        scale of a word's slot (a word's LSTM output plus its age). -> (B, R, d)"""
        tokens = self._unk_dropout(batch.triple_tokens)  # (B, R, 3)
        places = torch.arange(3, device=tokens.device) * 4  # (3,)
        x = self.words(tokens) + self.triple_flags(batch.triple_flags + places)  # (B, R, 3, d)
        ages = self.ages(batch.triple_age.clamp(max=self.config.max_age - 1))  # (B, R, d)
        return self.drop(x.mean(dim=2)) + ages

    def _global_pointer(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                        slot_mask: torch.Tensor) -> torch.Tensor:
        """GLMP section 2.2, the global memory pointer: the encoder's state reads the memory (K hops);
        the state after the last hop scores each slot's last-hop key, and a sigmoid (not a softmax: any
        number of slots may be needed) says whether its word belongs in the reply. query (B, d),
        keys/values (B, K, M, d), slot_mask (B, M) -> (B, M), 0 on padding."""
        read = self.reader(query, keys, values, slot_mask)  # state (B, d)
        scores = (keys[:, -1] @ read.state[:, :, None]).squeeze(-1)  # (B, M)
        return torch.sigmoid(scores) * slot_mask

    def _filter(self, keys: torch.Tensor, values: torch.Tensor, gate: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The global pointer `gate` (B, M) applied to keys and values (B, K, M+1, d); the sentinel is never
        filtered. "scale" (GLMP 2.2): every hop's key and value times g, so a filtered slot scores 0.
        "log": one more channel holding log g in the keys and 0 in the values, which the decoder's query
        meets with a constant 1 (`forward`): each hop's score gains log g, i.e. the attention is the
        product of the filter and the local pointer, renormalised. -> keys (B, K, M+1, d or d+1), values"""
        g = torch.nn.functional.pad(gate, (0, 1), value=1.0)[:, None, :, None]  # (B, 1, M+1, 1), sentinel 1
        if self.config.global_filter == "scale":
            return keys * g, values * g
        log_g = torch.log(g.clamp(min=1e-6)).expand(-1, keys.shape[1], -1, -1)  # (B, K, M+1, 1)
        return torch.cat([keys, log_g], dim=-1), torch.nn.functional.pad(values, (0, 1))

    def forward(self, tokens: torch.Tensor, state: State, memory: Memory) -> tuple[Output, State]:
        """Decode T steps from `state`, the inputs given (teacher forcing, or one step at a time).
        tokens (B, T) vocabulary ids of each step's input word (<go>, then the previous word). As in
        Mem2Seq the reader is queried with each step's LSTM output, so all T steps read memory at once."""
        hidden, (h, c) = self.decoder(self.words(tokens), (state.h[None], state.c[None]))  # (B, T, d)
        query = hidden
        if memory.keys.shape[-1] > hidden.shape[-1]:  # the "log" filter's channel (`_filter`): a constant 1
            query = torch.nn.functional.pad(hidden, (0, 1), value=1.0)  # (B, T, d+1)
        result = self.reader(query, memory.keys, memory.values, memory.mask)  # state (B, T, d or d+1)
        read = result.state[..., : hidden.shape[-1]]  # (B, T, d)
        features = self.features(torch.cat([hidden, read], dim=-1))  # (B, T, d)
        logits = self.out(features).masked_fill(self._never, torch.finfo(features.dtype).min)  # (B, T, V)
        pointer = result.attention[:, :, -1]  # (B, T, M+1) the last hop's attention is the copy pointer
        log_probs = mix(logits, pointer, memory.slot_ids, memory.extended_size)
        return Output(log_probs, pointer, logits), State(h[0], c[0])


def mix(logits: torch.Tensor, pointer: torch.Tensor, slot_ids: torch.Tensor, extended: int) -> torch.Tensor:
    """log P(w) = log(p_sentinel * softmax(logits)[w] + sum_{slots i holding w} pointer_i) over V_ext words.
    logits (B, T, V), pointer (B, T, M+1), slot_ids (B, M) -> (B, T, V_ext)."""
    B, T, V = logits.shape
    generate = pointer[..., -1:] * torch.softmax(logits, dim=-1)  # (B, T, V)
    probs = torch.nn.functional.pad(generate, (0, extended - V))  # (B, T, V_ext)
    index = slot_ids[:, None, :].expand(B, T, -1)  # (B, T, M)
    probs = probs.scatter_add(2, index, pointer[..., :-1])
    return torch.log(probs.clamp(min=1e-12))


def global_labels(slot_ids: torch.Tensor, target_ids: torch.Tensor) -> torch.Tensor:
    """GLMP's global-pointer labels: 1 for each slot whose word the reply holds, else 0.
    slot_ids (B, M), target_ids (B, T) extended ids (0 = padding, 1 = <unk>) -> (B, M) float."""
    said = (slot_ids[:, :, None] == target_ids[:, None, :]) & (target_ids[:, None, :] > 1)  # (B, M, T)
    return said.any(-1).float()


def loss(output: Output, targets: torch.Tensor, target_ids: torch.Tensor, slot_ids: torch.Tensor,
         memory: Memory | None = None) -> torch.Tensor:
    """Mem2Seq's two losses, mean over the reply words: cross-entropy of the vocabulary softmax on the
    word, plus the pointer's: -log of its mass on the slots holding the word, or on the sentinel when no
    slot does. targets (B, T) vocabulary ids (0 = padding); target_ids (B, T) extended ids. With a
    `memory` that has a global pointer, plus GLMP's third loss: its binary cross-entropy against
    `global_labels`, mean over each context's slots and over the batch."""
    mask = targets != 0  # (B, T)
    vocab = nn.functional.cross_entropy(output.vocab_logits.transpose(1, 2), targets, ignore_index=0, reduction="sum")
    holds = (slot_ids[:, None, :] == target_ids[:, :, None]) & (slot_ids[:, None, :] != 0)  # (B, T, M)
    copyable = holds.any(-1)  # (B, T)
    mass = (output.pointer[..., :-1] * holds).sum(-1)  # (B, T)
    mass = torch.where(copyable, mass, output.pointer[..., -1])
    pointer = -(torch.log(mass.clamp(min=1e-12)) * mask).sum()
    total = (vocab + pointer) / mask.sum().clamp(min=1)
    if memory is None or memory.global_pointer is None:
        return total
    real = memory.mask[:, :-1].float()  # (B, M) without the sentinel
    labels = global_labels(slot_ids, target_ids)
    bce = nn.functional.binary_cross_entropy(memory.global_pointer.clamp(1e-6, 1 - 1e-6), labels, reduction="none")
    return total + ((bce * real).sum(1) / real.sum(1).clamp(min=1)).mean()
