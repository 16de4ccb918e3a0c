"""The hand-over calendar of the BMC paper parts (副页 / 上户联), pure: no Django.

A batch covers one period (a quarter or a month) of one hospital's certificates for one
police station. It is due on a day of the period's last month (Qinbei: the 30th of the
quarter's last month), and the hospital's staff are reminded a number of working days
before. A certificate belongs to the period it was issued in; one issued after its
period's batch was sent goes to the next period whose batch is still open (ADR 0030).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

PeriodKind = Literal["quarterly", "monthly"]


class WorkingDays(Protocol):
    def is_working_day(self, day: date) -> bool: ...


@dataclass(frozen=True, order=True)
class Period:
    """One period: ``2026Q4`` or ``2026-11`` (the code sorts in time order per kind)."""

    kind: PeriodKind
    year: int
    number: int  # the quarter (1–4) or the month (1–12)

    @property
    def code(self) -> str:
        if self.kind == "quarterly":
            return f"{self.year}Q{self.number}"
        return f"{self.year}-{self.number:02d}"

    @property
    def first_month(self) -> int:
        return (self.number - 1) * 3 + 1 if self.kind == "quarterly" else self.number

    @property
    def last_month(self) -> int:
        return self.number * 3 if self.kind == "quarterly" else self.number

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.last_month, _month_days(self.year, self.last_month))

    def label(self) -> str:
        """The period as people write it (2026年第四季度, 2026年11月)."""
        if self.kind == "quarterly":
            return f"{self.year}年第{'一二三四'[self.number - 1]}季度"
        return f"{self.year}年{self.number}月"

    def next(self) -> Period:
        last = 4 if self.kind == "quarterly" else 12
        if self.number == last:
            return Period(self.kind, self.year + 1, 1)
        return Period(self.kind, self.year, self.number + 1)


def _month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def period_of(day: date, kind: PeriodKind) -> Period:
    """The period ``day`` falls in."""
    if kind == "quarterly":
        return Period(kind, day.year, (day.month - 1) // 3 + 1)
    return Period(kind, day.year, day.month)


def parse_period(code: str, kind: PeriodKind) -> Period:
    """``2026Q4`` / ``2026-11`` back to a period; ValueError if it is not one of ``kind``."""
    if kind == "quarterly":
        year, sep, quarter = code.partition("Q")
        if sep and year.isdigit() and quarter in {"1", "2", "3", "4"}:
            return Period(kind, int(year), int(quarter))
    else:
        year, sep, month = code.partition("-")
        if sep and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
            return Period(kind, int(year), int(month))
    raise ValueError(f"not a {kind} period: {code!r}")


def due_on(period: Period, day: int | Literal["last"]) -> date:
    """The due day in the period's last month; a day the month lacks is its last day."""
    days = _month_days(period.year, period.last_month)
    return date(period.year, period.last_month, days if day == "last" else min(day, days))


def remind_on(due: date, working_days: int, calendar_: WorkingDays) -> date:
    """The ``working_days``-th working day before ``due`` (the day the reminder goes out)."""
    if working_days < 1:
        raise ValueError("a reminder comes at least one working day before")
    day = due
    left = working_days
    while left:
        day = date.fromordinal(day.toordinal() - 1)
        if calendar_.is_working_day(day):
            left -= 1
    return day


@dataclass(frozen=True)
class Count:
    """What the station counted against what the hospital sent."""

    sent: int
    received: int

    @property
    def matches(self) -> bool:
        return self.sent == self.received

    def words(self) -> str:
        if self.matches:
            return f"清点无误，共{self.received}份"
        return f"移交{self.sent}份，实收{self.received}份，相差{abs(self.sent - self.received)}份"


DOCUMENT_NAMES: dict[str, str] = {
    "bmc_sub_page": "《出生医学证明》副页",
    "bmc_household_copy": "《出生医学证明》上户联",
    "ethnicity_confirmation_form": "民族成份确认申请书",
}

METHOD_NAMES: dict[str, str] = {"in_person": "当面移交", "post": "邮政快递寄送"}
