"""The working-day calendar: weekends, statutory holidays and make-up working days (调休).

A calendar covers a contiguous span of years. Inside the span a day is a working
day when it is a make-up working day, or a Monday–Friday that is not a statutory
day off. Outside the span it raises ``CalendarNotCovered``, unless the calendar
was built with ``assume_weekends=True`` (then Monday–Friday work, weekends don't).
Pure Python; imports no Django and no chinese_calendar.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal, cast

from onestop.core.errors import CalendarNotCovered

DayKind = Literal["holiday", "workday"]
DAY_KINDS: tuple[DayKind, ...] = ("holiday", "workday")

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_TABLE = DATA_DIR / "cn_workdays.json"

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class SpecialDay:
    """A day the State Council notice sets apart from the weekly rhythm.

    ``holiday``: a statutory day off (it may fall on a weekend).
    ``workday``: a make-up working day (调休), always on a Saturday or Sunday.
    ``name`` is the festival the arrangement belongs to, e.g. "国庆节".
    """

    date: dt.date
    kind: DayKind
    name: str = ""

    def __post_init__(self) -> None:
        if type(self.date) is not dt.date:
            raise ValueError(f"special day {self.date!r}: date must be a datetime.date")
        if self.kind not in DAY_KINDS:
            raise ValueError(
                f"special day {self.date.isoformat()}: kind must be 'holiday' or 'workday',"
                f" not {self.kind!r}"
            )
        if self.kind == "workday" and self.date.weekday() < 5:
            raise ValueError(
                f"special day {self.date.isoformat()}: a make-up workday must fall on a"
                f" Saturday or Sunday, but it is a {self.date.strftime('%A')}"
            )
        if not isinstance(self.name, str):
            raise ValueError(f"special day {self.date.isoformat()}: name must be a string")


def special_day_from_row(row: Mapping[str, object]) -> SpecialDay:
    """A ``SpecialDay`` from a mapping with ``date`` (ISO text or date), ``kind`` and ``name``."""
    raw_date = row.get("date")
    if isinstance(raw_date, dt.datetime):
        raise ValueError(f"calendar row {dict(row)!r}: date must be a date, not a datetime")
    if isinstance(raw_date, dt.date):
        day = raw_date
    elif isinstance(raw_date, str):
        try:
            day = dt.date.fromisoformat(raw_date.strip())
        except ValueError:
            raise ValueError(f"calendar row {dict(row)!r}: bad date {raw_date!r}") from None
    else:
        raise ValueError(f"calendar row {dict(row)!r}: missing or bad date")
    kind = row.get("kind")
    if kind not in DAY_KINDS:
        raise ValueError(f"calendar row {dict(row)!r}: kind must be 'holiday' or 'workday'")
    name = row.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ValueError(f"calendar row {dict(row)!r}: name must be a string")
    return SpecialDay(day, kind, name)


@dataclass(frozen=True, init=False)
class WorkingCalendar:
    """An immutable working-day calendar covering ``first_year``..``last_year``."""

    first_year: int
    last_year: int
    special_days: tuple[SpecialDay, ...] = field(repr=False)
    assume_weekends: bool
    _holidays: frozenset[dt.date] = field(repr=False, compare=False)
    _workdays: frozenset[dt.date] = field(repr=False, compare=False)
    # Sorted adjustments to the plain Monday–Friday count, for working_days_between.
    _weekday_holidays: tuple[dt.date, ...] = field(repr=False, compare=False)
    _weekend_workdays: tuple[dt.date, ...] = field(repr=False, compare=False)
    # The same table with ``assume_weekends`` flipped, built once (issue 10: the officer
    # queue asked for it per row, rebuilding the whole table 50 times a page). An instance
    # attribute, not a dataclass field: asdict(), repr and == never follow it.
    _flipped: ClassVar[list[WorkingCalendar]]

    def __init__(
        self,
        first_year: int,
        last_year: int,
        special_days: Iterable[SpecialDay] = (),
        *,
        assume_weekends: bool = False,
    ) -> None:
        if not 1 <= first_year <= last_year <= 9998:
            raise ValueError(f"bad calendar span {first_year}..{last_year}")
        given = tuple(special_days)
        for special in given:
            if not isinstance(special, SpecialDay):
                raise ValueError(f"not a SpecialDay: {special!r}")
        days = tuple(sorted(given, key=lambda special: special.date))
        seen: set[dt.date] = set()
        for special in days:
            if special.date in seen:
                raise ValueError(f"calendar date {special.date.isoformat()} appears more than once")
            seen.add(special.date)
            if not first_year <= special.date.year <= last_year:
                raise ValueError(
                    f"calendar date {special.date.isoformat()} lies outside the covered years"
                    f" {first_year}..{last_year}"
                )
        holidays = [s.date for s in days if s.kind == "holiday"]
        workdays = [s.date for s in days if s.kind == "workday"]
        setattr_ = object.__setattr__
        setattr_(self, "first_year", first_year)
        setattr_(self, "last_year", last_year)
        setattr_(self, "special_days", days)
        setattr_(self, "assume_weekends", assume_weekends)
        setattr_(self, "_holidays", frozenset(holidays))
        setattr_(self, "_workdays", frozenset(workdays))
        setattr_(self, "_weekday_holidays", tuple(d for d in holidays if d.weekday() < 5))
        setattr_(self, "_weekend_workdays", tuple(workdays))
        setattr_(self, "_flipped", [])

    # --- construction -------------------------------------------------------------

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, object]],
        *,
        first_year: int | None = None,
        last_year: int | None = None,
        assume_weekends: bool = False,
    ) -> WorkingCalendar:
        """A calendar from rows like ``{"date": "2026-01-01", "kind": "holiday", "name": "元旦"}``.

        The span defaults to the years the rows' dates fall in.
        """
        days = [special_day_from_row(row) for row in rows]
        years = [special.date.year for special in days]
        if first_year is None or last_year is None:
            if not years:
                raise ValueError("no calendar rows and no span of years given")
            first_year = min(years) if first_year is None else first_year
            last_year = max(years) if last_year is None else last_year
        return cls(first_year, last_year, days, assume_weekends=assume_weekends)

    def with_year(self, year: int, special_days: Iterable[SpecialDay]) -> WorkingCalendar:
        """A new calendar that also covers ``year`` (the year after the span, or the one before).

        The days must fall in ``year`` or in the neighbouring covered year: the State
        Council notice for year Y may move days in late December of Y-1 (e.g.
        2011-12-31 was a make-up day for New Year 2012). No date may appear twice.
        """
        if year == self.last_year + 1:
            first, last, neighbour = self.first_year, year, year - 1
        elif year == self.first_year - 1:
            first, last, neighbour = year, self.last_year, year + 1
        else:
            raise ValueError(
                f"can only add the year next to the covered years"
                f" {self.first_year}..{self.last_year}, not {year}"
            )
        added = tuple(special_days)
        for special in added:
            if special.date.year not in (year, neighbour):
                raise ValueError(
                    f"calendar date {special.date.isoformat()} does not belong to year {year}"
                )
        return WorkingCalendar(
            first, last, self.special_days + added, assume_weekends=self.assume_weekends
        )

    def with_assume_weekends(self, assume_weekends: bool) -> WorkingCalendar:
        """The same table with the ``assume_weekends`` option set as given."""
        if assume_weekends == self.assume_weekends:
            return self
        if not self._flipped:  # immutable, so built once and kept (a race builds it twice)
            other = WorkingCalendar(
                self.first_year, self.last_year, self.special_days, assume_weekends=assume_weekends
            )
            object.__setattr__(other, "_flipped", [self])
            self._flipped.append(other)
        return self._flipped[0]

    # --- queries -------------------------------------------------------------------

    def covers(self, day: dt.date) -> bool:
        """Whether the table has data for ``day``'s year (``assume_weekends`` aside)."""
        return self.first_year <= day.year <= self.last_year

    def _check(self, day: dt.date) -> None:
        if not self.assume_weekends and not self.first_year <= day.year <= self.last_year:
            raise CalendarNotCovered(day.year, self.first_year, self.last_year)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether people work on ``day``; raises ``CalendarNotCovered`` outside the table."""
        self._check(day)
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5

    def special_day(self, day: dt.date) -> SpecialDay | None:
        """The table entry for ``day``, if there is one."""
        index = bisect.bisect_left(self.special_days, day, key=lambda special: special.date)
        if index < len(self.special_days) and self.special_days[index].date == day:
            return self.special_days[index]
        return None

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` itself if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day strictly after ``day``; ``n == 0`` means on or after."""
        if n < 0:
            raise ValueError(f"number of working days must not be negative, got {n}")
        if n == 0:
            return self.working_day_on_or_after(day)
        while n > 0:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days ``d`` with ``start < d <= end`` (0 when ``end <= start``)."""
        if end <= start:
            return 0
        first = start + _ONE_DAY
        self._check(first)
        self._check(end)
        count = _weekdays_through(end) - _weekdays_through(start)
        count -= _count_in(self._weekday_holidays, start, end)
        count += _count_in(self._weekend_workdays, start, end)
        return count


def _weekdays_through(day: dt.date) -> int:
    """The number of Monday–Fridays from a fixed Monday up to and including ``day``."""
    ordinal = day.toordinal()  # 0001-01-01 (ordinal 1) is a Monday
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest + 1, 5)


def _count_in(days: tuple[dt.date, ...], start: dt.date, end: dt.date) -> int:
    """How many of the sorted ``days`` lie in ``start < d <= end``."""
    return bisect.bisect_right(days, end) - bisect.bisect_right(days, start)


def calendar_from_document(
    document: Mapping[str, object], *, assume_weekends: bool = False
) -> WorkingCalendar:
    """A calendar from the JSON document ``scripts/gen_calendar.py`` writes."""
    first_year = document.get("first_year")
    last_year = document.get("last_year")
    days = document.get("days")
    if not isinstance(first_year, int) or not isinstance(last_year, int):
        raise ValueError("calendar document: first_year and last_year must be integers")
    if not isinstance(days, list):
        raise ValueError("calendar document: days must be a list")
    rows: list[Mapping[str, object]] = []
    for row in days:
        if not isinstance(row, dict):
            raise ValueError(f"calendar document: day entry {row!r} is not an object")
        rows.append(cast(Mapping[str, object], row))
    return WorkingCalendar.from_rows(
        rows, first_year=first_year, last_year=last_year, assume_weekends=assume_weekends
    )


def load_calendar_file(path: Path, *, assume_weekends: bool = False) -> WorkingCalendar:
    """A calendar from a JSON file in the ``cn_workdays.json`` format."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: calendar document must be a JSON object")
    return calendar_from_document(
        cast(Mapping[str, object], document), assume_weekends=assume_weekends
    )


@lru_cache(maxsize=2)
def load_default_calendar(assume_weekends: bool = False) -> WorkingCalendar:
    """The packaged State Council table (``data/cn_workdays.json``), cached per flag."""
    return load_calendar_file(DEFAULT_TABLE, assume_weekends=assume_weekends)
