"""List items inside a memory: "Packing list: batteries, a torch and the tent." holds three, and one can
be taken off ("take the batteries off the list") by editing the memory rather than forgetting all of it.

Only punctuation and the joining "and" / "&" / "+" mark items (the tokenisation of a list, not a
catalogue of things); which item a request names is the one whose words it says.
"""

from __future__ import annotations

import re

_JOINER = r"(?:,|;|\band\b|&|\+)"
_BEFORE = re.compile(rf"(?:{_JOINER}|:)\s*$", re.I)  # what may stand before an item
_AFTER = re.compile(rf"^\s*(?:{_JOINER}|[.!]|$)", re.I)  # ... and after it
_JOIN_AFTER = re.compile(rf"^\s*{_JOINER}\s*", re.I)
_JOIN_BEFORE = re.compile(rf"\s*{_JOINER}\s*$", re.I)
_ITEM = re.compile(rf"(?:^|:|{_JOINER})\s*([^,;:&+.!]+?)\s*(?={_JOINER}|[.!]|$)", re.I)
_WORD = re.compile(r"[\w$£€'-]+")


def item_span(text: str, item: str) -> tuple[int, int] | None:
    """Where `item` stands in `text` as one item of a list (a separator or the list's opening colon before
    it, or a comma after it; a separator or the end after it; another item joined to it), else None. Only
    whole words match ("sauce" is not in "hot sauce pans"), and the first place that is an item wins."""
    item = item.strip()
    if not item:
        return None
    for m in re.finditer(rf"(?<![\w-]){re.escape(item)}(?![\w-])", text, re.I):
        start, end = m.span()
        before, after = text[:start], text[end:]
        if not (_BEFORE.search(before) or after.lstrip().startswith(",")) or not _AFTER.match(after):
            continue  # the first item may follow a verb ("need milk, eggs and bread")
        if _JOIN_AFTER.match(after) or _JOIN_BEFORE.search(before):
            return start, end  # joined to another item: part of a list
    return None


def named_items(text: str, request: str) -> list[tuple[int, int]]:
    """The items of the list in `text` whose last word the request says ("take the tent off the list" and
    "..., a torch and the tent." -> [the tent]); none when `text` lists nothing."""
    said = {w.lower() for w in _WORD.findall(request)}
    found = []
    for m in _ITEM.finditer(text):
        words = [w.lower() for w in _WORD.findall(m.group(1))]
        span = item_span(text, m.group(1)) if words and words[-1] in said else None
        if span is not None and span not in found:
            found.append(span)
    return found


def without_item(text: str, span: tuple[int, int]) -> str:
    """`text` with the item at `span` and one joiner beside it taken out ("milk, eggs and bread" without
    "eggs" -> "milk and bread"; without "bread" -> "milk, eggs")."""
    start, end = span
    before, after = text[:start], text[end:]
    if m := _JOIN_AFTER.match(after):
        if _JOIN_BEFORE.search(before) and re.match(r"\s*and\b", after, re.I):
            before = _JOIN_BEFORE.sub(" and ", before)  # "milk, eggs and bread" - "eggs" -> "milk and bread"
        return (before + after[m.end():]).strip()
    joiner = _JOIN_BEFORE.search(before)
    before = before[: joiner.start()] if joiner else before
    if joiner and "and" in joiner.group().lower() and ", " in before:  # "a, b and c" - "c" -> "a and b"
        at = before.rindex(", ")
        before = before[:at] + " and " + before[at + 2:]
    return (before + after).strip()
