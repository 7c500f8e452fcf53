"""The update detector: its training pairs, its vetoes, its choice, a real training run and the shipped one."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from assistant.assistant import DEFAULT_UPDATES, Assistant
from assistant.pairs import PairConfig
from assistant.updates import another_pet, choose_update, load_detector, passing, vetoed
from fakes import HashEmbedder
from lab.pair_training import FitConfig
from lab.personal_data import conversations
from lab.update_training import UpdateTrainConfig, train_update_detector, update_pairs
from lab.written_data import held_apart, training_conversations, written_update_pairs
from test_assistant import replacements, tiny_checkpoint

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def test_pairs_hold_every_update_against_the_fact_it_replaces_and_nothing_else():
    convs = conversations("train", 40, seed=3)
    pairs = update_pairs(convs)
    updates = [(t.expect.fact, t.expect.relation) for c in convs for t in c.turns if t.expect.kind == "update"]
    positives = [(new, old) for new, old, y in pairs if y]
    assert len(positives) == len(updates) > 0
    relation = {f.text: f.relation for c in convs for f in c.facts}
    assert all(relation[new] == relation[old] for new, old in positives)
    assert sum(1 for *_, y in pairs if not y) > 3 * len(positives)


@pytest.mark.parametrize("new, old, veto", [
    ("My sister moved to Paris.", "My brother Tom lives in Rome.", True),  # another relative
    ("My sister moved to Paris.", "I moved to Porto.", True),  # a relative against the user
    ("I moved to Porto.", "My sister lives in Rome.", True),
    ("My mum moved to Paris.", "My mother Ana lives in Rome.", False),
    ("i live in lisbon", "I live in Lisbon.", True),  # said again: a reinforcement
    ("Actually, I live in Porto.", "I live in Lisbon.", False),
    ("I also have a cat called Tom.", "I have a dog called Rex.", True),  # one more, not instead
    ("We have a hamster too.", "We have a dog.", True),
    ("My brother Sam moved to Oslo.", "My brother Tom lives in Rome.", True),  # two brothers
    ("My brother Tom moved to Oslo.", "Tom, my brother, lives in Rome.", False),
    ("My sister Ana works as a nurse.", "My sister lives in Berlin.", True),  # what she does is not where
    ("I hate cilantro.", "My favourite food is tacos.", True),  # a dislike is no news on a liking
    ("my sister is a doctor", "my sister lives in lisbon", True),  # what she is, not where
    ("My younger sister Julia lives in Prague.", "My older sister Clara lives in Vienna.", True),  # two sisters
    ("My sister Ana moved to Madrid.", "The home of my sister Ana is in Lisbon.", False),
    ("My best friend Sara has lived in Hyderabad for years.", "My best friend's name is Sara, and their home is "
     "in Tangier.", False),  # the old fact says where too
])
def test_vetoes(new, old, veto):
    assert vetoed(new, old) is veto


def test_a_statement_updates_at_most_its_most_probable_allowed_fact():
    olds = ["I live in Lisbon.", "My brother Tom lives in Rome.", "I work in Lisbon."]
    assert choose_update("I moved to Porto.", olds, [0.8, 0.0, 0.6]) == 0
    assert choose_update("I moved to Porto.", olds, [0.6, 0.0, 0.6]) == 0  # a tie: the nearer one
    assert choose_update("My sister moved to Porto.", olds, [0.0, 0.9, 0.0]) is None  # vetoed
    assert choose_update("I moved to Porto.", olds, [0.0, 0.0, 0.0]) is None
    assert [passing(p, 0.5) for p in (0.4, 0.5, 0.9)] == [0.0, 0.5, 0.9] and passing(0.9, None) == 0.0


def test_training_saves_a_detector_that_loads_and_scores(tmp_path):
    embedder = HashEmbedder(dim=32)
    config = UpdateTrainConfig(conversations=60, dev_conversations=20, fit=FitConfig(epochs=3), detector=PairConfig(dim=32, hidden=16))
    result = train_update_detector(config, embedder.embed, embedder.name, tmp_path / "updates.pt")
    assert result.pairs["train_positive"] > 0 and 1 <= result.best_epoch <= 3 and 0 <= result.dev["f1"] <= 100
    detector, metrics = load_detector(tmp_path / "updates.pt")
    assert metrics["embedder"] == "hash-test" and metrics["dev"] == result.dev
    vectors = embedder.embed(["I moved to Porto.", "I live in Lisbon.", "I like tea."])
    p = detector.probabilities(vectors[0], vectors[1:])
    assert len(p) == 2 and all(0 <= x <= 1 for x in p)


def test_a_detector_for_another_embedding_model_is_not_used(tmp_path, store, checkpoint_path):
    embedder = HashEmbedder(dim=32, name="other-model")
    config = UpdateTrainConfig(conversations=20, dev_conversations=5, fit=FitConfig(epochs=1), detector=PairConfig(dim=32, hidden=8))
    train_update_detector(config, embedder.embed, embedder.name, tmp_path / "other.pt")
    assert Assistant.load(store, checkpoint=checkpoint_path, updates=tmp_path / "other.pt").updates is None


@pytest.mark.skipif(not DEFAULT_UPDATES.exists(), reason="the shipped detector is written by `memchat train-updates`")
def test_the_shipped_detector_finds_updates_that_share_no_words(tmp_path, minilm, checkpoint_path):
    from memory_store import MemoryStore

    store = MemoryStore.open(tmp_path / "real", embedder=minilm)
    bot = Assistant.load(store, user="ana", checkpoint=checkpoint_path, reader=None)  # no reader veto
    assert bot.updates is not None
    replaced = replacements(bot, [
        "Home for me is Gothenburg.", "My brother Tom lives in Rome.", "I work as a nurse.",
        "My favourite animal is the frog.", "I play the violin."], [
        "I relocated to Cebu.", "My sister Ana moved to Oslo.", "These days I'm a firefighter.",
        "My favourite creature is the hamster."])
    assert replaced == {
        "I relocated to Cebu.": ["Home for me is Gothenburg."],
        "My sister Ana moved to Oslo.": [],  # her brother's fact stays
        "These days I'm a firefighter.": ["I work as a nurse."],
        "My favourite creature is the hamster.": ["My favourite animal is the frog."],
    }
    assert "I play the violin." in [f.text for f in store.facts("ana")]
    store.close()


@pytest.fixture
def checkpoint_path(tmp_path):
    return tiny_checkpoint(tmp_path / "chat.pt")



@pytest.mark.parametrize("new, old, another", [
    ("My cat is called Pepper.", "My dog is called Biscuit.", True),  # a second pet
    ("We got a new pet, a frog called Bo.", "My dog is called Biscuit.", False),  # said as the new one
    ("I adopted a dolphin and named it Bamal.", "My pig is called Mads.", False),
    ("My favourite creature is the hamster.", "My favourite animal is the frog.", False),  # no pets
    ("My dog Rex is called Rexy now.", "My dog is called Rex.", False),  # the same kind
])
def test_a_pet_of_another_kind_is_another_pet_unless_it_was_just_got(new, old, another):
    assert another_pet(new, old) is another


def test_the_written_conversations_add_their_statements_pairs_when_asked(tmp_path):
    embedder = HashEmbedder(dim=32)
    pairs = {}
    for written in (0, 1):
        config = UpdateTrainConfig(conversations=20, dev_conversations=5, written=written, fit=FitConfig(epochs=1),
                                   detector=PairConfig(dim=32, hidden=8))
        pairs[written] = train_update_detector(config, embedder.embed, embedder.name, tmp_path / "u.pt").pairs
    assert pairs[1]["train_positive"] - pairs[0]["train_positive"] > 50  # a correction against what it replaces
    kept, held = held_apart(training_conversations())  # every tenth conversation: development pairs only
    assert len(held) == (len(kept) + len(held) + 9) // 10
    assert pairs[1]["dev"] - pairs[0]["dev"] == len(written_update_pairs(held))
    assert pairs[1]["train"] - pairs[0]["train"] == len(written_update_pairs(kept))
