"""The chatter bank: small talk answered with what people replied to the nearest lines, by agreement."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.assistant import DEFAULT_CHATTER
from assistant.chatter import ChatterConfig, load_chatter
from assistant.errors import CheckpointError
from lab.chatter_bank import build_bank, says_nothing_particular, with_my_own

from fakes import HashEmbedder

PAIRS = [("thanks a lot", "sorry, this form is late, you must pay extra"), ("thanks a lot", "you're welcome"),
         ("ok thanks a lot", "you're welcome"), ("thanks a lot again", "you are welcome"),
         ("well thanks a lot", "my pleasure, you're welcome"), ("how are you", "fine, and you?"),
         ("how are you today", "fine thanks, and you?"), ("see you tomorrow", "see you")]


@pytest.fixture()
def bank():
    return build_bank(PAIRS, HashEmbedder(dim=64), dim=32)


def test_small_talk_gets_the_reply_the_candidates_agree_on(bank):
    embedder = HashEmbedder(dim=64)
    # "thanks a lot" itself was once answered out of its own context; the others agree on a welcome
    assert "welcome" in bank.reply(embedder.embed(["thanks a lot"])[0])
    assert bank.reply(embedder.embed(["how are you"])[0]).startswith("fine")


def test_a_turn_no_line_is_near_gets_no_reply(bank):
    embedder = HashEmbedder(dim=64)
    assert bank.reply(embedder.embed(["the boiler was serviced in march"])[0]) is None
    assert bank.reply(embedder.embed(["see you tomorrow"])[0], ChatterConfig(min_similarity=1.01)) is None


def test_what_was_just_said_is_not_said_again():
    bank = build_bank([*PAIRS, ("see you tomorrow", "bye for now")], HashEmbedder(dim=64), dim=32)
    vector = HashEmbedder(dim=64).embed(["see you tomorrow"])[0]
    first = bank.reply(vector)
    assert first in ("see you", "bye for now")
    assert bank.reply(vector, avoid=(first,)) == ({"see you", "bye for now"} - {first}).pop()


def test_a_saved_bank_loads_as_it_was_and_a_broken_one_is_refused(bank, tmp_path):
    path = tmp_path / "chatter.npz"
    bank.save(path)
    loaded = load_chatter(path)
    assert loaded.replies == bank.replies and loaded.embedder == "hash-test"
    assert np.array_equal(loaded.lines, bank.lines) and np.array_equal(loaded.reply_of, bank.reply_of)
    (tmp_path / "broken.npz").write_bytes(b"not a bank")
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:5000])  # a copy that stopped half way
    np.save(tmp_path / "array.npy", np.zeros(3))
    for broken in ("broken.npz", "cut.npz", "array.npy"):
        with pytest.raises(CheckpointError):
            load_chatter(tmp_path / broken)


def test_a_bank_whose_parts_disagree_is_refused(bank, tmp_path):
    import dataclasses

    path = tmp_path / "odd.npz"
    dataclasses.replace(bank, reply_of=bank.reply_of + len(bank.replies)).save(path)  # replies that are not there
    with pytest.raises(CheckpointError, match="whole"):
        load_chatter(path)
    with pytest.raises(ValueError, match="newline"):
        dataclasses.replace(bank, replies=("two\nlines", *bank.replies[1:])).save(tmp_path / "two.npz")


def test_small_talk_gets_the_banks_reply_and_stores_nothing(store, tmp_path):
    from assistant.assistant import Assistant
    from test_assistant import tiny_checkpoint

    bot = Assistant.load(store, user="ana", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"))
    bot.chatter = build_bank(PAIRS, store.embedder, dim=32)
    from datetime import datetime, timezone

    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    first = bot.reply("thanks a lot", now=now)
    assert first.intent == "small_talk" and "welcome" in first.text and first.stored == () and first.recalled == ()
    assert bot.reply("thanks a lot", now=now).text != first.text  # not said twice in a row
    assert store.facts("ana") == []


def test_replies_bound_to_their_own_conversation_stay_out_of_the_bank():
    assert says_nothing_particular("You're welcome. Have a nice day!")
    assert says_nothing_particular("I'm fine. How about you?")
    for particular in ("Hi there Mr. Anderson!", "I will. Bye, mom.", "It costs 20 dollars.",
                       "Do you still remember Justin?", "Ask Mary, she knows."):
        assert not says_nothing_particular(particular), particular


def test_a_line_the_assistant_answers_itself_is_not_answered_by_people_too():
    theirs = [("What's your name?", "Addison."), ("what is your name", "Mia."), ("Thanks!", "You're welcome.")]
    mine = [("what's your name?", "I'm memchat.")]
    assert with_my_own(theirs, mine) == [("what is your name", "Mia."), ("Thanks!", "You're welcome."),
                                         ("what's your name?", "I'm memchat.")]


@pytest.mark.skipif(not DEFAULT_CHATTER.exists(), reason="the shipped chatter bank is missing (memchat train-chatter)")
def test_the_shipped_bank_answers_thanks_and_greetings_sensibly(minilm):
    bank = load_chatter(DEFAULT_CHATTER)
    assert bank.embedder == minilm.name
    thanks = bank.reply(minilm.embed(["thanks, that's really kind of you"])[0]).lower()
    assert "welcome" in thanks or "pleasure" in thanks or "problem" in thanks
    assert "?" in bank.reply(minilm.embed(["hey, how are you doing?"])[0])  # and you?
    assert bank.reply(minilm.embed(["the boiler needs its annual service before the 14th"])[0]) is None
