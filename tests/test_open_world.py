"""The shipped assistant with its turn model and memory reader, on a conversation written for this test (not
one of lab/conversations, which only `memchat eval conversations` reads): memory of anything said, without
the filler around it; answers read from memory, or "I don't know"; forgetting in plain words; a list edited
item by item; chat words without a slash; memory across a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from assistant.assistant import DEFAULT_READER, DEFAULT_TURNS, NOT_TOLD, Assistant
from memory_store import MemoryStore
from test_assistant import tiny_checkpoint

pytestmark = pytest.mark.skipif(not (DEFAULT_TURNS.exists() and DEFAULT_READER.exists()),
                                reason="the shipped turn model and memory reader are written by train-turns/train-reader")
START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def test_a_new_user_tells_asks_corrects_forgets_and_restarts(tmp_path, minilm):
    store = MemoryStore.open(tmp_path / "home", embedder=minilm)
    checkpoint = tiny_checkpoint(tmp_path / "chat.pt")  # an untrained generator: answers are the memory quoted
    bot = Assistant.load(store, user="kim", checkpoint=checkpoint)
    assert bot.turns is not None and bot.reader is not None
    clock = iter(START + timedelta(minutes=i) for i in range(100))

    def say(text):
        return bot.reply(text, now=next(clock))

    told = say("oh and Marta is running the budget review lol")
    assert told.intent == "statement" and [f.text for f in told.stored] == ["Marta is running the budget review."]
    train = say("my train to Leeds leaves at 6:40 on friday")
    assert [f.text for f in train.stored] == ["My train to Leeds leaves at 6:40 on friday."]
    assert say("thanks!").stored == ()

    assert "Marta" in say("who's running the budget review?").text
    assert "6:40" in say("what time does my train leave").text  # said as typed, never "6: 40"
    unknown = say("what's my dentist called?")  # never told (close neighbours: the strict xfail below)
    assert unknown.text == NOT_TOLD and not any(r.used for r in unknown.recalled)

    packing = say("packing list: charger, passport and sunglasses")
    assert packing.stored and packing.replaced == ()
    edit = say("take the sunglasses off the list")
    assert edit.intent == "forget" and edit.removed == ("sunglasses",) and edit.stored == ()
    assert [f.text for f in edit.edited] == ["Packing list: charger and passport."]

    dropped = say("you can forget the train thing, i'm driving instead")
    assert dropped.intent == "forget" and dropped.stored == ()
    assert [f.text for f in dropped.forgotten] == ["My train to Leeds leaves at 6:40 on friday."]

    said = say("my cousin, Ines, runs a bakery in Porto")
    gone = say("you can stop remembering that my cousin, ines, runs a bakery in porto")  # every item named: all of it
    assert gone.intent == "forget" and [f.id for f in gone.forgotten] == [f.id for f in said.stored]

    assert say("help").intent == "help"
    store.close()

    store = MemoryStore.open(tmp_path / "home", embedder=minilm)  # the process starts again
    bot = Assistant.load(store, user="kim", checkpoint=checkpoint)
    assert "Marta" in bot.reply("remind me who does the budget review", now=next(clock)).text
    assert "6:40" not in bot.reply("when is my train?", now=next(clock)).text
    assert bot.reply("exit", now=next(clock)).intent == "exit"
    store.close()


@pytest.mark.xfail(strict=True, reason="known limit: the reader takes a memory sharing the question's subject "
                   "for an answer to another part of it (README, limits)")
@pytest.mark.parametrize("told, asked", [
    ("oh and Marta is running the budget review lol", "who is doing the slides for the review?"),
    ("my train to Leeds leaves at 6:40 on friday", "what's the name of my hotel in Leeds?")])
def test_a_close_neighbour_is_not_an_answer(tmp_path, minilm, told, asked):
    store = MemoryStore.open(tmp_path / "home", embedder=minilm)
    bot = Assistant.load(store, user="kim", checkpoint=tiny_checkpoint(tmp_path / "chat.pt"))
    bot.reply(told, now=START)
    assert bot.reply(asked, now=START).text == NOT_TOLD
