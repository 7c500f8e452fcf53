"""The memory reader: spans, masking, a tiny reader learning which memory answers (or none), SQuAD's
scoring, and the shipped reader on memories it never saw."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import torch

from assistant.assistant import DEFAULT_READER
from assistant.checkpoint import save_checkpoint
from assistant.errors import CheckpointError, ConfigError
from assistant.reading import (CHECKPOINT_KIND, JointConfig, JointReader, MemoryReader, Reader, ReadingConfig,
                               answer_text, batch_reading, best_span, load_reader, nearness, told_around, told_order)
from assistant.versions import linked_versions, newest_version
from assistant.vocab import Vocab
from lab.reading_data import ReadingExample
from lab.reading_training import (_batches, _f1, _loss, _norm, _rows, _start_from_minilm, ensemble_readers, predict,
                                  read_all, squad_scores)
from memory_store import Fact, Words
from memory_store.embedder import embed_words

from fakes import HashEmbedder


def test_the_best_span_never_ends_before_it_starts():
    start = torch.tensor([0.0, 5.0, 0.0, 0.0])
    end = torch.tensor([4.0, 0.0, 0.0, 3.0])  # the best end alone (4.0) lies before the best start
    assert best_span(start, end, 4) == (1, 3)


def test_an_answer_is_widened_to_whole_words():
    w = Words("flight at 7:45 tomorrow", ("flight", "at", "7", ":", "45", "tom", "##orrow"),
              ((0, 6), (7, 9), (10, 11), (11, 12), (12, 14), (15, 18), (18, 23)), np.zeros((7, 4), dtype=np.float32))
    assert answer_text(w, 2, 4) == "7:45"
    assert answer_text(w, 6, 6) == "tomorrow"


def test_empty_memory_slots_take_no_probability_and_make_no_nan():
    model = MemoryReader(ReadingConfig(dim=8, hidden=8)).eval()
    q, q_mask, m, m_mask, _ = batch_reading(
        [Words("q", ("q",), ((0, 1),), np.ones((1, 8), dtype=np.float32))],
        [[Words("a b", ("a", "b"), ((0, 1), (2, 3)), np.ones((2, 8), dtype=np.float32)),
          Words("", (), (), np.zeros((0, 8), dtype=np.float32))]])
    with torch.no_grad():
        logits, span = model(q, q_mask, m, m_mask)
    p = torch.softmax(logits, dim=-1)
    assert torch.isfinite(p).all() and float(p[0, 1]) == 0.0  # the empty slot
    assert abs(float(p.sum()) - 1.0) < 1e-5


def _examples(rng: random.Random) -> list[ReadingExample]:
    out = []
    for _ in range(40):
        people = rng.sample(["ana", "tom", "lea", "sam", "ivo", "mia", "eva", "max"], 3)
        memories = tuple(f"{p} lives in {c}" for p, c in zip(people, rng.sample(["rome", "oslo", "lima", "kyiv"], 3)))
        if rng.random() < 0.7:
            i = rng.randrange(3)
            out.append(ReadingExample(f"where does {people[i]} live", memories, i, (len(people[i]) + 10, len(memories[i]))))
        else:
            out.append(ReadingExample("where does zed live", memories, None))
    return out


def _fit(model: MemoryReader, examples: list[ReadingExample], embedder: HashEmbedder, rng: random.Random, rounds: int,
         exact: bool = False) -> list:
    """Train a tiny reader on `examples` for `rounds` passes; returns their rows."""
    texts = {t for e in examples for t in (e.question, *e.memories)}
    vectors = {t: (s, w) for t, s, w in zip(texts, *embed_words(embedder, list(texts)))}
    rows = _rows(examples, vectors)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(rounds):
        for chosen, tensors, targets in _batches(rows, 8, rng, exact=exact):
            loss = _loss(model, chosen, tensors, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return rows


@pytest.mark.parametrize("exact_match", [False, True])
def test_a_tiny_reader_learns_which_memory_answers_or_that_none_does(exact_match):
    torch.manual_seed(0)
    rng = random.Random(0)
    embedder = HashEmbedder()
    model = MemoryReader(ReadingConfig(dim=embedder.dim, hidden=32, dropout=0.0, exact_match=exact_match))
    rows = _fit(model, _examples(rng), embedder, rng, 40, exact=exact_match)
    scores = squad_scores(rows, predict(model, rows, 0.5))
    assert scores["memory_accuracy"] >= 95 and scores["no_answer_accuracy"] >= 90

    reader = Reader(model)
    q = embed_words(embedder, ["where does zed live"])[1][0]
    ms = embed_words(embedder, ["ana lives in rome", "tom lives in oslo"])[1]
    assert reader.read(q, ms).chosen is None
    q = embed_words(embedder, ["where does tom live"])[1][0]
    reading = reader.read(q, ms)
    assert reading.chosen == 1 and "oslo" in reading.answer


def test_an_ensemble_reads_with_its_members_probabilities_averaged_and_is_saved_and_loaded_whole(tmp_path):
    rng = random.Random(0)
    embedder = HashEmbedder()
    examples = _examples(rng)
    members = []
    for seed in (0, 1):  # two tiny readers trained alike from other starting weights
        torch.manual_seed(seed)
        model = MemoryReader(ReadingConfig(dim=embedder.dim, hidden=16, dropout=0.0))
        rows = _fit(model, examples, embedder, random.Random(seed), 8)
        members.append(model.eval())
    q = embed_words(embedder, ["where does tom live"])[1][0]
    ms = embed_words(embedder, ["ana lives in rome", "tom lives in oslo", "lea lives in lima"])[1]
    alone = [Reader(m).read(q, ms) for m in members]
    together = Reader(members).read(q, ms)
    assert together.chances == pytest.approx([(a + b) / 2 for a, b in zip(alone[0].chances, alone[1].chances)], abs=1e-6)
    assert together.none == pytest.approx((alone[0].none + alone[1].none) / 2, abs=1e-6)
    # the training scripts read the rows as the chat does
    batch = read_all(members, rows)
    answered = 0
    for row, (best, text, p, none) in zip(rows, batch):
        reading = Reader(members).read(row[0], row[1])
        assert best == int(np.argmax(reading.chances)) and p == pytest.approx(max(reading.chances), abs=1e-5)
        assert none == pytest.approx(reading.none, abs=1e-5)
        if reading.chosen is not None:  # the same answer words, from the averaged pointers
            answered += 1
            assert text == reading.answer
    assert answered >= 10

    holder = torch.nn.Module()
    for i, m in enumerate(members):
        holder.add_module(str(i), m)
    path = tmp_path / "reader.pt"
    save_checkpoint(path, kind=CHECKPOINT_KIND, model=holder, config=members[0].config, vocab=Vocab(("<pad>", "<unk>")),
                    metrics={"members": 2, "threshold": 0.4})
    loaded = load_reader(path)
    assert len(loaded.models) == 2 and loaded.threshold == 0.4
    assert loaded.read(q, ms).chances == pytest.approx(together.chances, abs=1e-6)


def test_readers_of_other_shapes_or_recipes_are_never_ensembled(tmp_path):
    paths = []
    for i, hidden in enumerate((8, 16)):
        paths.append(tmp_path / f"m{i}.pt")
        save_checkpoint(paths[-1], kind=CHECKPOINT_KIND, model=MemoryReader(ReadingConfig(dim=8, hidden=hidden)),
                        config=ReadingConfig(dim=8, hidden=hidden), vocab=Vocab(("<pad>", "<unk>")),
                        metrics={"train_config": {"seed": 0, "member": i}})
    with pytest.raises(ConfigError, match="share one config"):
        ensemble_readers(paths, tmp_path / "no-data", tmp_path / "out.pt")
    with pytest.raises(ConfigError, match="two or more"):
        ensemble_readers([paths[0], paths[0]], tmp_path / "no-data", tmp_path / "out.pt")
    (tmp_path / "copy.pt").write_bytes(paths[0].read_bytes())
    with pytest.raises(ConfigError, match="must differ"):
        ensemble_readers([paths[0], tmp_path / "copy.pt"], tmp_path / "no-data", tmp_path / "out.pt")
    holder = torch.nn.Module()
    for i in range(2):
        holder.add_module(str(i), MemoryReader(ReadingConfig(dim=8, hidden=8)))
    save_checkpoint(paths[1], kind=CHECKPOINT_KIND, model=holder, config=ReadingConfig(dim=8, hidden=8),
                    vocab=Vocab(("<pad>", "<unk>")), metrics={"members": 2, "train_config": {"seed": 0, "member": 1}})
    with pytest.raises(ConfigError, match="already holds an ensemble"):
        ensemble_readers(paths, tmp_path / "no-data", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def _with_middle(words: Words) -> Words:
    return Words(words.text, words.pieces, words.spans, words.vectors, words.vectors.copy())


def test_a_tiny_joint_reader_learns_which_memory_answers_reading_a_few_memories_a_step():
    torch.manual_seed(0)
    rng = random.Random(0)
    examples = _examples(rng)
    embedder = HashEmbedder(dim=32)
    texts = sorted({t for e in examples for t in (e.question, *e.memories)})
    vectors = {t: (s, _with_middle(w)) for t, s, w in zip(texts, *embed_words(embedder, texts))}
    rows = _rows(examples, vectors)
    model = JointReader(JointConfig(dim=32, layers=1, heads=2, feedforward=64, hidden=32, dropout=0.0))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        for chosen, tensors, targets in _batches(rows, 8, rng, middle=True, memories=2):
            assert tensors[2].shape[1] <= 2  # every row cut to two memories, the answering one kept
            loss = _loss(model, chosen, tensors, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    scores = squad_scores(rows, predict(model, rows, 0.5))  # read over all three memories
    assert scores["memory_accuracy"] >= 90 and scores["no_answer_accuracy"] >= 85
    reader = Reader(model)
    q = _with_middle(embed_words(embedder, ["where does zed live"])[1][0])
    ms = [_with_middle(w) for w in embed_words(embedder, ["ana lives in rome", "tom lives in oslo"])[1]]
    assert reader.read(q, ms).chosen is None
    q = _with_middle(embed_words(embedder, ["where does tom live"])[1][0])
    assert reader.read(q, ms).chosen == 1


class _Fixed(torch.nn.Module):
    """A reader's scorer that gives the memories and "none" fixed probabilities (the decision is tested)."""

    def __init__(self, chances: list[float]):
        super().__init__()
        self.logits = torch.tensor(chances).log()

    def forward(self, *batch):
        return self.logits[None, :], torch.zeros(1, len(self.logits) - 1, 8, 2)


def _words(text: str) -> Words:
    pieces = tuple(text.split())
    spans, at = [], 0
    for piece in pieces:
        at = text.index(piece, at)
        spans.append((at, at + len(piece)))
        at += len(piece)
    return Words(text, pieces, tuple(spans), np.zeros((len(pieces), 384), dtype=np.float32))


def test_pooled_reading_answers_when_two_versions_of_a_fact_share_the_probability():
    question, memories = _words("when is the dentist"), [_words("dentist on the 22nd"), _words("moved to the 29th")]
    shared = Reader(_Fixed([0.45, 0.45, 0.10]))
    assert shared.read(question, memories, 0.65).chosen is None  # neither alone reaches the threshold
    pooled = shared.read(question, memories, 0.65, pooled=0.3)
    assert pooled.chosen == 0 and pooled.chances == pytest.approx((0.45, 0.45)) and pooled.none == pytest.approx(0.1)
    assert pooled.versions == (0, 1) and shared.read(question, memories, 0.4).versions == (0,)
    doubtful = Reader(_Fixed([0.3, 0.3, 0.4]))
    assert doubtful.read(question, memories, 0.65, pooled=0.3).chosen is None  # together 0.6: below it
    assert Reader(_Fixed([0.25, 0.25, 0.5])).read(question, memories, None, pooled=0.3).chosen is None  # not above none
    tail = [*memories, _words("the review is on friday"), _words("my train leaves at 6:40")]
    spread = Reader(_Fixed([0.5, 0.1, 0.1, 0.1, 0.2]))  # far less likely memories are no versions of the answer
    assert spread.read(question, tail, 0.65, pooled=0.3).chosen is None
    assert Reader(_Fixed([0.5, 0.2, 0.1, 0.1, 0.1])).read(question, tail, 0.65, pooled=0.3).chosen == 0
    apart = np.eye(4, dtype=bool)  # no two memories are versions of one fact: each stands alone
    assert Reader(_Fixed([0.5, 0.2, 0.1, 0.1, 0.1])).read(question, tail, 0.65, pooled=0.3, alike=apart).chosen is None


def test_the_joint_reader_refuses_words_without_middle_states():
    words = Words("q", ("q",), ((0, 1),), np.ones((1, 8), dtype=np.float32))
    with pytest.raises(CheckpointError, match="middle"):
        batch_reading([words], [[words]], middle=True)


def test_the_joint_layers_start_as_minilms_last_layers(minilm):
    """Copied right, MiniLM's last two layers, run in torch on a text's states after layer 4, give the
    numpy encoder's last hidden states."""
    model = JointReader(JointConfig(dropout=0.0)).eval()
    _start_from_minilm(model)
    encoder = minilm._small()
    ids = np.array([encoder.tokenizer.encode("the removal company is Swift Movers, they come at 8am").ids])
    last, middle = encoder._hidden(ids, np.ones(ids.shape, dtype=np.float32), keep=4)
    x = torch.from_numpy(middle)
    with torch.no_grad():
        for layer in model.layers:
            x = layer(x)
    assert np.allclose(x.numpy(), last, atol=1e-3)


def test_squad_scoring_follows_the_official_definitions():
    assert _norm("The  Eiffel tower!") == "eiffel tower"
    assert _f1("in Paris, France", "Paris") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert _f1("", "") == 1.0 and _f1("x", "") == 0.0


@pytest.mark.skipif(not DEFAULT_READER.exists(), reason="the shipped reader (assistant/models/reader.pt) is not trained yet")
def test_the_shipped_reader_answers_and_abstains_on_memories_it_never_saw(minilm):
    reader = load_reader(DEFAULT_READER)
    memories = ["my flight to copenhagen leaves at 7:45 on friday", "Priya is doing the slides for the launch",
                "my brother Karim lives in Leeds"]
    _, words = minilm.embed_words(["when does my flight leave?", *memories])
    reading = reader.read(words[0], words[1:])
    assert reading.chosen == 0
    _, words = minilm.embed_words(["who is doing the slides", *memories])
    assert reader.read(words[0], words[1:]).chosen == 1
    _, words = minilm.embed_words(["what does my brother do for a living?", *memories])
    assert reader.read(words[0], words[1:]).chosen is None
    # the shipped reader does not read when memories were told: their ages change nothing it says
    assert not reader.recency
    assert reader.read(words[0], words[1:], ages=[2, 1, 0]).chances == reader.read(words[0], words[1:]).chances
    with pytest.raises(ValueError, match="one each"):
        reader.read(words[0], words[1:], ages=[0, 1])


def test_the_loss_of_a_question_with_versions_of_its_answer_counts_them_together():
    class Fixed(torch.nn.Module):  # the second memory (an earlier version) gets nearly all the probability
        def forward(self, *_):
            return torch.tensor([[0.0, 6.0, -6.0]]), torch.zeros(1, 2, 1, 2)

    one = Words("x", ("x",), ((0, 1),), np.ones((1, 8), dtype=np.float32))
    memories = [one, one]
    versions = ReadingExample("q", ("new", "old"), 0, None, (), (1,))
    alone = ReadingExample("q", ("new", "old"), 0, None)
    targets = torch.tensor([0])
    pooled = float(_loss(Fixed(), [(one, memories, 0, None, versions)], (), targets))
    single = float(_loss(Fixed(), [(one, memories, 0, None, alone)], (), targets))
    assert pooled < 0.01 and single > 5.0


def test_a_question_word_reads_as_said_when_the_memory_says_the_word_itself():
    def words(text: str, pieces: tuple[str, ...]) -> Words:
        spans, at = [], 0
        for p in pieces:
            bare = p.removeprefix("##")
            start = text.index(bare, at)
            spans.append((start, start + len(bare)))
            at = start + len(bare)
        return Words(text, pieces, tuple(spans), np.ones((len(pieces), 8), dtype=np.float32))

    question = words("how many tins of parmesan?", ("how", "many", "tin", "##s", "of", "par", "##mes", "##an", "?"))
    told = words("2 tin of parmesan", ("2", "tin", "of", "par", "##mes", "##an"))
    other = words("500g of ricotta", ("500", "##g", "of", "rico", "##tta"))
    *_, exact = batch_reading([question], [[told, other]], exact=True)
    assert batch_reading([question], [[told, other]])[-1] is None  # only a reader that reads them makes them
    assert exact.shape == (1, 2, 9)
    assert exact[0, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0]  # "tins" is "tin"; every piece of "parmesan"
    assert exact[0, 1].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]  # only "of"; "?" matches nothing


def _corrections(rng: random.Random) -> list[ReadingExample]:
    """A person's home and, told later, their new home (the answer), beside another person's; half the
    questions ask about the other person, whose memory is the only one about them. The memories come in any
    order: only `ages` says which was told later."""
    out = []
    cities = ["rome", "oslo", "lima", "kyiv", "bern", "doha"]
    for _ in range(60):
        one, other = rng.sample(["ana", "tom", "lea", "sam", "ivo", "mia"], 2)
        old, new, theirs = rng.sample(cities, 3)
        said = [rng.choice(("lives in", "moved to")) for _ in range(3)]  # the words never say which is news
        told = [f"{one} {said[0]} {old}", f"{one} {said[1]} {new}", f"{other} {said[2]} {theirs}"]  # in telling order
        order = rng.sample(range(3), 3)
        memories = tuple(told[i] for i in order)
        ages = tuple(float(i) for i in order)
        asked, answer = (one, order.index(1)) if rng.random() < 0.6 else (other, order.index(2))
        city = memories[answer].split()[-1]
        span = (len(memories[answer]) - len(city), len(memories[answer]))
        out.append(ReadingExample(f"where does {asked} live", memories, answer, span, (city,), (), ages))
    return out


def test_a_tiny_recency_reader_takes_the_later_of_a_fact_and_its_correction():
    torch.manual_seed(0)
    rng = random.Random(1)
    embedder = HashEmbedder()
    model = MemoryReader(ReadingConfig(dim=embedder.dim, hidden=32, dropout=0.0, recency=True))
    rows = _fit(model, _corrections(rng), embedder, rng, 60)  # the ages reach the model from each example
    assert squad_scores(rows, predict(model, rows, None))["memory_accuracy"] >= 95

    reader = Reader(model)
    q = embed_words(embedder, ["where does eva live"])[1][0]
    ms = embed_words(embedder, ["eva lives in rome", "eva moved to bern", "max lives in oslo"])[1]
    assert reader.read(q, ms, ages=[0, 1, 2]).chosen == 1
    assert reader.read(q, ms, ages=[1, 0, 2]).chosen == 0  # told the other way round: the move came first


def test_the_told_order_of_facts_is_by_when_they_were_stored_then_by_id():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def fact(id: int, created: datetime) -> Fact:
        return Fact(id, "u", f"fact {id}", created, 0.5, False, 1.0, created, 0, "active", created)

    facts = [fact(7, at + timedelta(hours=1)), fact(3, at), fact(5, at)]
    assert told_order(facts) == [2.0, 0.0, 1.0]


def test_around_a_memory_are_the_alike_memories_told_after_and_before_it():
    m = torch.tensor([[[[1.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0]]]])  # (1, 3 memories, 1 word, dim 2)
    mask = torch.ones(1, 3, 1, dtype=torch.bool)
    coverage = torch.tensor([[0.2, 0.8, 0.5]])
    around = told_around(m, mask, coverage, torch.tensor([[0.0, 1.0, 2.0]]))
    assert torch.allclose(around[0, 0], torch.tensor([1.0, 0.8, 0.0, 0.0]))  # the alike one, told later
    assert torch.allclose(around[0, 1], torch.tensor([0.0, 0.0, 1.0, 0.2]))  # the unalike one later counts 0
    assert torch.allclose(around[0, 2], torch.tensor([0.0, 0.0, 0.0, 0.0]))


def test_nearness_is_the_cosine_of_the_mean_word_vectors_and_an_empty_slot_is_zero():
    q = torch.tensor([[[1.0, 0.0], [1.0, 2.0], [9.0, -9.0]]])  # the third piece is padding
    q_mask = torch.tensor([[True, True, False]])
    m = torch.tensor([[[[2.0, 2.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]])
    m_mask = torch.tensor([[[True, False], [False, False]]])
    near = nearness(q, q_mask, m, m_mask)
    assert torch.allclose(near, torch.tensor([[1.0, 0.0]]), atol=1e-6)  # mean (1, 1) against (2, 2): the padding is not read


def test_every_reader_recipe_is_named_by_its_own_flag_whatever_the_epochs():
    import dataclasses

    from lab.reading_training import RECIPES, ReadingTrainConfig, recipe_flags

    for flag, settings in RECIPES.items():
        config = dataclasses.replace(ReadingTrainConfig(**settings), epochs=1)
        assert recipe_flags(dataclasses.asdict(config)) == f" --{flag}"
    assert recipe_flags(dataclasses.asdict(ReadingTrainConfig())) == ""  # the shipped reader's recipe


def test_the_newest_version_follows_the_links_through_other_memories():
    at = datetime(2026, 5, 1, tzinfo=timezone.utc)

    def fact(i, minutes, follows=None):
        return Fact(i, "u", f"m{i}", at + timedelta(minutes=minutes), 0.5, False, 1.0, at, 0, "active", at,
                    source={"session": 1} if follows is None else {"follows": follows})

    a, b, c, d = fact(1, 0), fact(2, 5, follows=1), fact(3, 9, follows=2), fact(4, 20)
    assert newest_version(0, [a, d, c, b]) == 2  # a <- b <- c, in any order; d is no version of a
    assert newest_version(1, [a, d, c, b]) == 1
    assert newest_version(0, [a, d]) == 0
    assert newest_version(0, [fact(1, 30), fact(2, 5, follows=1)]) == 0  # a link to a newer memory is none
    assert linked_versions(1, [a, d, c, b]) == []  # d: no version of anything
    assert linked_versions(2, [a, d, c, b]) == [0, 3] and linked_versions(0, [a, d, c, b]) == [2, 3]
