"""The recipe of memchat's default chat model: its data mix, and its training with the shared loop.

The mix (every source from training data only):
- personal facts: memchat's own conversations (`personal_data`, train split), one example per turn, with
  the facts a recall would return as kb lines and the last `window` dialogue lines as context;
- small talk: each train-split chatterbot pair as an example whose context is the user line alone or,
  for a share of them, with a few stored facts beside it that the reply must ignore;
- dialog bAbI (optional): a sample of the trn dialogs of some tasks, for dialogue in general;
- real conversation (with the shared data folder, `chat_data`): a sample of DailyDialog train replies
  (a share of them shown stored facts to ignore, as a chat's recall shows them to small talk) and of
  Synthetic-Persona-Chat test replies with the replying speaker's persona as stored facts.

The vocabulary holds every word of memchat's own sources and the words real conversation says at least
`min_count` times (a rarer word can still be copied from the context). A run may start from an earlier
chat model's weights (`init`): every weight is taken over, and a word's embedding and output row where
the earlier vocabulary had the word.

The epoch is chosen by the loss on dev conversations written from the TRAIN split with another seed,
together with DailyDialog validation dialogues when real conversation is mixed in (exact match is reported too, but the bot's phrasing is drawn at random, so it mostly measures which
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
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from assistant.batching import encode_context, reply_tokens, special_words
from assistant.checkpoint import load_checkpoint, save_checkpoint
from assistant.errors import CheckpointError, ConfigError
from assistant.generator import CHAT_CHECKPOINT_KIND, GO, Generator, GeneratorConfig
from assistant.lines import Line
from assistant.text import tokenize
from assistant.vocab import Vocab

from . import dialog_babi
from . import chat_data
from .dialog_babi import Example
from .dialog_babi_eval import Split, batch_loss_for, load_split, predict, sample_of, score
from .personal_data import conversations, small_talk_pairs, training_examples
from .training import BatchLoss, Progress, TrainConfig, distributed_context, is_main_process, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatTrainConfig:
    seed: int = 0  # conversations, sampling, initial weights, batch order
    conversations: int = 500  # personal-fact training conversations (about 18 examples each)
    window: int = 6  # dialogue lines of context besides the recalled facts
    memory_k: int = 5  # facts a recall returns
    small_talk: int = 2  # times each train-split small-talk pair is added as its own example (0 = none)
    distractors: float = 0.5  # share of those that also show 1..memory_k stored facts, to be ignored
    dialog_babi_tasks: tuple[int, ...] = (1, 2, 3, 4, 5)
    dialog_babi_share: int = 0  # trn examples sampled from those tasks (0 = none); 1,500 in the previous
    # model, where more leaked restaurant replies ("I'm on it") into chat
    dailydialog: int = 36000  # DailyDialog train replies sampled (of 76,052; read only with a data folder)
    persona_chat: int = 14000  # Synthetic-Persona-Chat test replies sampled (of 25,096), persona as memories
    chat_distractors: float = 0.3  # share of DailyDialog replies shown 1..memory_k stored facts to ignore
    min_count: int = 5  # times real conversation must say a word for it to join the vocabulary
    dev_conversations: int = 80  # model selection: train-split conversations of another seed
    dev_dailydialog: int = 150  # ... and DailyDialog validation dialogues (with real conversation mixed in)
    eval_batch: int = 128  # contexts decoded at once on dev
    # "what do you know" lists: <= 47 tokens; the dialogue LSTM's state is carried over the lines that left the window
    generator: GeneratorConfig = GeneratorConfig(dim=128, max_reply=60, reads_history=True)
    # About 1,900 batches an epoch at ~0.4 s each on one thread (dim 128, history read) plus two minutes of
    # dev: ~15 min an epoch in one process on one core. Started from the previous chat model (`init`), four
    # epochs with the rate halved after each; from scratch it needs more.
    train: TrainConfig = TrainConfig(
        epochs=4, batch_size=32, optimizer="adam", lr=1e-3, lr_decay=0.5, lr_decay_every=1, grad_clip=5.0,
        select_on="loss", patience=2,
    )

    def __post_init__(self) -> None:
        counts = (self.window, self.memory_k, self.small_talk, self.dialog_babi_share)
        if self.conversations < 1 or self.dev_conversations < 1 or min(counts) < 0:
            raise ConfigError("conversations and dev_conversations must be 1 or more, the other counts 0 or more")
        if not 0 <= self.distractors <= 1 or not 0 <= self.chat_distractors <= 1:
            raise ConfigError(f"distractors are shares between 0 and 1, not {self.distractors}, {self.chat_distractors}")
        if min(self.dailydialog, self.persona_chat, self.dev_dailydialog) < 0 or self.min_count < 1:
            raise ConfigError("the real-conversation counts must be 0 or more and min_count 1 or more")
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


def training_sources(config: ChatTrainConfig, dialog_dir: Path | None, data_dir: Path | None = None
                     ) -> dict[str, Split]:
    """The training examples of each source, encoded (none from dialog bAbI without `dialog_dir`, none of
    real conversation without `data_dir`, the shared data folder)."""
    memory_tokens = config.generator.memory_tokens
    convs = conversations("train", config.conversations, seed=config.seed)
    personal = training_examples(convs, window=config.window, memory_k=config.memory_k, seed=config.seed)
    facts = sorted({fact.text for c in convs for fact in c.facts})
    talk = small_talk_examples(config.small_talk, facts, config.memory_k, config.distractors, config.seed)
    dialog = Split((), (), ())
    if dialog_dir is not None and config.dialog_babi_share and config.dialog_babi_tasks:
        tasks = [load_split(Path(dialog_dir), t, "trn", memory_tokens) for t in config.dialog_babi_tasks]
        dialog = sample_of(joined(tasks), config.dialog_babi_share, config.seed)
    sources = {"personal": encoded(personal, memory_tokens), "small_talk": encoded(talk, memory_tokens),
               "dialog_babi": dialog}
    if data_dir is not None:
        sources |= real_conversation(config, Path(data_dir), facts)
    return sources


def real_conversation(config: ChatTrainConfig, data_dir: Path, facts: Sequence[str]) -> dict[str, Split]:
    """Samples of DailyDialog train replies (a share shown `facts` to ignore) and of Synthetic-Persona-Chat
    test replies (the speaker's persona as stored facts)."""
    memory_tokens, out = config.generator.memory_tokens, {}
    if config.dailydialog:
        everyday = chat_data.examples(chat_data.dailydialog(data_dir, "train"), window=config.window)
        everyday = chat_data.with_distractors(sampled(everyday, config.dailydialog, config.seed), facts,
                                              config.chat_distractors, config.memory_k, config.seed)
        out["dailydialog"] = encoded(everyday, memory_tokens)
    if config.persona_chat:
        persona = chat_data.examples(chat_data.persona_chat_test(data_dir), window=config.window)
        out["persona_chat"] = encoded(sampled(persona, config.persona_chat, config.seed), memory_tokens)
    return out


def sampled(examples: Sequence[Example], size: int, seed: int) -> list[Example]:
    """`size` of `examples` drawn at random by `seed`, in their order (all of them when there are fewer)."""
    if size >= len(examples):
        return list(examples)
    return [examples[i] for i in sorted(random.Random(f"sample:{seed}").sample(range(len(examples)), size))]


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


def dev_everyday(config: ChatTrainConfig, data_dir: Path | None) -> Split:
    """The first `dev_dailydialog` DailyDialog validation dialogues as examples (none without `data_dir` or
    real conversation in the mix)."""
    if data_dir is None or not (config.dailydialog or config.persona_chat) or not config.dev_dailydialog:
        return Split((), (), ())
    dialogues = chat_data.dailydialog(Path(data_dir), "validation")[: config.dev_dailydialog]
    return encoded(chat_data.examples(dialogues, window=config.window), config.generator.memory_tokens)


def build_training_data(config: ChatTrainConfig, dialog_dir: Path | None, data_dir: Path | None = None
                        ) -> tuple[Split, Split, Vocab]:
    """(train, dev, vocabulary): the vocabulary holds the training examples' words only."""
    return assembled(training_sources(config, dialog_dir, data_dir), config)


REAL = ("dailydialog", "persona_chat")  # the sources of real conversation, whose rare words stay out


def assembled(sources: dict[str, Split], config: ChatTrainConfig) -> tuple[Split, Split, Vocab]:
    train_split = joined(sources.values())
    return train_split, dev_split(config), chat_vocabulary(sources, config.min_count)


def chat_vocabulary(sources: dict[str, Split], min_count: int) -> Vocab:
    """Every word of memchat's own sources, and each word real conversation's replies say `min_count` times
    (replies only: a context line is read by several examples, and each utterance is one reply)."""
    own = {t for name, split in sources.items() if name not in REAL for e in split.examples
           for text in (e.reply, *(line.text for line in e.context)) for t in tokenize(text)}
    counts = Counter(t for name, split in sources.items() if name in REAL for e in split.examples
                     for t in tokenize(e.reply))
    return Vocab.build([*special_words(), *own, *(t for t, n in counts.items() if n >= min_count)])


def started_from(model: Generator, vocab: Vocab, path: Path) -> None:
    """Take over an earlier chat model's weights: all of them, and per word the embedding and output row of
    each word the earlier vocabulary holds (the new words keep their fresh initialisation)."""
    saved = load_checkpoint(path, kind=CHAT_CHECKPOINT_KIND)
    if GeneratorConfig(**saved.config).dim != model.config.dim or GeneratorConfig(**saved.config).hops != model.config.hops:
        raise ConfigError(f"{path} has another size (dim, hops) than this recipe's model: train from scratch")
    old = {w: i for i, w in enumerate(saved.vocab.words)}
    pairs = [(i, old[w]) for i, w in enumerate(vocab.words) if w in old]
    new, was = torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])
    state = model.state_dict()
    for name, tensor in saved.state.items():
        if name in ("words.weight", "out.weight", "out.bias"):
            state[name][new] = tensor[was]
        else:
            state[name].copy_(tensor)
    model.load_state_dict(state)


def train_chat_model(config: ChatTrainConfig, out: Path, dialog_dir: Path | None, progress: Progress | None = None,
                     resume: bool = False, data_dir: Path | None = None, init: Path | None = None) -> ChatTrainResult:
    """Train the chat model and save its best dev epoch to `out` (kind "generator-chat"). `data_dir`: the
    shared data folder, for real conversation; `init`: an earlier chat model to start from.

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
    sources = training_sources(config, dialog_dir, data_dir)
    train_split, dev, vocab = assembled(sources, config)
    everyday = dev_everyday(config, data_dir)
    torch.manual_seed(config.seed)
    if init is not None:  # a model started from another keeps every word it had
        vocab = Vocab.build([*vocab.words[2:], *load_checkpoint(init, kind=CHAT_CHECKPOINT_KIND).vocab.words[2:]])
    model = Generator(len(vocab), config.generator, go_id=vocab.id(GO))
    if init is not None:
        started_from(model, vocab, init)
    log.info("chat model: %s training examples, %d + %d dev, vocabulary %d",
             {k: len(v) for k, v in sources.items()}, len(dev), len(everyday), len(vocab))

    def mean_loss(m: Generator, split: Split) -> float:
        split_loss = batch_loss_for(split, vocab)
        chunks = torch.arange(len(split)).split(config.eval_batch)  # the loop evaluates in eval mode, no grad
        return sum(float(split_loss(m, rows)) * len(rows) for rows in chunks) / len(split)

    def evaluate(m: Generator) -> dict[str, float]:
        metrics = {"loss": mean_loss(m, dev), "error": 100.0 - score(dev, predict(m, dev, vocab, config.eval_batch))[0]}
        if len(everyday):  # selection weighs memchat's own dev and everyday conversation alike
            metrics["everyday_loss"] = mean_loss(m, everyday)
            metrics["own_loss"], metrics["loss"] = metrics["loss"], (metrics["loss"] + metrics["everyday_loss"]) / 2
        return metrics

    loop = dataclasses.replace(config.train, seed=config.seed)
    batch_loss = counting_batches(batch_loss_for(train_split, vocab), len(train_split), loop.batch_size, progress)
    trained = train(model, len(train_split), batch_loss, evaluate, loop, progress=progress, description="epochs",
                    resume=state)
    result = ChatTrainResult(
        dev_accuracy=100.0 - trained.best["error"], dev_loss=trained.best["loss"], epochs=len(trained.history), best_epoch=trained.best_epoch,
        seconds=trained.seconds, parameters=sum(p.numel() for p in model.parameters()), checkpoint_bytes=0,
        examples={k: len(v) for k, v in sources.items()}, vocabulary=len(vocab),
        command=command_line(config, dialog_dir, distributed_context()[1], data_dir, init),
    )
    if not is_main_process():
        return result
    metrics = {"recipe": dataclasses.asdict(config), "dev_per_response": round(result.dev_accuracy, 2),
               "dev_loss": round(result.dev_loss, 4),
               "epochs": result.epochs, "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
               "examples": result.examples, "dialog_babi_data": shown_path(dialog_dir) if dialog_dir else None,
               "data": shown_path(data_dir) if data_dir else None, "init": shown_path(init) if init else None,
               "history": [dataclasses.asdict(e) for e in trained.history], "command": result.command}
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


def command_line(config: ChatTrainConfig, dialog_dir: Path | None, processes: int = 1, data_dir: Path | None = None,
                 init: Path | None = None) -> str:
    """The `memchat train` command that repeats this recipe; under torchrun, with its process count."""
    program = f"torchrun --standalone --nproc_per_node {processes} -m cli" if processes > 1 else "memchat"
    parts = [f"{program} train", f"--seed {config.seed}", f"--conversations {config.conversations}",
             f"--epochs {config.train.epochs}"]
    if dialog_dir is not None and config.dialog_babi_share:
        parts.append(f"--dialog-data {shown_path(dialog_dir)}")
    if data_dir is not None and (config.dailydialog or config.persona_chat):
        parts.append(f"--data {shown_path(data_dir)}")
    if init is not None:
        parts.append(f"--init {shown_path(init)}")
    return " ".join(parts)


def shown_path(path: Path) -> str:
    """A data path as the checkout sees it (../shared/data/...), so records name no machine's folders."""
    root = Path(__file__).resolve().parent.parent
    try:
        return os.path.relpath(Path(path).resolve(), root)
    except ValueError:  # another drive
        return str(path)

