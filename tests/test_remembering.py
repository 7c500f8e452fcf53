"""The commit stage of a telling turn (`assistant/remembering.py`): what a statement stores, on a real
SQLite store, without the update models (no memory is retired here)."""

from __future__ import annotations

from datetime import datetime, timezone

from assistant.remembering import Judges, Told, remember
from assistant.settings import AssistantConfig

NOW = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
TOLD = Told(user="ana", session=1, turn=1)


def _stored(store, statement: str, parts: tuple[str, ...] = ()) -> list[str]:
    stored, replaced = remember(store, AssistantConfig(), Judges(), TOLD, statement, NOW, parts=parts)
    assert replaced == []
    return [f.text for f in stored]


def test_a_marked_statement_keeps_what_it_told(store):
    assert _stored(store, "Actually, I moved to Porto.", ("Actually, I moved to Porto",)) == ["I moved to Porto"]
    assert _stored(store, "Actually, I moved to Porto.", ("Actually", "I moved to Porto")) == ["I moved to Porto"]
    # the marker comes off once: "now" of "now that Sam left" is what was told, not a second marker
    assert _stored(store, "Actually, now that Sam left, I run the team.") == ["Now that Sam left, I run the team."]
    assert _stored(store, "Actually, now that Tom is back, he runs the shop.",
                   ("now that Tom is back, he runs the shop",)) == ["now that Tom is back, he runs the shop"]


def test_a_statement_that_is_only_its_marker_stores_nothing_and_raises_nothing(store):
    assert _stored(store, "Wait.", ("Wait",)) == []
    assert store.facts("ana") == []
