"""List items inside a memory: "Packing list: batteries, a torch and the tent." holds three, and one can
be taken off ("take the batteries off the list") by editing the memory rather than forgetting all of it.

A memory is cut at its joiners (punctuation and the joining "and" / "&" / "+": the tokenisation of a
list, not a catalogue of things); which item a request names is the one whose last word it says.
"""

from __future__ import annotations

import re

# The joiners of a list, kept when the text is cut at them: ", " "; " ": " " and " " & " " + ", a final stop.
_PARTS = re.compile(r"(\s*(?:[,;:&+]|\band\b|[.!]+\s*$)\s*)", re.I)
_JOINERS = (",", ";", "and", "&", "+")  # the joiners that stand between two items (":" opens a list)


def _parts(text: str) -> list[str]:
    """`text` cut into pieces and joiners, alternating: [piece, joiner, piece, ...]; "".join() gives it back."""
    return _PARTS.split(text)


def _is_list(parts: list[str], i: int) -> bool:
    """Whether piece `i` is an item: a comma, semicolon or joining word stands beside it (a colon or the
    start may open the list)."""
    joiners = [parts[j].strip().lower() for j in (i - 1, i + 1) if 0 <= j < len(parts)]
    return any(j in _JOINERS for j in joiners) and bool(parts[i].strip())


def item_span(text: str, item: str) -> tuple[int, int] | None:
    """Where `item` stands in `text` as one whole item of a list, else None ("sauce" is no item of
    "hot sauce, sauce pans and tape"; "tent" is the second item of "tent pegs, tent and stove")."""
    item = item.strip().lower()
    for (start, end), piece in _items(text):
        if piece.lower() == item:
            return start, end
        if start == _first_item(text) and item and piece.lower().endswith(" " + item):  # "need milk": "milk"
            return end - len(item), end
    return None


def _first_item(text: str) -> int | None:
    items = _items(text)
    return items[0][0][0] if items else None


def named_items(text: str, request: str) -> list[tuple[int, int]]:
    """The items of the list in `text` whose last word the request says ("take the tent off the list" and
    "..., a torch and the tent." -> [the tent]); none when `text` lists nothing."""
    said = {w.lower() for w in re.findall(r"[\w$£€'-]+", request)}
    return [span for span, piece in _items(text) if piece.split()[-1].lower().strip("'") in said]


def item_count(text: str) -> int:
    """How many items the list in `text` has (0 when it lists nothing)."""
    return len(_items(text))


def _items(text: str) -> list[tuple[tuple[int, int], str]]:
    """Every item of the list in `text`, with its characters (the words before a list's first item, up to
    a verb like "need", stay with it: "need milk" is the item, which the request's last word still names)."""
    parts, out, at = _parts(text), [], 0
    for i, part in enumerate(parts):
        if i % 2 == 0 and _is_list(parts, i):
            start = at + len(part) - len(part.lstrip())
            out.append(((start, start + len(part.strip())), part.strip()))
        at += len(part)
    return out


def without_item(text: str, span: tuple[int, int]) -> str:
    """`text` with the item at `span` and one joiner beside it taken out ("milk, eggs and bread" without
    "eggs" -> "milk and bread"; without "bread" -> "milk and eggs")."""
    parts, at, index, prefix = _parts(text), 0, None, ""
    for i, part in enumerate(parts):
        if i % 2 == 0 and at <= span[0] < at + len(part):
            index, prefix = i, text[at:span[0]].strip()  # "need " before the first item stays
            break
        at += len(part)
    if index is None:
        return text
    after = parts[index + 1].strip().lower() if index + 1 < len(parts) else ""
    if after in _JOINERS:  # drop the item and the joiner after it, keeping the one before
        keep_and = after == "and" and index > 0 and parts[index - 1].strip() == ","
        del parts[index:index + 2]
        if keep_and:
            parts[index - 1] = " and "  # "milk, eggs and bread" - "eggs" -> "milk and bread"
    else:  # the last item: drop it and the joiner before it; "a, b and c" - "c" -> "a and b"
        joiner = parts[index - 1].strip().lower() if index > 0 else ""
        del parts[index - 1:index + 1]
        if joiner == "and" and "," in [p.strip() for p in parts[1::2]]:
            last = max(j for j in range(1, len(parts), 2) if parts[j].strip() == ",")
            parts[last] = " and "
    if prefix and index < len(parts):
        parts[index] = f"{prefix} {parts[index].lstrip()}"
    return "".join(parts).strip()
