"""A memory of a dated event stays at least until the day has passed (memory_store/dates.py)."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import T0
from memory_store.dates import event_day


def test_the_day_an_event_is_on_is_read_in_its_common_written_forms():
    told = T0.replace(month=3, day=10)
    assert event_day("Mum's birthday is on 14 March.", told) == date(2026, 3, 14)
    assert event_day("Dentist appointment on March 3rd at 9:30", told) == date(2027, 3, 3)  # passed: next year's
    assert event_day("The exam is 2026-06-01.", told) == date(2026, 6, 1)
    assert event_day("The party is on the 20th of December", told) == date(2026, 12, 20)
    assert event_day("I was born on 3 May 1990.", told) is None  # a past day keeps nothing
    assert event_day("My sister lives in Lisbon.", told) is None
    assert event_day("We met on 31 June.", told) is None  # no such day


def test_a_dated_memory_does_not_fade_before_its_day_then_fades_as_usual(store):
    event = store.add("Dentist appointment on 1 April.", importance=0.0, now=T0)  # 90 days ahead
    remark = store.add("I had soup today.", importance=0.0, now=T0)
    day = T0 + timedelta(days=90)
    assert event.hold_until is not None and event.hold_until.date() == date(2026, 4, 2)
    assert [f.id for f in store.facts(now=day)] == [event.id]  # the remark faded long ago
    assert store.retention(event, day) == 1.0 and store.search("dentist", k=1, now=day)[0].fact.id == event.id
    assert store.decay(now=day, dry_run=True).dormant[0][0].id == remark.id
    later = day + timedelta(days=30)
    assert store.facts(now=later) == [] and store.explain(event.id, now=later).status == "dormant"
