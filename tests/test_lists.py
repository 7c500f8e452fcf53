"""List items inside a memory: found only where the memory lists things, taken out with one joiner."""

from __future__ import annotations

import pytest

from assistant.lists import item_span, named_items, without_item


@pytest.mark.parametrize("text, item, edited", [
    ("need milk, eggs and bread", "eggs", "need milk and bread"),
    ("need milk, eggs and bread", "bread", "need milk and eggs"),
    ("need milk, eggs and bread", "milk", "need eggs and bread"),
    ("Packing list: batteries, a torch and the tent.", "batteries", "Packing list: a torch and the tent."),
    ("Packing list: batteries, a torch and the tent.", "the tent", "Packing list: batteries and a torch."),
    ("tent pegs, tent and stove", "tent", "tent pegs and stove"),  # a whole word, where it is an item
    ("hot sauce, sauce pans and tape", "sauce pans", "hot sauce and tape"),
    ("setlist: Wonderwall; Creep; Yellow", "Creep", "setlist: Wonderwall; Yellow"),
])
def test_an_item_is_taken_out_with_one_joiner(text, item, edited):
    span = item_span(text, item)
    assert span is not None and text[span[0]:span[1]].lower() == item.lower()
    assert without_item(text, span) == edited


@pytest.mark.parametrize("text, item", [
    ("my sister lives in Leeds", "Leeds"),
    ("my sister lives in Leeds", "my sister"),
    ("the dentist appointment is on friday", "friday"),
    ("need milk, eggs and bread", "cheese"),
    ("need milk, eggs and bread", ""),
])
def test_a_memory_that_lists_nothing_has_no_item(text, item):
    assert item_span(text, item) is None


def test_the_item_a_request_names_is_found_by_its_words():
    text = "Packing list: batteries, a torch and the tent."
    assert [text[a:b] for a, b in named_items(text, "take the tent off the list")] == ["the tent"]
    assert [text[a:b] for a, b in named_items(text, "no need for batteries")] == ["batteries"]
    assert named_items(text, "forget the packing list") == []  # the list itself, not an item
    assert len(named_items("Buy oat milk, eggs and milk.", "scratch the milk")) == 2  # which one: ask
    assert named_items("my sister lives in Leeds", "forget my sister") == []
