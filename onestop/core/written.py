"""Dates and times as people write them, in Beijing time: 2026年11月22日 08:20 (Chinese),
22 Nov 2026 08:20 (English). One helper for every page, notice, printed form and PDF a
person reads (issue 9: "with dates as people write them (2026年11月22日 08:20)"); ISO
8601 stays for the machines (API, documents)."""

from __future__ import annotations

import re
from datetime import date, datetime

from onestop.core.clock import parse_time, to_beijing

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def written(value: object, *, language: str = "zh", date_only: bool = False) -> str:
    """A date or time as people write it; ``""`` for nothing, and text that is not a time
    unchanged. A datetime (or an ISO string with a time) is shown in Beijing time to the
    minute; a date (or ``date_only``) without the time."""
    if value is None or value == "":
        return ""
    moment: datetime | None = None
    day: date
    if isinstance(value, datetime):
        moment = to_beijing(value)
        day = moment.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                day = date.fromisoformat(text)
            else:
                moment = parse_time(text)
                day = moment.date()
        except ValueError:
            return value
    else:
        return str(value)
    english = language.lower().startswith("en")
    if english:
        out = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    else:
        out = f"{day.year}年{day.month}月{day.day}日"
    if moment is not None and not date_only:
        out += f" {moment:%H:%M}"
    return out
