"""List items inside a memory: "Packing list: batteries, a torch and the tent." holds three, and one can
be taken off ("take the batteries off the list") by editing the memory rather than forgetting all of it.

Only punctuation and the joining "and" / "&" / "+" mark items (the tokenisation of a list, not a
catalogue of things); which words are the item comes from the memory reader's answer span.
"""

from __future__ import annotations

import re

_BEFORE = re.compile(r"(?:[,;:]|\band\b|&|\+)\s*$", re.I)  # what may stand before an item
_AFTER = re.compile(r"^\s*(?:[,;.!]|\band\b|&|\+|$)", re.I)  # ... and after it
_JOIN_AFTER = re.compile(r"^\s*(?:,|;|\band\b|&|\+)\s*", re.I)
_JOIN_BEFORE = re.compile(r"\s*(?:,|;|\band\b|&|\+)\s*$", re.I)


def item_span(text: str, item: str) -> tuple[int, int] | None:
    """Where `item` stands in `text` as one item of a list (a separator or the list's opening colon before
    it, or a comma after it; a separator or the end after it; another item joined to it), else None."""
    at = text.lower().find(item.lower().strip())
    if not item.strip() or at < 0:
        return None
    start, end = at, at + len(item.strip())
    before, after = text[:start], text[end:]
    if not (_BEFORE.search(before) or after.lstrip().startswith(",")) or not _AFTER.match(after):
        return None  # the first item may follow a verb ("need milk, eggs and bread")
    if not _JOIN_AFTER.match(after) and not _JOIN_BEFORE.search(before):
        return None  # nothing joined to it: a single thing, not an item
    return start, end


def without_item(text: str, span: tuple[int, int]) -> str:
    """`text` with the item at `span` and one joiner beside it taken out ("milk, eggs and bread" without
    "eggs" -> "milk and bread"; without "bread" -> "milk, eggs")."""
    start, end = span
    before, after = text[:start], text[end:]
    if m := _JOIN_AFTER.match(after):
        if _JOIN_BEFORE.search(before) and re.match(r"\s*and\b", after, re.I):
            before = _JOIN_BEFORE.sub(" and ", before)  # "milk, eggs and bread" - "eggs" -> "milk and bread"
            after = after[m.end():]
            return (before + after).strip()
        return (before + after[m.end():]).strip()
    before = _JOIN_BEFORE.sub("", before)
    return (before + after).strip()
