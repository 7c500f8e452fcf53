"""What a forget request names, by the memory reader: the memories to forget, a list item to take out of
one, or a question back when the request could mean several items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from memory_store import Fact, MemoryStore

from .lists import named_items
from .reading import Reader
from .settings import AssistantConfig


@dataclass(frozen=True)
class Named:
    """What a forget request names among the user's memories."""

    forget: tuple[Fact, ...] = ()  # memories to forget whole
    item_of: Fact | None = None  # a list memory to take one item out of ...
    item: tuple[int, int] | None = None  # ... the item's characters in it
    unclear: tuple[str, ...] = ()  # several items the request could mean: ask which


def named_by(store: MemoryStore, reader: Reader, config: AssistantConfig, user: str, request: str,
             now: datetime | None) -> Named:
    """Read a forget request against its nearest memories (one store read). The memory
    the reader chooses goes, and every other it finds, read alone, surely named (`forget_sure`): "everything
    about my old flatmate" names several. A chosen list whose one item the request says loses that item
    only ("take the tent off the list"); one whose several items it says is not touched (`unclear`)."""
    said = [request, *([first] if (first := request.split(",")[0].strip()) != request and first else [])]
    vectors, asking = store.embed_words(said)  # the request embedded once: searched with, and read
    hits = store.search(request, k=config.forget_candidates, user=user, now=now, vector=vectors[0])  # words and meaning
    if not hits:
        return Named()
    _, memories = store.embed_words([h.fact.text for h in hits])
    for asked in asking:  # the request, then its first clause ("the flight number, its in the app")
        reading = reader.read(asked, memories)
        if reading.chosen is not None:
            break
    else:
        return Named()
    chosen = hits[reading.chosen].fact
    items = named_items(chosen.text, request)
    if len(items) == 1:
        return Named(item_of=chosen, item=items[0])
    if len(items) > 1:
        return Named(unclear=tuple(chosen.text[a:b] for a, b in items))
    alone = [i for i in range(len(hits)) if i != reading.chosen
             and reader.read(asked, [memories[i]], config.forget_sure).chosen is not None]
    return Named(forget=(chosen, *(hits[i].fact for i in alone)))
