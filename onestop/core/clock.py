"""Beijing time. Every time the cores compare or print is an aware datetime in +08:00."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 time; a time without offset is taken as Beijing time.

    A bare date means 00:00 Beijing time on that day. Raises ``ValueError`` for
    anything else, including impossible dates such as 2026-02-30.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty time")
    if _DATE_ONLY.match(text):
        return datetime.combine(date.fromisoformat(text), time(0), BEIJING)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(BEIJING)


def to_beijing(moment: datetime) -> datetime:
    """The same instant in Beijing time (a naive datetime is taken as Beijing time)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=BEIJING)
    return moment.astimezone(BEIJING)


def end_of_day(day: date) -> datetime:
    """23:59:59 Beijing time on ``day``: the "end of day" of the time-limit rules."""
    return datetime.combine(day, time(23, 59, 59), BEIJING)


def format_time(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset, to the second."""
    return to_beijing(moment).replace(microsecond=0).isoformat()
