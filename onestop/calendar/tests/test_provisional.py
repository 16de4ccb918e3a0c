"""Due times beyond the table: weekends only, and said to be provisional (issue 8, defect 4)."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop.calendar.clock_rules import (
    ClockRule,
    days_until_table_ends,
    due_time,
    due_time_marked,
    extend_for_pause_marked,
)
from onestop.calendar.domain import load_default_calendar
from onestop.core.clock import parse_time
from onestop.core.errors import CalendarNotCovered

TABLE = load_default_calendar()  # 2004..2026


def test_inside_the_table_the_due_time_is_exact():
    received = parse_time("2026-09-30T10:00:00+08:00")
    due, provisional = due_time_marked(TABLE, ClockRule.STANDARD, received, 1)
    assert due == due_time(TABLE, ClockRule.STANDARD, received, 1)
    assert due == parse_time("2026-10-08T23:59:59+08:00")  # National Day 2026 known
    assert not provisional


@pytest.mark.parametrize(
    ("rule", "received", "days", "expected"),
    [
        # Thu 26 Nov 2026 + 30 working days, weekends only beyond 2026: Thu 7 Jan 2027.
        (ClockRule.STANDARD, "2026-11-26T10:00:00+08:00", 30, "2027-01-07T23:59:59+08:00"),
        # Fuzhou, received Thu 31 Dec 2026 at 09:00: noon of the next working day (Fri 1 Jan
        # 2027 counts, as New Year's Day 2027 is not in the table).
        (ClockRule.FUZHOU, "2026-12-31T09:00:00+08:00", 1, "2027-01-01T12:00:00+08:00"),
    ],
)
def test_beyond_the_table_weekends_only_and_marked(rule, received, days, expected):
    with pytest.raises(CalendarNotCovered):
        due_time(TABLE, rule, parse_time(received), days)
    due, provisional = due_time_marked(TABLE, rule, parse_time(received), days)
    assert due == parse_time(expected)
    assert provisional


def test_a_pause_that_moves_a_due_time_beyond_the_table_is_provisional():
    due = parse_time("2026-12-30T23:59:59+08:00")
    moved, provisional = extend_for_pause_marked(
        TABLE, due, parse_time("2026-12-21T10:00:00+08:00"), parse_time("2026-12-23T10:00:00+08:00")
    )
    assert moved == parse_time("2027-01-01T23:59:59+08:00") and provisional
    same, exact = extend_for_pause_marked(
        TABLE, due, parse_time("2026-12-21T10:00:00+08:00"), parse_time("2026-12-21T18:00:00+08:00")
    )
    assert same == due and not exact


@pytest.mark.parametrize(
    ("today", "left"),
    [
        (dt.date(2026, 10, 31), None),  # 61 days before 31 Dec 2026: no warning yet
        (dt.date(2026, 11, 1), 60),
        (dt.date(2026, 12, 31), 0),
        (dt.date(2027, 1, 4), -4),
    ],
)
def test_the_warning_starts_60_days_before_the_table_ends(today, left):
    assert days_until_table_ends(TABLE, today) == left
