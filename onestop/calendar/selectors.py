"""The working calendar in force: the shipped table plus published years from the database."""

from __future__ import annotations

import threading
from datetime import date, datetime

from onestop.calendar import domain
from onestop.calendar.clock_rules import days_until_table_ends, last_covered_day
from onestop.calendar.models import CalendarYear, SpecialDay
from onestop.core.clock import to_beijing
from onestop.core.written import written
from onestop.reference.selectors import reference_stamp

_lock = threading.Lock()
_cached: tuple[object, domain.WorkingCalendar] | None = None


def current_calendar() -> domain.WorkingCalendar:
    """The calendar in force: rebuilt only when the database's change stamp moved (the
    reference data's, which triggers on the calendar tables change too: migration 0002),
    so the check is the stamp's one statement, shared with the reference data and read
    at most once per request (issue 10 part 2: the published years were read on every
    call, up to twice per API call). A change by any process, a raw ``UPDATE`` included,
    is seen by the next request. Without the stamp row (a database without the triggers,
    a test's flush) the years are read on every call, as before."""
    global _cached
    token = reference_stamp()[0]
    if token is None:
        return _build()
    with _lock:
        if _cached is not None and _cached[0] == token:
            return _cached[1]
    calendar = _build()
    with _lock:
        _cached = (token, calendar)
    return calendar


def _build() -> domain.WorkingCalendar:
    calendar = domain.load_default_calendar()
    years = list(CalendarYear.objects.filter(published=True).order_by("year"))
    for entry in years:
        if calendar.first_year <= entry.year <= calendar.last_year:
            continue  # the shipped table already has it
        days = [
            domain.SpecialDay(date=d.date, kind=d.kind, name=d.name)  # type: ignore[arg-type]
            for d in SpecialDay.objects.filter(year=entry).order_by("date")
        ]
        try:
            calendar = calendar.with_year(entry.year, days)
        except ValueError:
            break  # a gap in the years: stop at the last contiguous one
    return calendar


def _written(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def calendar_end_warning(now: datetime) -> str | None:
    """What administrators and supervisors are told from 60 days before the table runs out
    (issue 8, defect 4), or None before then. Beyond the table, due times are counted on
    weekends only (暂按双休日计算) until the next year is published."""
    calendar = current_calendar()
    left = days_until_table_ends(calendar, to_beijing(now).date())
    if left is None:
        return None
    end = _written(last_covered_day(calendar))
    following = calendar.last_year + 1
    if left >= 0:
        return (
            f"工作日历的节假日安排只录入到{end}（还有{left}天）。请管理员尽快录入并发布"
            f"{following}年的节假日和调休安排；在此之前，超出日历的办理期限暂按双休日计算。"
        )
    return (
        f"工作日历的节假日安排只录入到{end}，已过去{-left}天。超出日历的办理期限正暂按双休日"
        f"计算，请管理员尽快录入并发布{following}年的节假日和调休安排。"
    )


PROVISIONAL_MARK = "暂按双休日计算"


def due_text(due: datetime | None, provisional: bool) -> str:
    """A due time as people read it, with the provisional mark ("—" when there is none)."""
    if due is None:
        return "—"
    mark = f"（{PROVISIONAL_MARK}）" if provisional else ""
    return f"{written(due)}{mark}"  # 2027年1月7日 23:59, as people write it
