"""Time-limit lights (正常 / 即将到期 / 已超期) and how long an item has been overdue, from its
due time, the time now and the working-day calendar. Pure Python (ADR 0012).

Definitions:

- A due time is the last on-time instant: an item due at 23:59:59 ("end of day") is on
  time until that second has passed. The item is **overdue** when ``now > due``.
- **Working time** between two instants is the part of the interval that lies on working
  days (whole calendar days in Beijing time, as the calendar says). One **working day** of
  working time is 24 hours of it: time on weekends and holidays does not count.
- **Warning** (即将到期): not overdue, and less than one working day of working time is
  left until the due second ends: ``working_time(now, due + 1 s) < 1 working day``.
  An item due at the end of working day D turns amber just after D 00:00 (whatever rest
  days come before D); one due at 12:00 of D (Fuzhou) turns amber just after 12:00 of the
  working day before D.
- **Overdue for N working days**: ``working_time(due + 1 s, now) >= N`` working days.
  Escalation levels are reached at ``ESCALATE_AFTER`` working days overdue.

Equivalent thresholds (used to select rows in SQL): an item is in warning exactly when
``now <= due < warning_cutoff(calendar, now)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from onestop.calendar.domain import WorkingCalendar
from onestop.core.clock import BEIJING, to_beijing
from onestop.core.i18n import gettext_noop

ONE_WORKING_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)
_ONE_DAY = timedelta(days=1)

# Working days overdue at which the sweep escalates: level 1 (督办 by the supervisors of the
# item's division), level 2 (the supervisors one level up).
ESCALATE_AFTER: tuple[int, ...] = (1, 3)

# The deadline transitions the sweep records for an item's current due time, one bit each
# in ``CaseItem.deadline_marks`` (the ledger itself is ``DeadlineEvent``; the bits let the
# sweep skip what is recorded without reading the ledger for every overdue item). Keys are
# ``DeadlineEvent.Kind`` values.
DEADLINE_MARKS: Mapping[str, int] = MappingProxyType(
    {"warning": 1, "overdue": 2, "escalated_1": 4, "escalated_2": 8}
)
# Once the last escalation is recorded, nothing more happens to that due time.
LAST_MARK = DEADLINE_MARKS["escalated_2"]


class Urgency(StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    OVERDUE = "overdue"


# The lights' names, one source for the model's choices (`onestop.workflow.models`).
URGENCY_LABELS: Mapping[Urgency, str] = MappingProxyType(
    {
        Urgency.NORMAL: gettext_noop("正常"),
        Urgency.WARNING: gettext_noop("即将到期"),
        Urgency.OVERDUE: gettext_noop("已超期"),
    }
)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


def working_time_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """The part of ``[start, end)`` that lies on working days (zero when ``end <= start``)."""
    s, e = to_beijing(start), to_beijing(end)
    if e <= s:
        return timedelta(0)
    first, last = s.date(), e.date()
    if first == last:
        return e - s if calendar.is_working_day(first) else timedelta(0)
    total = timedelta(0)
    if calendar.is_working_day(first):
        total += _midnight(first + _ONE_DAY) - s
    if calendar.is_working_day(last):
        total += e - _midnight(last)
    # Whole days strictly between the first and the last day.
    total += calendar.working_days_between(first, last - _ONE_DAY) * ONE_WORKING_DAY
    return total


def one_working_day_after(calendar: WorkingCalendar, now: datetime) -> datetime:
    """The earliest instant with one working day of working time after ``now``.

    On a working day: the same time of day on the next working day. On a rest day: the end
    of the next working day (its following midnight).
    """
    local = to_beijing(now)
    day = local.date()
    if calendar.is_working_day(day):
        return datetime.combine(calendar.next_working_day(day), local.timetz())
    return _midnight(calendar.next_working_day(day) + _ONE_DAY)


def warning_cutoff(calendar: WorkingCalendar, now: datetime) -> datetime:
    """Items not overdue and due before this instant are in warning; later ones are normal."""
    return one_working_day_after(calendar, now) - ONE_SECOND


def classify(calendar: WorkingCalendar, due: datetime, now: datetime) -> Urgency:
    """The light of an open item due at ``due``, seen at ``now``."""
    if now > due:
        return Urgency.OVERDUE
    if due < warning_cutoff(calendar, now):
        return Urgency.WARNING
    return Urgency.NORMAL


def overdue_for(calendar: WorkingCalendar, due: datetime, now: datetime) -> timedelta:
    """Working time since the due second ended (zero while not overdue)."""
    return working_time_between(calendar, due + ONE_SECOND, now)


def escalation_level(
    calendar: WorkingCalendar,
    due: datetime,
    now: datetime,
    thresholds: tuple[int, ...] = ESCALATE_AFTER,
) -> int:
    """How many of ``thresholds`` (working days overdue) the item has reached (0: none)."""
    if now <= due:
        return 0
    late = overdue_for(calendar, due, now)
    return sum(1 for days in thresholds if late >= days * ONE_WORKING_DAY)


def working_days(delta: timedelta) -> float:
    """A working time as a number of working days."""
    return delta / ONE_WORKING_DAY
