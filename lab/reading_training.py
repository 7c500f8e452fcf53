"""The recipe of the shipped memory reader (`assistant/models/reader.pt`) and its SQuAD 2.0 figures.

Data (`reading_data`): SQuAD 2.0 dev's training articles (plus SQuAD 1.1 dev articles not in 2.0) and
the catalogue's train split. A tenth of the training examples is held out as the development set: the
epoch and the answer threshold are chosen on it. The test articles give the reported exact match, F1 and
no-answer accuracy (the official SQuAD 2.0 definitions: a question with no answer scores 1 only when the
reader says none).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import string
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from assistant.checkpoint import load_checkpoint, save_checkpoint
from assistant.errors import ConfigError
from assistant.reading import (CHECKPOINT_KIND, JointConfig, JointReader, MemoryReader, ReadingConfig, answer_text,
                               batch_reading, best_span, load_reader, reads)
from assistant.settings import AssistantConfig
from assistant.vocab import PAD, UNK, Vocab
from memory_store import MiniLMEmbedder, Words
from memory_store.minilm import read_safetensors

from .corpora import dream
from .reading_data import (ReadingExample, attribute_examples, dialogue_examples, news_examples, personal_examples,
                           squad_examples, squad_split, version_examples)
from .word_vectors import encode
from .written_data import held_apart, training_conversations, written_examples

Log = Callable[[str], None]


@dataclass(frozen=True)
class ReadingTrainConfig:
    seed: int = 0
    # An ensemble member's number: its starting weights and batch order are drawn from it (member 0 draws
    # them from `seed`, as readers trained before it did); its data, split and development examples from `seed`
    member: int = 0
    personal: int = 6000  # catalogue examples beside SQuAD's
    attributes: int = 4000  # questions about one attribute of a person among their others (`attribute_examples`)
    squad_limit: int | None = None  # SQuAD training questions used (None: all)
    dialogues: bool = False  # DREAM's train dialogues' questions over their sentences (`dialogue_examples`)
    news: int = 0  # statements read as questions: corrections of a SQuAD sentence, or a new fact (`news_examples`)
    # Answerable SQuAD questions also asked without their answering sentence (none answers: close neighbours
    # only), and the share of questions typed casually (`squad_examples`)
    dropped: float = 0.0
    casual: float = 0.0
    # A SQuAD sentence and its correction both in memory, both answering (`version_examples`), and the share
    # of told catalogue facts told again with another value (`personal_examples`)
    versions: int = 0
    personal_versions: float = 0.0
    # Each question of the hand-written training conversations (lab/training_conversations,
    # `written_examples`), this many times, with other neighbours each time (0: none)
    written: int = 6
    epochs: int = 6
    batch_size: int = 32
    lr: float = 1e-3
    clip: float = 1.0
    hidden: int = 128
    hops: int = 2
    exact_match: bool = False  # the MemN2N reader also reads which question words a memory says itself
    # The MemN2N reader also reads when each memory was told against the others (`ReadingConfig.recency`), and
    # a sentence and its correction (`versions`, `personal_versions`) are answered by the correction alone, the
    # sentence being history, while questions its correction leaves alone are still the sentence's
    recency: bool = False
    similarity: bool = False  # ... and how near each memory is to the question as a whole (`ReadingConfig.similarity`)
    # The joint reader (`JointReader`): MiniLM's last layers fine-tuned over question and memory together;
    # False: the MemN2N reader over each text's own word vectors (`MemoryReader`, the shipped one). An
    # experiment so far (README): `JOINT_RECIPE` is how it was trained.
    joint: bool = False
    joint_lr: float = 5e-5  # the joint layers' learning rate (they start from MiniLM's weights)
    # Memories of an example read per training step (the answering one always among them; every one at
    # development and test time): the joint layers read each memory with the question, so this bounds the cost.
    train_memories: int = 3
    train_pieces: int = 48  # ... each cut to this many word pieces around its answer (the joint reader's cost)
    dev_limit: int | None = None  # development examples read after each epoch (None: all)

    def __post_init__(self) -> None:
        if self.written < 0 or self.member < 0:
            raise ConfigError("written and member must be 0 or more")
        if min(self.personal, self.epochs, self.batch_size, self.hidden, self.hops, self.train_memories,
               self.train_pieces, 1 if self.dev_limit is None else self.dev_limit) < 1 \
                or self.lr <= 0 or self.joint_lr <= 0:
            raise ConfigError("personal, epochs, batch_size, hidden, hops and train_memories must be 1 or more, "
                              "the learning rates above 0")


# The joint reader's recipe as trained for the experiment in the README (`memchat train-reader --joint`): two
# epochs (35-45 min each here), corrections read as news, epoch and threshold chosen on 1,200 development
# examples.
JOINT_RECIPE = {"joint": True, "epochs": 2, "news": 5000, "dev_limit": 1200, "written": 0}
# The MemN2N reader with everyday talk added, as trained for the experiment in the README (`memchat
# train-reader --dialogues`): DREAM's train dialogues and corrections read as news, 76 min here.
DIALOGUE_RECIPE = {"dialogues": True, "news": 5000, "written": 0}
# The exact-match reader, as trained for the experiment in the README (`memchat train-reader --exact`): DrQA's
# exact-match feature, SQuAD questions also asked without their answering sentence, casually typed questions;
# 35 min here.
EXACT_RECIPE = {"exact_match": True, "dropped": 0.3, "casual": 0.3, "written": 0}
# The reader that reads when memories were told, as trained for the README (`memchat train-reader --recency`):
# SQuAD sentences and catalogue facts with a later correction, the correction the answer.
RECENCY_RECIPE = {"recency": True, "versions": 4000, "personal_versions": 0.2, "written": 0}

Row = tuple[Words, list[Words], int, tuple[int, int] | None, ReadingExample]  # question, memories, target, pieces


def _rows(examples: Sequence[ReadingExample], vectors: dict) -> list[Row]:
    out = []
    for e in examples:
        question = vectors[e.question][1]
        memories = [vectors[m][1] for m in e.memories]
        target = len(memories) if e.answer is None else e.answer
        pieces = _pieces(memories[e.answer], e.span) if e.answer is not None and e.span else None
        out.append((question, memories, target, pieces, e))
    return out


def _pieces(words: Words, span: tuple[int, int]) -> tuple[int, int] | None:
    """The first and last piece inside a character span."""
    inside = [i for i, (a, b) in enumerate(words.spans) if a < span[1] and b > span[0]]
    return (inside[0], inside[-1]) if inside else None


def _batches(rows: list[Row], size: int, rng: random.Random | None, middle: bool = False, memories: int | None = None,
             pieces: int = 48, exact: bool = False):
    """Batches of rows (shuffled by `rng`), each row cut to `memories` memories at most (the answering one
    kept) of `pieces` word pieces at most, as tensors of the words' last (or `middle`) states."""
    order = list(range(len(rows)))
    if rng is not None:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        chosen = [rows[i] for i in order[start:start + size]]
        if memories is not None and rng is not None:
            chosen = [_cut(_fewer(r, memories, rng), pieces, rng) for r in chosen]
        tensors = batch_reading([r[0] for r in chosen], [r[1] for r in chosen], middle, exact)
        k = tensors[2].shape[1]
        targets = torch.tensor([r[2] if r[2] < len(r[1]) else k for r in chosen])  # "none" is slot k
        yield chosen, tensors, targets


def _fewer(row: Row, count: int, rng: random.Random) -> Row:
    """`row` with `count` of its memories at most, the answering one among them (in their order)."""
    question, memories, target, pieces, example = row
    if len(memories) <= count:
        return row
    keep = sorted(rng.sample([i for i in range(len(memories)) if i != target],
                             count - (target < len(memories))) + ([target] if target < len(memories) else []))
    new_target = keep.index(target) if target < len(memories) else count
    return question, [memories[i] for i in keep], new_target, pieces, example


def _cut(row: Row, limit: int, rng: random.Random) -> Row:
    """`row` with each memory cut to `limit` word pieces at most, the answer's pieces kept inside."""
    question, memories, target, pieces, example = row
    if all(len(m.pieces) <= limit for m in memories):
        return row
    out = []
    for i, m in enumerate(memories):
        if len(m.pieces) <= limit:
            out.append(m)
            continue
        first = rng.randrange(len(m.pieces) - limit + 1)
        if i == target and pieces is not None:
            low, high = max(0, pieces[1] + 1 - limit), min(pieces[0], len(m.pieces) - limit)
            first = rng.randint(low, max(low, high))
            pieces = (pieces[0] - first, pieces[1] - first)
        out.append(Words(m.text, m.pieces[first:first + limit], m.spans[first:first + limit],
                         m.vectors[first:first + limit], None if m.middle is None else m.middle[first:first + limit]))
    if pieces is not None and not (0 <= pieces[0] <= pieces[1] < limit):
        pieces = None  # an answer longer than the cut: the memory is still chosen, without a span
    return question, out, target, pieces, example


def told_when(model: MemoryReader | JointReader, chosen: list[Row]) -> dict:
    """The model's `ages` argument for a batch, for a reader that reads when memories were told: each
    memory's place in its example's telling order (`ReadingExample.ages`; by text, so it survives `_fewer`
    and `_cut`)."""
    if not reads(model, "recency"):
        return {}
    k = max(1, max(len(r[1]) for r in chosen))
    ages = torch.zeros(len(chosen), k)
    for b, r in enumerate(chosen):
        told = dict(zip(r[4].memories, r[4].ages or range(len(r[4].memories))))
        ages[b, : len(r[1])] = torch.tensor([float(told[m.text]) for m in r[1]])
    return {"ages": ages}


def _loss(model: MemoryReader, chosen: list[Row], tensors, targets) -> torch.Tensor:
    """The answer's cross-entropy (a question with versions of its answer: of all of them together, as
    the chat pools them) and the span's, on the answering memory."""
    logits, span = model(*tensors, **told_when(model, chosen))
    answered = torch.zeros_like(logits, dtype=torch.bool)
    answered[torch.arange(len(chosen)), targets] = True
    for b, r in enumerate(chosen):
        if r[4].also and len(r[1]) == len(r[4].memories):  # (a cut row lost track of its versions)
            answered[b, list(r[4].also)] = True
    log_p = torch.log_softmax(logits, dim=-1)
    loss = -torch.logsumexp(log_p.masked_fill(~answered, torch.finfo(log_p.dtype).min), dim=-1).mean()
    starts, ends, rows = [], [], []
    for b, r in enumerate(chosen):
        if r[3] is not None and r[2] < len(r[1]):
            rows.append((b, r[2]))
            starts.append(r[3][0])
            ends.append(r[3][1])
    if rows:
        picked = torch.stack([span[b, k] for b, k in rows])  # (R, N, 2)
        loss = loss + 0.5 * (nn.functional.cross_entropy(picked[..., 0], torch.tensor(starts))
                             + nn.functional.cross_entropy(picked[..., 1], torch.tensor(ends)))
    return loss


def predict(model: MemoryReader | JointReader, rows: list[Row], threshold: float | None
            ) -> list[tuple[int | None, str, float]]:
    """(chosen memory or None, answer text, P of the best memory) for each row: the most probable memory if
    it reaches `threshold`, or (None) as the chat decides, if it is more probable than "none"."""
    return decide(read_all(model, rows), threshold)


def decide(read: list[tuple[int | None, str, float, float]], threshold: float | None
           ) -> list[tuple[int | None, str, float]]:
    """`read_all`'s readings decided at `threshold` (None: the best memory when above "none")."""
    return [(best, text, p) if best is not None and (p > none if threshold is None else p >= threshold)
            else (None, "", p) for best, text, p, none in read]


def read_all(model: MemoryReader | JointReader | Sequence[MemoryReader | JointReader], rows: list[Row]
             ) -> list[tuple[int | None, str, float, float]]:
    """(the most probable memory, its answer span, its P, P(none)) for each row, in one pass; several models
    (an ensemble's members) read as the chat reads them, their probabilities averaged (`Reader`)."""
    models = list(model) if isinstance(model, Sequence) else [model]
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    out = []
    with torch.no_grad():
        for chosen, tensors, _ in _batches(rows, 64, None, isinstance(models[0], JointReader),
                                           exact=reads(models[0], "exact_match")):
            read = [m(*tensors, **told_when(m, chosen)) for m in models]
            p = torch.stack([torch.softmax(logits, dim=-1) for logits, _ in read]).mean(0)
            span = torch.stack([torch.log_softmax(s, dim=2) for _, s in read]).mean(0)
            k = tensors[2].shape[1]
            for b, r in enumerate(chosen):
                if not r[1]:
                    out.append((None, "", 0.0, 1.0))
                    continue
                real = p[b, : len(r[1])]
                best = int(real.argmax())
                first, last = best_span(span[b, best, :, 0], span[b, best, :, 1], len(r[1][best].pieces))
                out.append((best, answer_text(r[1][best], first, last), float(real[best]), float(p[b, k])))
    for m, mode in zip(models, modes):
        m.train(mode)
    return out


def squad_scores(rows: list[Row], predictions) -> dict[str, float]:
    """SQuAD 2.0's exact match and F1 (best over the accepted answers; a question with none scores 1 only
    when none is predicted), the share of questions whose memory was chosen right, no-answer accuracy."""
    em = f1 = chose = has_ans = no_ans = no_right = 0.0
    for r, (chosen, text, _) in zip(rows, predictions):
        e = r[4]
        gold = list(e.answers) if e.answer is not None else [""]
        if e.answer is not None and not e.answers:  # the span's words, or the memory a request names
            gold = [e.memories[e.answer][e.span[0]:e.span[1]] if e.span else e.memories[e.answer]]
        em += max(float(_norm(text) == _norm(g)) for g in gold)
        f1 += max(_f1(text, g) for g in gold)
        chose += float(chosen == e.answer or chosen in e.also)
        if e.answer is None:
            no_ans += 1
            no_right += float(chosen is None)
        else:
            has_ans += 1
    n = max(len(rows), 1)
    return {"exact_match": 100 * em / n, "f1": 100 * f1 / n, "memory_accuracy": 100 * chose / n,
            "no_answer_accuracy": 100 * no_right / max(no_ans, 1), "questions": len(rows),
            "unanswerable": int(no_ans)}


def _norm(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def _f1(prediction: str, gold: str) -> float:
    p, g = _norm(prediction).split(), _norm(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _model(config: ReadingTrainConfig) -> tuple[MemoryReader | JointReader, torch.optim.Optimizer]:
    """A new reader and its optimizer: the joint one starts its layers from MiniLM's last layers."""
    if not config.joint:
        model = MemoryReader(ReadingConfig(hidden=config.hidden, hops=config.hops, exact_match=config.exact_match,
                                           recency=config.recency, similarity=config.similarity))
        return model, torch.optim.Adam(model.parameters(), lr=config.lr)
    model = JointReader(JointConfig(hidden=config.hidden))
    _start_from_minilm(model)
    joint = [p for layer in model.layers for p in layer.parameters()]
    ids = {id(p) for p in joint}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return model, torch.optim.AdamW([{"params": joint, "lr": config.joint_lr}, {"params": rest, "lr": config.lr}],
                                    weight_decay=0.01)


def _start_from_minilm(model: JointReader) -> None:
    """Copy MiniLM's last `layers` encoder layers into the joint layers (BERT's post-norm layer is torch's
    TransformerEncoderLayer with norm_first=False and GELU)."""
    w = read_safetensors(MiniLMEmbedder.model_dir() / "model.safetensors")
    first = 6 - len(model.layers)
    for i, layer in enumerate(model.layers):
        p = f"encoder.layer.{first + i}."
        state = {
            "self_attn.in_proj_weight": [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")],
            "self_attn.in_proj_bias": [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")],
            "self_attn.out_proj.weight": w[p + "attention.output.dense.weight"],
            "self_attn.out_proj.bias": w[p + "attention.output.dense.bias"],
            "norm1.weight": w[p + "attention.output.LayerNorm.weight"], "norm1.bias": w[p + "attention.output.LayerNorm.bias"],
            "linear1.weight": w[p + "intermediate.dense.weight"], "linear1.bias": w[p + "intermediate.dense.bias"],
            "linear2.weight": w[p + "output.dense.weight"], "linear2.bias": w[p + "output.dense.bias"],
            "norm2.weight": w[p + "output.LayerNorm.weight"], "norm2.bias": w[p + "output.LayerNorm.bias"],
        }
        layer.load_state_dict({k: torch.from_numpy(np.concatenate(v) if isinstance(v, list) else np.array(v))
                               for k, v in state.items()})


def _choose_threshold(read: list, rows: list[Row]) -> tuple[float, dict]:
    """The threshold with the best F1 on the development rows (`read`: their `read_all`)."""
    best = (-1.0, 0.5, {})
    for t in [x / 20 for x in range(2, 19)]:
        scores = squad_scores(rows, decide(read, t))
        if scores["f1"] > best[0]:
            best = (scores["f1"], t, scores)
    return best[1], best[2]


@dataclass(frozen=True)
class Examples:
    """A recipe's examples, drawn as every reader trained so far drew them."""

    train: list[ReadingExample]
    dev: list[ReadingExample]
    test: list[ReadingExample]  # SQuAD 2.0's held-out articles
    test_articles: list[str]  # their titles
    personal_test: list[ReadingExample]  # the catalogue's eval split
    dialogue_test: list[ReadingExample]  # DREAM's dev dialogues

    def texts(self, training: bool = True) -> list[str]:
        """Every question and memory text (`training` False: all but the training examples')."""
        return [t for e in [*(self.train if training else []), *self.dev, *self.test, *self.personal_test,
                            *self.dialogue_test] for t in (e.question, *e.memories)]


def _examples(config: ReadingTrainConfig, data: Path, rng: random.Random) -> Examples:
    """A recipe's examples, drawn by `rng` (seeded with config.seed)."""
    train_articles, test_articles = squad_split(data)
    examples = squad_examples(train_articles, config.seed, config.squad_limit, config.dropped, config.casual) + \
        personal_examples(data, config.personal, config.seed, versions=config.personal_versions,
                          newest=config.recency) + \
        attribute_examples(config.attributes, config.seed) + news_examples(train_articles, config.news, config.seed) + \
        version_examples(train_articles, config.versions, config.seed, newest=config.recency)
    if config.dialogues:
        examples += dialogue_examples(dream(data, "train"), None, config.seed)
    rng.shuffle(examples)
    cut = len(examples) // 10
    dev, train = examples[:cut], examples[cut:]
    if config.written:  # every tenth conversation's questions, once each, are development examples
        kept, held = held_apart(training_conversations())
        train += written_examples(kept, config.seed, config.written)
        dev += written_examples(held, config.seed, 1)
        rng.shuffle(train)
    test = squad_examples(test_articles, config.seed)
    personal_test = personal_examples(data, 1000, config.seed, split="eval")
    dialogue_test = dialogue_examples(dream(data, "dev"), None, config.seed)
    return Examples(train, dev, test, [a.title for a in test_articles], personal_test, dialogue_test)


def _figures(model: MemoryReader | JointReader | Sequence[MemoryReader], drawn: Examples, vectors: dict,
             dev_rows: list[Row], say: Log) -> dict:
    """A trained reader's (or an ensemble's) threshold, chosen for the best F1 on `dev_rows`, and its figures
    there, on SQuAD 2.0's held-out articles (at it, as the chat decides, at the chat's threshold), on the
    catalogue's eval split and on DREAM's dev dialogues."""
    threshold, dev_scores = _choose_threshold(read_all(model, dev_rows), dev_rows)
    test_rows = _rows(drawn.test, vectors)
    test_read = read_all(model, test_rows)
    chat = AssistantConfig().reader_threshold  # the threshold the chat reads at, when it sets its own
    personal_rows, dialogue_rows = _rows(drawn.personal_test, vectors), _rows(drawn.dialogue_test, vectors)
    figures = {"threshold": threshold, "dev": dev_scores,
               "squad2_test_articles": squad_scores(test_rows, decide(test_read, threshold)),
               "squad2_test_articles_as_the_chat_decides": squad_scores(test_rows, decide(test_read, None)),
               "squad2_test_articles_chat_threshold": None if chat is None else {
                   **squad_scores(test_rows, decide(test_read, chat)), "threshold": chat},
               "test_articles": drawn.test_articles,
               "catalogue_eval": squad_scores(personal_rows, predict(model, personal_rows, threshold)),
               "dream_dev": squad_scores(dialogue_rows, predict(model, dialogue_rows, threshold))}
    test, personal, dialogue = figures["squad2_test_articles"], figures["catalogue_eval"], figures["dream_dev"]
    say(f"threshold {threshold}: SQuAD 2.0 test articles EM {test['exact_match']:.1f}, F1 {test['f1']:.1f}, "
        f"no-answer {test['no_answer_accuracy']:.1f}; catalogue eval split memory {personal['memory_accuracy']:.1f}; "
        f"DREAM dev sentence {dialogue['memory_accuracy']:.1f}, none {dialogue['no_answer_accuracy']:.1f}")
    return figures


def train_reader(config: ReadingTrainConfig, data: Path, out: Path, log: Log | None = None,
                 progress: Callable[[int, int], None] | None = None, cache: Path | None = None) -> dict:
    """Train the reader, choose epoch and threshold on the development set, report SQuAD 2.0 test
    articles, save to `out`; returns the metrics saved."""
    started = time.time()
    say = log or (lambda _m: None)
    torch.manual_seed(config.seed + 7919 * config.member)
    rng = random.Random(config.seed)
    drawn = _examples(config, data, rng)
    texts = drawn.texts()
    say(f"{len(drawn.train)} training, {len(drawn.dev)} development, {len(drawn.test)} SQuAD test questions; "
        f"embedding {len(set(texts))} texts")
    vectors = encode(texts, progress=progress, cache=cache, middle=config.joint)
    rows, dev_rows = _rows(drawn.train, vectors), _rows(drawn.dev[: config.dev_limit], vectors)
    model, optimizer = _model(config)
    order = rng if config.member == 0 else random.Random(f"{config.seed}-member-{config.member}")
    best, best_state, history = -1.0, None, []
    steps, done = config.epochs * -(-len(rows) // config.batch_size), 0
    for epoch in range(1, config.epochs + 1):
        total = 0.0
        model.train()
        for chosen, tensors, targets in _batches(rows, config.batch_size, order, config.joint,
                                                 config.train_memories if config.joint else None, config.train_pieces,
                                                 reads(model, "exact_match")):
            loss = _loss(model, chosen, tensors, targets)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            total += float(loss.detach()) * len(chosen)
            done += 1
            if done % 200 == 0:
                say(f"step {done} of {steps}: loss {float(loss.detach()):.4f}")
        scores = squad_scores(dev_rows, predict(model, dev_rows, 0.5))
        history.append({"epoch": epoch, "loss": total / len(rows), **scores})
        say(f"epoch {epoch}: loss {total / len(rows):.4f}, dev F1 {scores['f1']:.1f}, memory "
            f"{scores['memory_accuracy']:.1f}, no-answer {scores['no_answer_accuracy']:.1f}")
        if scores["f1"] > best:
            best, best_state = scores["f1"], {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    figures = _figures(model, drawn, vectors, dev_rows, say)
    model.config = dataclasses.replace(model.config, threshold=figures["threshold"])
    metrics = {"embedder": MiniLMEmbedder.name, "epoch": max(history, key=lambda h: h["f1"])["epoch"], **figures,
               "history": history, "seconds": round(time.time() - started),
               "train_config": dataclasses.asdict(config),
               "data": _data_used(config)}
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=model, config=model.config, vocab=Vocab((PAD, UNK)),
                    metrics=metrics)
    return metrics


def _data_used(config: ReadingTrainConfig) -> str:
    """What a recipe trains on, with licenses, as the results say it."""
    parts = ["SQuAD 2.0 dev training articles and SQuAD 1.1 dev articles not in 2.0 (CC BY-SA 4.0)"
             + (f", {100 * config.dropped:.0f} % of their answerable questions also asked without the answering "
                f"sentence" if config.dropped else "")
             + (f", {100 * config.casual:.0f} % of their questions typed casually" if config.casual else ""),
             "the catalogue's train split", "Synthetic-Persona-Chat test personas (CC BY 4.0)",
             "questions about one attribute of a person among their others"]
    if config.dialogues:
        parts.append("DREAM train dialogues (non-commercial research only)")
    if config.written:
        parts.append("the project's hand-written training conversations")
    if config.news:
        parts.append("SQuAD sentences retold with another value as corrections")
    if (config.versions or config.personal_versions) and config.recency:
        parts.append("a sentence and its correction both in memory, the correction answering what it changed and "
                     "the sentence the rest")
    elif config.versions or config.personal_versions:
        parts.append("a sentence and its correction both in memory, both answering")
    where = "lab/reading_data.py; lab/written_data.py over lab/training_conversations" if config.written \
        else "lab/reading_data.py"
    return ", ".join(parts) + f" ({where})"


# Published SQuAD 2.0 test figures (Rajpurkar, Jia & Liang 2018, trained on the full 130k-question training
# set), as ../shared/benchmarks/ANCHORS.md quotes the paper's results table.
ANCHORS = (("BiDAF-No-Answer (paper)", "about 62"), ("DocQA + ELMo (paper)", "66.3"), ("human (paper)", "89.5"))


# The experiments' recipes by their `memchat train-reader` flag.
RECIPES = {"joint": JOINT_RECIPE, "dialogues": DIALOGUE_RECIPE, "exact": EXACT_RECIPE, "recency": RECENCY_RECIPE}


def recipe_flags(recipe: dict) -> str:
    """The train-reader flag of a recipe (`ReadingTrainConfig` as a dict): the one whose switches (its
    settings that are True: "joint", "exact_match", ...) it has on, " --joint" and the like, or none. Epochs
    and counts given on the command line do not change which recipe it is."""
    return next((f" --{flag}" for flag, settings in RECIPES.items()
                 if all(recipe.get(k) for k, v in settings.items() if v is True)), "")


def write_results(metrics: dict, path: Path) -> None:
    """`metrics` of a training run as PATH.json and a readable PATH.md beside the published anchors."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(metrics, indent=1) + "\n")
    test, personal, dev = metrics["squad2_test_articles"], metrics["catalogue_eval"], metrics["dev"]
    members = int(metrics.get("members", 1))
    lines = [
        "# Memory reader: SQuAD 2.0 (dev split by article) and the catalogue's held-out split", "",
        f"Trained in {metrics['seconds'] / 60:.0f} min on this CPU (`"
        + metrics.get("command", f"memchat train-reader{recipe_flags(metrics.get('train_config', {}))}"
                                 f"{f' --members {members}' if members > 1 else ''} --results {path}")
        + f"`): {metrics['data']}. "
        + (f"An ensemble of {members} readers trained alike from other starting weights and batch orders, their "
           f"probabilities averaged (best epochs {metrics['epoch']}); " if members > 1 else f"Epoch {metrics['epoch']}, ")
        + f"answer threshold {metrics['threshold']} (chosen on the development tenth of the training examples).", "",
        f"Held-out SQuAD 2.0 dev articles ({len(metrics['test_articles'])}): "
        + ", ".join(metrics["test_articles"]) + ". Each paragraph's sentences are the memories; a question is "
        "answered by choosing a sentence and a span in it, or none.", "",
        "| system | questions | exact match | F1 | no-answer accuracy |", "|---|---|---|---|---|",
        f"| memchat reader, held-out articles, P >= {metrics['threshold']} | {test['questions']} "
        f"({test['unanswerable']} unanswerable) | {test['exact_match']:.1f} | {test['f1']:.1f} | "
        f"{test['no_answer_accuracy']:.1f} |",
        *[f"| ... the most probable of the memories and none, no threshold | {c['questions']} | "
          f"{c['exact_match']:.1f} | {c['f1']:.1f} | {c['no_answer_accuracy']:.1f} |"
          for c in [metrics.get("squad2_test_articles_as_the_chat_decides")] if c],
        *[f"| ... at the threshold the chat uses, P >= {c['threshold']} | {c['questions']} | {c['exact_match']:.1f} | "
          f"{c['f1']:.1f} | {c['no_answer_accuracy']:.1f} |"
          for c in [metrics.get("squad2_test_articles_chat_threshold")] if c],
        f"| memchat reader, development examples | {dev['questions']} | {dev['exact_match']:.1f} | {dev['f1']:.1f} | "
        f"{dev['no_answer_accuracy']:.1f} |",
        *(f"| {name}, SQuAD 2.0 test | 8,862 | | {f1} | |" for name, f1 in ANCHORS), "",
        "The published systems trained on SQuAD 2.0's 130k training questions and read whole paragraphs; this "
        "reader trained on the SQuAD dev set's other articles (about 14k questions, a third unanswerable) plus "
        "generated personal questions and corrections, "
        + ("reading each memory with the question through MiniLM's last two layers (fine-tuned; the first four are "
           "MiniLM's own, unchanged)." if metrics.get("train_config", {}).get("joint") else
           "over MiniLM's word vectors, which it does not fine-tune."), "",
        f"Catalogue eval split (phrasings and values never trained on, {personal['questions']} questions, "
        f"{personal['unanswerable']} about something not told): the answering memory chosen right "
        f"{personal['memory_accuracy']:.1f} %, 'none' right {personal['no_answer_accuracy']:.1f} %.", "",
        *(f"DREAM dev dialogues (never trained on; {d['questions']} questions over the sentences of their dialogue, "
          f"{d['unanswerable']} with the sentences holding the answer taken out): the answering sentence chosen "
          f"right {d['memory_accuracy']:.1f} %, 'none' right {d['no_answer_accuracy']:.1f} %.\n"
          for d in [metrics.get("dream_dev")] if d)]
    path.with_suffix(".md").write_text("\n".join(lines))


def score_saved(path: Path, data: Path, seed: int = 0, cache: Path | None = None) -> dict[str, dict]:
    """A saved reader's SQuAD 2.0 test-article figures, at its threshold and with none (the argmax)."""
    saved = load_reader(path)
    _, test_articles = squad_split(data)
    test = squad_examples(test_articles, seed)
    rows = _rows(test, encode([t for e in test for t in (e.question, *e.memories)], cache=cache, middle=saved.middle))
    read = read_all(saved.models, rows)  # one pass, decided both ways
    return {"squad2_test_articles": squad_scores(rows, decide(read, saved.threshold)),
            "squad2_test_articles_as_the_chat_decides": squad_scores(rows, decide(read, None))}


def ensemble_readers(paths: Sequence[Path], data: Path, out: Path, log: Log | None = None,
                     progress: Callable[[int, int], None] | None = None, cache: Path | None = None) -> dict:
    """One checkpoint holding the readers at `paths` (trained on one recipe's data, as members 0, 1, ... of
    `ReadingTrainConfig.member`), which the chat reads together, their probabilities averaged (`Reader`).
    The ensemble's threshold is chosen, and its figures made, as `train_reader` does for one reader."""
    started = time.time()
    say = log or (lambda _m: None)
    if len({Path(p).resolve() for p in paths}) < 2:
        raise ConfigError("an ensemble joins two or more readers (each file once)")
    members = [load_checkpoint(Path(p), kind=CHECKPOINT_KIND) for p in paths]
    if missing := [str(p) for p, m in zip(paths, members) if "train_config" not in m.metrics]:
        raise ConfigError(f"{', '.join(missing)} does not say how it was trained (no train_config): not a trained member")
    numbers = [m.metrics["train_config"].get("member", 0) for m in members]
    if len(set(numbers)) < len(numbers):
        raise ConfigError(f"the members must differ: their member numbers are {numbers} (`train-reader --member N`)")
    configs = [{**m.config, "threshold": None} for m in members]
    recipes = [{k: v for k, v in m.metrics.get("train_config", {}).items() if k != "member"} for m in members]
    if len({json.dumps(c, sort_keys=True) for c in configs}) != 1 or len(
            {json.dumps(r, sort_keys=True) for r in recipes}) != 1:
        raise ConfigError("the members of a reader ensemble must share one config and one recipe's data")
    if "layers" in members[0].config:
        raise ConfigError("only MemN2N readers (not the joint reader) can be ensembled")
    if joined := [str(p) for p, m in zip(paths, members) if int(m.metrics.get("members", 1)) > 1]:
        raise ConfigError(f"{', '.join(joined)} already holds an ensemble: join single readers")
    holder, models = nn.Module(), []
    for i, (path, m) in enumerate(zip(paths, members)):
        model = MemoryReader(ReadingConfig(**m.config))
        try:
            model.load_state_dict(m.state)
        except RuntimeError as e:
            raise ConfigError(f"{path} holds weights its config does not describe: {str(e).splitlines()[0]}") from e
        holder.add_module(str(i), model)
        models.append(model)
    config = ReadingTrainConfig(**{**members[0].metrics["train_config"], "member": 0})
    drawn = _examples(config, data, random.Random(config.seed))
    texts = drawn.texts(training=False)
    say(f"{len(members)} members; embedding {len(set(texts))} texts")
    vectors = encode(texts, progress=progress, cache=cache)
    figures = _figures(models, drawn, vectors, _rows(drawn.dev[: config.dev_limit], vectors), say)
    metrics = {"embedder": MiniLMEmbedder.name, "members": len(members),
               "epoch": ", ".join(str(m.metrics.get("epoch")) for m in members), **figures,
               "member_metrics": [{k: m.metrics.get(k) for k in ("epoch", "threshold", "dev", "squad2_test_articles",
                                                                  "seconds", "train_config")} for m in members],
               "seconds": sum(int(m.metrics.get("seconds", 0)) for m in members) + round(time.time() - started),
               "train_config": dataclasses.asdict(config), "data": members[0].metrics.get("data")}
    save_checkpoint(out, kind=CHECKPOINT_KIND, model=holder, config=dataclasses.replace(
        models[0].config, threshold=figures["threshold"]), vocab=Vocab((PAD, UNK)), metrics=metrics)
    return metrics


def train_reader_ensemble(config: ReadingTrainConfig, data: Path, out: Path, members: int = 1, log: Log | None = None,
                          progress: Callable[[int, int], None] | None = None, cache: Path | None = None) -> dict:
    """`members` readers of one recipe (members config.member, config.member + 1, ...: other starting weights
    and batch orders, the same data), trained one after another and saved as one ensemble at `out`; one
    member: `train_reader`."""
    if members == 1:
        return train_reader(config, data, out, log, progress, cache)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(members):
            paths.append(Path(folder) / f"member{i}.pt")
            train_reader(dataclasses.replace(config, member=config.member + i), data, paths[-1], log, progress, cache)
        return ensemble_readers(paths, data, out, log, progress, cache)
