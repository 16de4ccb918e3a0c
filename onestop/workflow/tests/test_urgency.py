"""Time-limit lights over the working-day calendar (pure; no database).

National Day 2026: Thu 1 – Wed 7 October are holidays, Thu 8 and Fri 9 are working days,
Saturday 10 October is a make-up working day (调休), Sunday 11 is a rest day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.calendar.clock_rules import ClockRule, due_time
from onestop.calendar.domain import load_default_calendar
from onestop.core.clock import BEIJING, parse_time
from onestop.workflow.domain.urgency import (
    ONE_SECOND,
    ONE_WORKING_DAY,
    Urgency,
    classify,
    escalation_level,
    overdue_for,
    warning_cutoff,
    working_time_between,
)

CAL = load_default_calendar()
N, W, X = Urgency.NORMAL, Urgency.WARNING, Urgency.OVERDUE  # X: overdue


def t(text: str) -> datetime:
    return parse_time(text)


def due(rule: str, received: str, days: int) -> datetime:
    return due_time(CAL, ClockRule(rule), t(received), days)


# Items received just before the holiday, and their due times under the clock rules.
DUES = {
    # standard, 1 working day, received Tue 29 Sep → end of Wed 30 Sep
    "A": due("standard", "2026-09-29T10:00", 1),
    # standard, 1 working day, received Wed 30 Sep → end of Thu 8 Oct (after the holiday)
    "B": due("standard", "2026-09-30T10:00", 1),
    # standard, 2 working days, received Wed 30 Sep → end of Fri 9 Oct
    "C": due("standard", "2026-09-30T10:00", 2),
    # Fuzhou, 1 working day, received 09:00 on Wed 30 Sep → 12:00 of Thu 8 Oct
    "E": due("fuzhou", "2026-09-30T09:00", 1),
    # Fuzhou, received after noon on Wed 30 Sep → as if before 08:00 on Thu 8 Oct → its end
    "F": due("fuzhou", "2026-09-30T14:00", 1),
    # standard, 1 working day, received Fri 9 Oct → end of Sat 10 Oct (make-up working day)
    "G": due("standard", "2026-10-09T10:00", 1),
}


def test_the_due_times_cross_the_holiday_week():
    assert DUES["A"] == t("2026-09-30T23:59:59")
    assert DUES["B"] == t("2026-10-08T23:59:59")
    assert DUES["C"] == t("2026-10-09T23:59:59")
    assert DUES["E"] == t("2026-10-08T12:00:00")
    assert DUES["F"] == t("2026-10-08T23:59:59")
    assert DUES["G"] == t("2026-10-10T23:59:59")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Wed 30 Sep, morning: A is due tonight; E (noon of 8 Oct) still has 26 h of work.
        ("2026-09-30T10:00", {"A": W, "B": N, "C": N, "E": N, "F": N}),
        # after noon on 30 Sep less than a working day is left for E (12 h today + 12 h)
        ("2026-09-30T12:30", {"A": W, "B": N, "C": N, "E": W, "F": N}),
        ("2026-09-30T23:59:59", {"A": W, "B": N, "E": W}),
        # the holiday: A is overdue; B has all of 8 Oct left (exactly one working day)
        ("2026-10-01T00:00:00", {"A": X, "B": N, "C": N, "E": W, "F": N}),
        ("2026-10-05T12:00", {"A": X, "B": N, "C": N, "E": W, "F": N}),
        ("2026-10-07T23:59:59", {"A": X, "B": N, "C": N, "E": W, "F": N}),
        # Thu 8 Oct, the first working day after the holiday
        ("2026-10-08T00:00:00", {"B": N, "F": N}),  # still a whole working day
        ("2026-10-08T00:00:01", {"B": W, "F": W, "C": N}),
        ("2026-10-08T09:00", {"A": X, "B": W, "C": N, "E": W, "F": W}),
        ("2026-10-08T12:00:00", {"E": W}),  # the due second itself is on time
        ("2026-10-08T12:00:01", {"E": X, "B": W}),
        # Fri 9 Oct
        ("2026-10-09T00:00:01", {"B": X, "C": W, "F": X}),
        ("2026-10-09T10:00", {"B": X, "C": W, "G": N}),
        ("2026-10-09T23:00", {"C": W, "G": N}),
        # Sat 10 Oct is a working day: G is due at its end
        ("2026-10-10T00:00:01", {"C": X, "G": W}),
        ("2026-10-10T18:00", {"G": W}),
        # Sun 11 Oct
        ("2026-10-11T09:00", {"G": X}),
    ],
)
def test_lights_across_national_day(now: str, expected: dict[str, Urgency]):
    got = {key: classify(CAL, DUES[key], t(now)) for key in expected}
    assert got == expected


def test_working_time_skips_the_holiday():
    assert working_time_between(CAL, t("2026-09-30T10:00"), t("2026-10-08T10:00")) == timedelta(
        hours=24
    )
    assert working_time_between(CAL, t("2026-10-01T00:00"), t("2026-10-08T00:00")) == timedelta(0)
    # Sat 10 Oct counts (make-up day), Sun 11 Oct does not
    assert working_time_between(CAL, t("2026-10-10T12:00"), t("2026-10-12T12:00")) == timedelta(
        hours=24
    )
    assert working_time_between(CAL, t("2026-10-08T10:00"), t("2026-10-08T09:00")) == timedelta(0)


def test_escalation_levels_count_working_days_overdue():
    a = DUES["A"]  # overdue from 1 Oct 00:00; the holiday does not count
    assert escalation_level(CAL, a, t("2026-09-30T23:59:59")) == 0
    assert escalation_level(CAL, a, t("2026-10-07T23:59:59")) == 0
    assert overdue_for(CAL, a, t("2026-10-07T23:59:59")) == timedelta(0)
    assert escalation_level(CAL, a, t("2026-10-08T23:59:59")) == 0
    assert escalation_level(CAL, a, t("2026-10-09T00:00:00")) == 1  # all of 8 Oct
    assert escalation_level(CAL, a, t("2026-10-10T23:00:00")) == 1
    assert escalation_level(CAL, a, t("2026-10-11T00:00:00")) == 2  # 8, 9 and Sat 10 Oct
    assert escalation_level(CAL, a, t("2026-10-11T20:00:00")) == 2
    g = DUES["G"]  # due at the end of Sat 10 Oct; Sunday is not a working day
    assert escalation_level(CAL, g, t("2026-10-12T00:00:00")) == 0
    assert escalation_level(CAL, g, t("2026-10-13T00:00:00")) == 1


def test_the_cutoff_on_a_working_day_and_on_a_rest_day():
    assert warning_cutoff(CAL, t("2026-09-30T10:00")) == t("2026-10-08T09:59:59")
    assert warning_cutoff(CAL, t("2026-10-03T10:00")) == t("2026-10-08T23:59:59")
    assert warning_cutoff(CAL, t("2026-10-09T15:30")) == t("2026-10-10T15:29:59")


# --- properties over random instants in 2026 -----------------------------------------

START = datetime(2026, 1, 1, tzinfo=BEIJING)
SECONDS_2026 = 364 * 24 * 3600
# Instants leave 45 days of the table: a test adds two spans of up to 20 days each.
instants = st.integers(0, SECONDS_2026 - 45 * 24 * 3600).map(lambda s: START + timedelta(seconds=s))
spans = st.integers(0, 20 * 24 * 3600).map(lambda s: timedelta(seconds=s))
ORDER = {N: 0, W: 1, X: 2}


@settings(max_examples=300, deadline=None)
@given(now=instants, ahead=spans)
def test_classify_is_the_working_time_definition(now: datetime, ahead: timedelta):
    """Warning ⇔ not overdue and less than one working day left up to the end of the due
    second; the SQL cutoff gives the same answer."""
    due_at = now + ahead
    left = working_time_between(CAL, now, due_at + ONE_SECOND)
    expected = W if left < ONE_WORKING_DAY else N
    assert classify(CAL, due_at, now) == expected


@settings(max_examples=300, deadline=None)
@given(due_at=instants, first=spans, second=spans)
def test_lights_never_go_back_as_time_passes(due_at: datetime, first: timedelta, second: timedelta):
    early = due_at - first
    late = early + second
    assert ORDER[classify(CAL, due_at, early)] <= ORDER[classify(CAL, due_at, late)]
    assert escalation_level(CAL, due_at, early) <= escalation_level(CAL, due_at, late)


@settings(max_examples=300, deadline=None)
@given(a=instants, b=spans, c=spans)
def test_working_time_adds_up_and_never_exceeds_clock_time(a, b, c):
    mid, end = a + b, a + b + c
    whole = working_time_between(CAL, a, end)
    assert whole == working_time_between(CAL, a, mid) + working_time_between(CAL, mid, end)
    assert timedelta(0) <= whole <= end - a


@settings(max_examples=200, deadline=None)
@given(now=instants)
def test_a_due_time_one_working_day_ahead_is_normal_and_one_second_less_is_warning(now):
    from onestop.workflow.domain.urgency import one_working_day_after

    edge = one_working_day_after(CAL, now) - ONE_SECOND
    assert classify(CAL, edge, now) == N
    assert classify(CAL, edge - timedelta(microseconds=1), now) == W
