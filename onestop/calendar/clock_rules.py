"""Due times of items: the regions' clock rules over a working-day calendar.

All results are aware datetimes in Beijing time (+08:00). "End of day" is
23:59:59 of that day (``onestop.core.clock.end_of_day``). A date outside the
calendar's table raises ``CalendarNotCovered``; that is the caller's error to show. The
``*_marked`` variants at the end count weekends only beyond the table instead and say the
result is provisional (暂按双休日计算).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from enum import StrEnum

from onestop.calendar.domain import WorkingCalendar
from onestop.core.clock import BEIJING, end_of_day, to_beijing
from onestop.core.errors import CalendarNotCovered

FUZHOU_MORNING_CUTOFF = time(8, 0, 0)
FUZHOU_NOON = time(12, 0, 0)


class ClockRule(StrEnum):
    """How a region counts an item's time limit (see spec/regions.md, "Clock rules")."""

    STANDARD = "standard"
    FUZHOU = "fuzhou"


def _noon(day: date) -> datetime:
    return datetime.combine(day, FUZHOU_NOON, BEIJING)


def _check_days(working_days: int) -> None:
    if working_days < 0:
        raise ValueError(f"time limit must not be negative, got {working_days} working days")


def due_time(
    calendar: WorkingCalendar, rule: ClockRule, received: datetime, working_days: int
) -> datetime:
    """When an item received at ``received`` with a limit of ``working_days`` is due.

    ``working_days == 0`` (done on the spot) under either rule: the end of the day
    of receipt if it is a working day, else the end of the next working day.
    """
    _check_days(working_days)
    rule = ClockRule(rule)
    local = to_beijing(received)
    day = local.date()
    if working_days == 0:
        return end_of_day(calendar.working_day_on_or_after(day))
    if rule is ClockRule.FUZHOU:
        return _fuzhou_due(calendar, local, working_days)
    return _standard_due(calendar, day, working_days)


def _standard_due(calendar: WorkingCalendar, day: date, working_days: int) -> datetime:
    """Standard rule: the end of the N-th working day after the day of receipt.

    The day of receipt never counts, whether it is a working day or not.
    """
    return end_of_day(calendar.add_working_days(day, working_days))


def _fuzhou_due(calendar: WorkingCalendar, local: datetime, working_days: int) -> datetime:
    """Fuzhou rule, seed 003 （五）时限说明.

    "相关部门如当天上午8点前接收到推送信息，则当日计入时限，如8点至12点之间接收到推送信息，
    则1个工作日时限截止至次日中午12点前。"

    On a working day D: before 08:00:00, D counts as the first working day (due at
    the end of the N-th working day counting D); from 08:00:00 to 12:00:00
    inclusive, due at 12:00:00 of the N-th working day after D. After 12:00:00, or
    on a non-working day, as if received before 08:00 on the next working day W
    (due at the end of the N-th working day counting W).
    """
    day = local.date()
    if calendar.is_working_day(day):
        moment = local.time()
        if moment < FUZHOU_MORNING_CUTOFF:
            return end_of_day(calendar.add_working_days(day, working_days - 1))
        if moment <= FUZHOU_NOON:
            return _noon(calendar.add_working_days(day, working_days))
    next_day = calendar.next_working_day(day)
    return end_of_day(calendar.add_working_days(next_day, working_days - 1))


def shift_working_days(calendar: WorkingCalendar, moment: datetime, k: int) -> datetime:
    """``moment`` moved to the k-th working day after its Beijing date, same time of day.

    ``k == 0`` returns ``moment`` in Beijing time unchanged; ``k < 0`` is a ``ValueError``.
    """
    if k < 0:
        raise ValueError(f"cannot shift by a negative number of working days ({k})")
    local = to_beijing(moment)
    if k == 0:
        return local
    day = calendar.add_working_days(local.date(), k)
    return datetime.combine(day, local.timetz())


def extend_for_pause(
    calendar: WorkingCalendar, due: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """The due time after a supplement pause (补正) from ``paused_at`` to ``resumed_at``.

    The clock stops while the item waits for the applicant: the due time moves
    forward by the working days d with pause date < d <= resume date (Beijing
    dates), keeping its time of day. A pause that ends on the day it began
    changes nothing.
    """
    start = to_beijing(paused_at)
    end = to_beijing(resumed_at)
    if end < start:
        raise ValueError(
            f"pause resumed at {end.isoformat()} before it began at {start.isoformat()}"
        )
    lost = calendar.working_days_between(start.date(), end.date())
    return shift_working_days(calendar, due, lost)


def due_with_pauses(
    calendar: WorkingCalendar,
    rule: ClockRule,
    received: datetime,
    working_days: int,
    pauses: Sequence[tuple[datetime, datetime | None]],
) -> datetime | None:
    """The due time after the given supplement pauses, applied in order.

    Returns ``None`` while the last pause is still open (its resume time is
    ``None``): the clock is stopped. Only the last pause may be open, and a pause
    may not begin before the previous one ended (``ValueError``).
    """
    due = due_time(calendar, rule, received, working_days)
    previous_end: datetime | None = None
    for index, (paused_at, resumed_at) in enumerate(pauses):
        if previous_end is not None and to_beijing(paused_at) < previous_end:
            raise ValueError(f"pause {index + 1} begins before the previous pause ended")
        if resumed_at is None:
            if index != len(pauses) - 1:
                raise ValueError(f"pause {index + 1} is open but is not the last pause")
            return None
        due = extend_for_pause(calendar, due, paused_at, resumed_at)
        previous_end = to_beijing(resumed_at)
    return due


def working_days_left(calendar: WorkingCalendar, due: datetime, now: datetime) -> int:
    """Working days d with now's Beijing date < d <= due's Beijing date (0 if overdue)."""
    return calendar.working_days_between(to_beijing(now).date(), to_beijing(due).date())


# --- beyond the table: provisional due times (暂按双休日计算) -------------------------------
#
# spec/regions.md: "A date beyond the table's last year is an error that staff see, never a
# silent guess." Issue 8, defect 4: "the item still gets a due time computed on weekends
# only, clearly marked provisional (暂按双休日计算) everywhere it is shown, and recomputed
# automatically when an administrator publishes the year". The functions below try the
# table first; only when it does not cover a day they need do they count Monday–Friday as
# working days beyond it, and say so (``provisional``).


def weekends_beyond(calendar: WorkingCalendar) -> WorkingCalendar:
    """The same table, counting only weekends as days off beyond its last year."""
    return calendar.with_assume_weekends(True)


def due_time_marked(
    calendar: WorkingCalendar, rule: ClockRule, received: datetime, working_days: int
) -> tuple[datetime, bool]:
    """``due_time``, and whether it is provisional (the table did not cover it)."""
    try:
        return due_time(calendar, rule, received, working_days), False
    except CalendarNotCovered:
        return due_time(weekends_beyond(calendar), rule, received, working_days), True


def extend_for_pause_marked(
    calendar: WorkingCalendar, due: datetime, paused_at: datetime, resumed_at: datetime
) -> tuple[datetime, bool]:
    """``extend_for_pause``, and whether the result is provisional."""
    try:
        return extend_for_pause(calendar, due, paused_at, resumed_at), False
    except CalendarNotCovered:
        return extend_for_pause(weekends_beyond(calendar), due, paused_at, resumed_at), True


def last_covered_day(calendar: WorkingCalendar) -> date:
    """The last day the table has data for (31 December of its last year)."""
    return date(calendar.last_year, 12, 31)


CALENDAR_WARNING_DAYS = 60


def days_until_table_ends(calendar: WorkingCalendar, today: date) -> int | None:
    """Calendar days from ``today`` to the table's last day (negative once it has passed),
    or None while that is more than ``CALENDAR_WARNING_DAYS`` away (no warning yet)."""
    left = (last_covered_day(calendar) - today).days
    return left if left <= CALENDAR_WARNING_DAYS else None
