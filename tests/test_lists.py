"""List items inside a memory: found only where the memory lists things, taken out with one joiner."""

from __future__ import annotations

import pytest

from assistant.lists import item_span, without_item


@pytest.mark.parametrize("text, item, edited", [
    ("need milk, eggs and bread", "eggs", "need milk and bread"),
    ("need milk, eggs and bread", "bread", "need milk, eggs"),
    ("need milk, eggs and bread", "milk", "need eggs and bread"),
    ("Packing list: batteries, a torch and the tent.", "batteries", "Packing list: a torch and the tent."),
    ("Packing list: batteries, a torch and the tent.", "the tent", "Packing list: batteries, a torch."),
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
