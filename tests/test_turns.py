"""The turn model: its tags cut facts back out of the user's own characters, a tiny model learns from the
recipe's batches, checkpoints load, and the shipped model reads lines nobody trained it on."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from assistant.checkpoint import save_checkpoint
from assistant.assistant import DEFAULT_TURNS as SHIPPED
from assistant.settings import AssistantConfig
from assistant.turns import (KINDS, TAGS, Turn, TurnConfig, TurnModel, TurnReader, decode_tags, load_turn_reader,
                             spans_from_tags)
from assistant.vocab import PAD, UNK, Vocab
from lab.turn_data import TurnExample
from lab.turn_training import _batches, _tensors, evaluate, piece_tags
from memory_store import Words
from memory_store.embedder import embed_words

from fakes import HashEmbedder


def words_of(text: str) -> Words:
    return embed_words(HashEmbedder(), [text])[1][0]


def test_tags_from_spans_cut_the_same_characters_back():
    text = "oh and my flight is at 7:45, and Sam does the check-in lol"
    spans = [(7, 27), (33, 55)]
    words = words_of(text)
    tags = piece_tags(words, spans)
    assert [TAGS[t] for t in tags].count("B") == 2
    assert [text[a:b] for a, b in spans_from_tags(words, tags)] == ["my flight is at 7:45", "Sam does the check-in"]


def test_a_told_word_is_dropped_only_when_surely_filler():
    text = "oh aisha does the slides, and Sam runs QA"
    words = words_of(text)
    assert [w.lower() for w in words.pieces] == ["oh", "aisha", "does", "the", "slides", ",", "and", "sam", "runs", "qa"]
    o, b, i = (0.98, 0.01, 0.01), (0.05, 0.9, 0.05), (0.05, 0.05, 0.9)
    p = torch.tensor([o, (0.57, 0.3, 0.13), i, i, i, (0.4, 0.05, 0.55), (0.57, 0.03, 0.4), b, i, i])
    likeliest = decode_tags(p, None)
    assert [text[a:c].rstrip(",") for a, c in spans_from_tags(words, likeliest)] == ["does the slides", "Sam runs QA"]
    kept = decode_tags(p, 0.9)  # "aisha" is unsure filler: kept; ", and" before the next fact is its joiner
    assert [text[a:c].rstrip(",") for a, c in spans_from_tags(words, kept)] == ["aisha does the slides", "Sam runs QA"]
    assert decode_tags(torch.tensor([o, i, i]), 0.9) == [0, 2, 2]  # sure filler still goes


def test_a_next_fact_begins_only_where_the_model_is_sure_of_it():
    text = "Leo has piano at 4 with mrs. Albright, $40 a lesson"
    words = words_of(text)
    o, i = (0.98, 0.01, 0.01), (0.05, 0.05, 0.9)
    unsure = (0.05, 0.7, 0.25)  # "mrs" begins a fact, but only 0.7 sure
    p = torch.tensor([(0.05, 0.9, 0.05), i, i, i, i, (0.6, 0.1, 0.3), unsure, *[i] * (len(words.pieces) - 7)])
    cut = [text[a:c] for a, c in spans_from_tags(words, decode_tags(p, 0.9))]
    assert cut == ["Leo has piano at 4", "mrs. Albright, $40 a lesson"]  # "with" left out as the joiner
    whole = [text[a:c] for a, c in spans_from_tags(words, decode_tags(p, 0.9, split_above=0.95))]
    assert whole == [text]
    sure = p.clone()
    sure[6] = torch.tensor([0.02, 0.97, 0.01])
    assert [text[a:c] for a, c in spans_from_tags(words, decode_tags(sure, 0.9, split_above=0.95))] == cut
    first = decode_tags(torch.tensor([(0.05, 0.6, 0.35), i]), 0.9, split_above=0.95)
    assert first == [1, 2]  # the first fact begins however unsure: there is nothing before it to go on with


def test_a_continuation_piece_never_starts_a_fact():
    w = Words("teh milk", ("te", "##h", "milk"), ((0, 2), (2, 3), (4, 8)), np.zeros((3, 4), dtype=np.float32))
    assert spans_from_tags(w, [TAGS.index("B"), TAGS.index("B"), TAGS.index("I")]) == [(0, 8)]
    assert spans_from_tags(w, [TAGS.index("O"), TAGS.index("O"), TAGS.index("B")]) == [(4, 8)]


def _examples() -> list[TurnExample]:
    rng = random.Random(0)
    out = []
    for name in ("anna", "tom", "lea", "sam", "ivo", "mia"):
        fact = f"my friend {name} plays chess"
        out.append(TurnExample(f"lol {fact}", "statement", ((4, 4 + len(fact)),)))
        out.append(TurnExample(f"where does {name} play chess?", "question"))
        out.append(TurnExample(f"forget {name}", "forget", ((7, 7 + len(name)),)))
    rng.shuffle(out)
    return out


def test_a_tiny_model_learns_kinds_and_facts_from_the_recipes_batches():
    torch.manual_seed(0)
    examples = _examples()
    embedder = HashEmbedder()
    vectors = {}
    for e in examples:
        sentences, words = embed_words(embedder, [e.text])
        vectors[e.text] = (sentences[0], words[0])
    rows = _tensors(examples, vectors)
    model = TurnModel(TurnConfig(dim=embedder.dim, hidden=16, dropout=0.0))
    before = evaluate(model, rows)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        for x, mask, s, kinds, tags in _batches(rows, 8, random.Random(0)):
            k, t = model(x, mask, s)
            loss = torch.nn.functional.cross_entropy(k, kinds) + torch.nn.functional.cross_entropy(
                t.reshape(-1, len(TAGS)), tags.reshape(-1), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    after = evaluate(model, rows)
    assert after["kind_accuracy"] == 1.0 and after["facts_exact"] == 1.0
    assert before["facts_exact"] < 1.0

    reader = TurnReader(model)
    sentence, words = embed_words(embedder, ["lol my friend mia plays chess"])
    turn = reader.understand(words[0], sentence[0])
    assert turn.kind == "statement" and turn.facts == ("my friend mia plays chess",)


def test_a_checkpoint_loads_with_its_config(tmp_path):
    model = TurnModel(TurnConfig(dim=8, hidden=4))
    path = tmp_path / "turns.pt"
    save_checkpoint(path, kind="turn-model", model=model, config=model.config, vocab=Vocab((PAD, UNK)),
                    metrics={"embedder": "hash-test"})
    loaded = load_turn_reader(path)
    assert loaded.model.config == model.config and loaded.metrics["embedder"] == "hash-test"
    assert set(loaded.model.config.kinds) == set(KINDS)


@pytest.mark.skipif(not SHIPPED.exists(), reason="the shipped turn model (assistant/models/turns.pt) is not trained yet")
def test_the_shipped_model_reads_lines_it_never_saw(minilm):
    reader = load_turn_reader(SHIPPED)

    def read(text):
        sentences, words = minilm.embed_words([text])
        return reader.understand(words[0], sentences[0])

    assert read("hiya!").kind == "small_talk"
    assert read("whats my brothers new address").kind == "question"
    assert read("can u get rid of the thing about the plumber").kind == "forget"
    told = read("oh and my train leaves at 6:40 lol")
    assert told.kind == "statement" and told.facts == ("my train leaves at 6:40",)
    two = read("my sister lives in Rome. my brother lives in Oslo")
    assert two.kind == "statement" and two.facts == ("my sister lives in Rome", "my brother lives in Oslo")
    for line, facts in (("I live in Porto, my wife is Sofia", ("I live in Porto", "my wife is Sofia")),
                        ("my boss is called Priya, and Tom runs QA", ("my boss is called Priya", "Tom runs QA"))):
        # two facts joined by a comma are kept, as two memories or (a known limit, README) as one
        got = read(line).facts
        assert got == facts or (len(got) == 1 and all(f in got[0] for f in facts))
    assert read("packing list: charger, passport and sunglasses").facts == (
        "packing list: charger, passport and sunglasses",)  # a list is one fact, its heading kept
    assert read("quit").kind == "exit"


def test_the_chat_decodes_facts_at_the_configured_split_threshold(store):
    from assistant.understanding import understand

    class Recording:  # a turn reader that says what it was asked to decode with
        def __init__(self):
            self.asked = []

        def understand(self, words, sentence, drop_above=None, split_above=None):
            self.asked.append((drop_above, split_above))
            return Turn(words.text, "statement", 1.0, (words.text,), "question")

    turns = Recording()
    understand(store, turns, AssistantConfig(), "my flight is at 7:45 and Sam does the slides")
    understand(store, turns, AssistantConfig(split_facts_above=None, drop_filler_above=None), "the bins go out on monday")
    assert turns.asked == [(0.9, 0.95), (None, None)]
