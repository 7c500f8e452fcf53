"""The date a fact is about, read from its words: when a remembered event happens (tokenisation level).

"Mum's birthday is on 14 March.", "Dentist appointment on March 3rd at 9:30", "The exam is 2027-01-12":
the day is found by its written form (a day and a month name, either order, an optional year; or an
ISO date). A day without a year is its next occurrence on or after the day the fact was told. This is
tokenisation, not understanding: "tomorrow" or "next Friday" are not read, and a date that is not the
event's ("I was born on 3 May 1990") is read too, which only delays fading (a past year is ignored).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH_STARTS = tuple(name[:3] for name in _MONTHS)
_MONTH = r"(?P<{0}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY = r"(?P<{0}>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<{0}>\d{{4}}))?"
_DATE = re.compile(
    r"\b(?:(?P<iso_y>\d{4})-(?P<iso_m>\d{2})-(?P<iso_d>\d{2})"
    + r"|" + _DAY.format("d1") + r"\s+(?:of\s+)?" + _MONTH.format("m1") + _YEAR.format("y1")
    + r"|" + _MONTH.format("m2") + r"\s+" + _DAY.format("d2") + _YEAR.format("y2") + r")\b",
    re.IGNORECASE,
)


def event_day(text: str, told_at: datetime) -> date | None:
    """The first date the text names that is on or after the day it was told (the next occurrence of a
    day given without a year); None when it names none."""
    if not _may_name_a_date(text):
        return None
    today = told_at.astimezone(timezone.utc).date()
    for m in _DATE.finditer(text):
        day = _read(m, today)
        if day is not None and day >= today:
            return day
    return None


def _may_name_a_date(text: str) -> bool:
    """Every date the pattern reads has a month's name or an ISO dash: a quick look that spares most texts
    the pattern (a bulk add reads every text)."""
    if "-" in text:
        return True
    low = text.lower()
    for month in _MONTH_STARTS:
        if month in low:
            return True
    return False


def hold_until(text: str, told_at: datetime) -> float | None:
    """The end of the event's day (epoch seconds, UTC), before which the fact does not fade; None if none."""
    day = event_day(text, told_at)
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc).timestamp()


def _read(m: re.Match, today: date) -> date | None:
    if m["iso_y"]:
        return _date(int(m["iso_y"]), int(m["iso_m"]), int(m["iso_d"]))
    day, month, year = (m["d1"], m["m1"], m["y1"]) if m["d1"] else (m["d2"], m["m2"], m["y2"])
    number = next(i for i, name in enumerate(_MONTHS, 1) if name.startswith(month.lower()[:3]))
    if year:
        return _date(int(year), number, int(day))
    found = _date(today.year, number, int(day))
    if found is not None and found < today:
        found = _date(today.year + 1, number, int(day))
    return found


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31 June, 29 February of a common year, 2026-13-01
        return None
