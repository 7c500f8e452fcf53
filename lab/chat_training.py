"""The recipe of memchat's default chat model: its data mix, and its training with the shared loop.

The mix (every source from training data only):
- personal facts: memchat's own conversations (`personal_data`, train split), one example per turn, with
  the facts a recall would return as kb lines and the last `window` dialogue lines as context;
- small talk: each train-split chatterbot pair as an example whose context is the user line alone or,
  for a share of them, with a few stored facts beside it that the reply must ignore;
- dialog bAbI (optional): a sample of the trn dialogs of some tasks, for dialogue in general.

The epoch is chosen by the loss on dev conversations written from the TRAIN split with another seed
(exact match is reported too, but the bot's phrasing is drawn at random, so it mostly measures which
phrasing the model settled on): the eval split is reserved for `memchat eval recall` and never seen here, not even for
model selection. Batches are not bucketed by length: a dialogue's length predicts its next reply, and
sorted batches made training oscillate (see dialog_babi_eval).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from assistant.batching import encode_context, reply_tokens
from assistant.checkpoint import save_checkpoint
from assistant.errors import CheckpointError, ConfigError
from assistant.generator import CHAT_CHECKPOINT_KIND, GO, Generator, GeneratorConfig
from assistant.lines import Line
from assistant.vocab import Vocab

from . import dialog_babi
from .dialog_babi import Example
from .dialog_babi_eval import Split, batch_loss_for, build_vocab, load_split, predict, sample_of, score
from .personal_data import conversations, small_talk_pairs, training_examples
from .training import BatchLoss, Progress, TrainConfig, distributed_context, is_main_process, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatTrainConfig:
    seed: int = 0  # conversations, sampling, initial weights, batch order
    conversations: int = 2500  # personal-fact training conversations (about 18 examples each)
    window: int = 6  # dialogue lines of context besides the recalled facts
    memory_k: int = 5  # facts a recall returns
    small_talk: int = 1  # times each train-split small-talk pair is added as its own example (0 = none)
    distractors: float = 0.5  # share of those that also show 1..memory_k stored facts, to be ignored
    dialog_babi_tasks: tuple[int, ...] = (1, 2, 3, 4, 5)
    dialog_babi_share: int = 1500  # trn examples sampled from those tasks (0 = none); more leaked restaurant
    # replies ("I'm on it") into chat
    dev_conversations: int = 120  # model selection: train-split conversations of another seed
    eval_batch: int = 128  # contexts decoded at once on dev
    # "what do you know" lists: <= 47 tokens; the dialogue LSTM's state is carried over the lines that left the window
    generator: GeneratorConfig = GeneratorConfig(dim=128, max_reply=60, reads_history=True)
    # About 1430 batches an epoch at 0.44 s each (1 thread, dim 128, history read) plus a minute of dev:
    # ~6 min an epoch under torchrun with 2 processes on 2 free CPU cores, ~50 min for 8; twice that alone.
    train: TrainConfig = TrainConfig(
        epochs=8, batch_size=32, optimizer="adam", lr=1e-3, lr_decay=0.5, lr_decay_every=3, grad_clip=5.0,
        select_on="loss", patience=3,
    )

    def __post_init__(self) -> None:
        counts = (self.window, self.memory_k, self.small_talk, self.dialog_babi_share)
        if self.conversations < 1 or self.dev_conversations < 1 or min(counts) < 0:
            raise ConfigError("conversations and dev_conversations must be 1 or more, the other counts 0 or more")
        if not 0 <= self.distractors <= 1:
            raise ConfigError(f"distractors is a share between 0 and 1, not {self.distractors}")
        if any(t not in dialog_babi.TASK_NAMES for t in self.dialog_babi_tasks):
            raise ConfigError(f"dialog bAbI tasks are numbered 1-6, not {self.dialog_babi_tasks}")

    @property
    def dev_seed(self) -> int:
        """The dev conversations' seed: negative, so never the seed of a training run's conversations."""
        return -1 - self.seed


@dataclass(frozen=True)
class ChatTrainResult:
    dev_accuracy: float  # per-response exact match %, dev conversations, best epoch
    dev_loss: float  # the selection metric at the best epoch
    epochs: int  # run, resumed ones included
    best_epoch: int
    seconds: float  # training, resumed runs included
    parameters: int
    checkpoint_bytes: int  # 0 on the ranks that do not write it
    examples: dict[str, int]  # training examples per source
    vocabulary: int
    command: str


def training_sources(config: ChatTrainConfig, dialog_dir: Path | None) -> dict[str, Split]:
    """The training examples of each source, encoded (none from dialog bAbI without `dialog_dir`)."""
    memory_tokens = config.generator.memory_tokens
    convs = conversations("train", config.conversations, seed=config.seed)
    personal = training_examples(convs, window=config.window, memory_k=config.memory_k, seed=config.seed)
    facts = sorted({fact.text for c in convs for fact in c.facts})
    talk = small_talk_examples(config.small_talk, facts, config.memory_k, config.distractors, config.seed)
    dialog = Split((), (), ())
    if dialog_dir is not None and config.dialog_babi_share and config.dialog_babi_tasks:
        tasks = [load_split(Path(dialog_dir), t, "trn", memory_tokens) for t in config.dialog_babi_tasks]
        dialog = sample_of(joined(tasks), config.dialog_babi_share, config.seed)
    return {"personal": encoded(personal, memory_tokens), "small_talk": encoded(talk, memory_tokens),
            "dialog_babi": dialog}


def small_talk_examples(copies: int, facts: Sequence[str], memory_k: int, distractors: float, seed: int) -> list[Example]:
    """Each train-split small-talk pair `copies` times; a `distractors` share of them shows 1..memory_k
    of `facts` as recalled kb lines first, so the model learns that small talk ignores memory."""
    rng = random.Random(f"small-talk:{seed}")
    out = []
    for statement, response in small_talk_pairs("train") * copies:
        shown = []
        if facts and memory_k and rng.random() < distractors:
            shown = rng.sample(facts, rng.randint(1, min(memory_k, len(facts))))
        context = (*(Line("kb", fact) for fact in shown), Line("user", statement))
        out.append(Example(dialog=len(out), context=context, reply=response))
    return out


def dev_split(config: ChatTrainConfig) -> Split:
    """Train-split conversations of the dev seed, as examples (never the eval split)."""
    convs = conversations("train", config.dev_conversations, seed=config.dev_seed)
    examples = training_examples(convs, window=config.window, memory_k=config.memory_k, seed=config.dev_seed)
    return encoded(examples, config.generator.memory_tokens)


def build_training_data(config: ChatTrainConfig, dialog_dir: Path | None) -> tuple[Split, Split, Vocab]:
    """(train, dev, vocabulary): the vocabulary holds the training examples' words only."""
    return assembled(training_sources(config, dialog_dir), config)


def assembled(sources: dict[str, Split], config: ChatTrainConfig) -> tuple[Split, Split, Vocab]:
    train_split = joined(sources.values())
    return train_split, dev_split(config), build_vocab(train_split)


def train_chat_model(config: ChatTrainConfig, out: Path, dialog_dir: Path | None, progress: Progress | None = None,
                     resume: bool = False) -> ChatTrainResult:
    """Train the chat model and save its best dev epoch to `out` (kind "generator-chat").

    After every epoch the loop's state goes to `<out>.resume`; with `resume` the run continues from it
    (and fails if there is none), without it an old one is discarded. It is removed once `out` is written.
    Under torchrun every rank calls this; rank 0 writes the files."""
    out = Path(out)
    state = resume_path(out)
    if resume and not state.exists():
        raise CheckpointError(f"nothing to resume: no {state} (written after each epoch, removed when a run "
                              "finishes); train without resume to start again")
    if is_main_process():
        out.parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            state.unlink(missing_ok=True)  # train() reads it on rank 0 only, so no rank can see the old one
    sources = training_sources(config, dialog_dir)
    train_split, dev, vocab = assembled(sources, config)
    log.info("chat model: %s training examples, %d dev, vocabulary %d",
             {k: len(v) for k, v in sources.items()}, len(dev), len(vocab))
    torch.manual_seed(config.seed)
    model = Generator(len(vocab), config.generator, go_id=vocab.id(GO))

    dev_loss = batch_loss_for(dev, vocab)

    def evaluate(m: Generator) -> dict[str, float]:
        chunks = torch.arange(len(dev)).split(config.eval_batch)  # the loop evaluates in eval mode, no grad
        mean = sum(float(dev_loss(m, rows)) * len(rows) for rows in chunks) / len(dev)
        return {"loss": mean, "error": 100.0 - score(dev, predict(m, dev, vocab, config.eval_batch))[0]}

    loop = dataclasses.replace(config.train, seed=config.seed)
    batch_loss = counting_batches(batch_loss_for(train_split, vocab), len(train_split), loop.batch_size, progress)
    trained = train(model, len(train_split), batch_loss, evaluate, loop, progress=progress, description="epochs",
                    resume=state)
    result = ChatTrainResult(
        dev_accuracy=100.0 - trained.best["error"], dev_loss=trained.best["loss"], epochs=len(trained.history), best_epoch=trained.best_epoch,
        seconds=trained.seconds, parameters=sum(p.numel() for p in model.parameters()), checkpoint_bytes=0,
        examples={k: len(v) for k, v in sources.items()}, vocabulary=len(vocab), command=command_line(config, dialog_dir, distributed_context()[1]),
    )
    if not is_main_process():
        return result
    metrics = {"recipe": dataclasses.asdict(config), "dev_per_response": round(result.dev_accuracy, 2),
               "dev_loss": round(result.dev_loss, 4),
               "epochs": result.epochs, "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
               "examples": result.examples, "dialog_babi_data": shown_path(dialog_dir) if dialog_dir else None,
               "command": result.command}
    save_checkpoint(out, kind=CHAT_CHECKPOINT_KIND, model=model, config=config.generator, vocab=vocab, metrics=metrics)
    state.unlink(missing_ok=True)
    return dataclasses.replace(result, checkpoint_bytes=out.stat().st_size)


def resume_path(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".resume")


def counting_batches(batch_loss: BatchLoss, size: int, batch_size: int, progress: Progress | None) -> BatchLoss:
    """`batch_loss` that also reports this rank's batches of the current epoch (rank 0 draws them)."""
    if progress is None or not is_main_process():
        return batch_loss
    per_epoch = math.ceil(math.ceil(size / batch_size) / distributed_context()[1])  # as training._share pads
    done = [0]

    def counted(model: Generator, index: torch.Tensor) -> torch.Tensor:
        done[0] = done[0] % per_epoch + 1
        progress("batches this epoch", done[0], per_epoch)
        return batch_loss(model, index)

    return counted


def encoded(examples: Sequence[Example], memory_tokens: int) -> Split:
    return Split(
        tuple(examples),
        tuple(encode_context(e.context, memory_tokens, e.history) for e in examples),
        tuple(tuple(reply_tokens(e.reply)) for e in examples),
    )


def joined(splits: Iterable[Split]) -> Split:
    splits = list(splits)
    return Split(*(tuple(x for s in splits for x in getattr(s, f)) for f in ("examples", "contexts", "replies")))


def command_line(config: ChatTrainConfig, dialog_dir: Path | None, processes: int = 1) -> str:
    """The `memchat train` command that repeats this recipe; under torchrun, with its process count."""
    program = f"torchrun --standalone --nproc_per_node {processes} -m cli" if processes > 1 else "memchat"
    parts = [f"{program} train", f"--seed {config.seed}", f"--conversations {config.conversations}",
             f"--epochs {config.train.epochs}"]
    if dialog_dir is not None and config.dialog_babi_share:
        parts.append(f"--dialog-data {shown_path(dialog_dir)}")
    return " ".join(parts)


def shown_path(path: Path) -> str:
    """A data path as the checkout sees it (../shared/data/...), so records name no machine's folders."""
    root = Path(__file__).resolve().parent.parent
    try:
        return os.path.relpath(Path(path).resolve(), root)
    except ValueError:  # another drive
        return str(path)

