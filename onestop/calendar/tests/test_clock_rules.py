"""Due times under the standard and Fuzhou rules, pauses and time left; 2026 worked by hand."""

from datetime import datetime

import pytest

from onestop.calendar.clock_rules import (
    ClockRule,
    due_time,
    due_with_pauses,
    extend_for_pause,
    shift_working_days,
    working_days_left,
)
from onestop.calendar.domain import SpecialDay, load_default_calendar
from onestop.core.clock import format_time, parse_time
from onestop.core.errors import CalendarNotCovered

CAL = load_default_calendar()
STANDARD = ClockRule.STANDARD
FUZHOU = ClockRule.FUZHOU


def due(rule: ClockRule, received: str, n: int) -> str:
    return format_time(due_time(CAL, rule, parse_time(received), n))


def fmt(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


@pytest.mark.parametrize(
    ("received", "n", "expected"),
    [
        # Wed before the National Day break: next working day is Thu 10-08.
        ("2026-09-30T10:00:00+08:00", 1, "2026-10-08T23:59:59+08:00"),
        ("2026-09-30T07:30:00+08:00", 1, "2026-10-08T23:59:59+08:00"),
        # Sat 10-10 is a make-up working day, but D never counts: Mon 10-12.
        ("2026-10-10T09:00:00+08:00", 1, "2026-10-12T23:59:59+08:00"),
        # Fri 02-13: the next working day is the make-up Saturday 02-14.
        ("2026-02-13T16:00:00+08:00", 1, "2026-02-14T23:59:59+08:00"),
        # Thu 02-12 + 5: 02-13, 02-14 (Sat), [春节 02-15..23], 02-24, 02-25, 02-26.
        ("2026-02-12T09:00:00+08:00", 5, "2026-02-26T23:59:59+08:00"),
        # Sun 10-04 in the holiday, 3 working days: 10-08, 10-09, 10-10 (Sat).
        ("2026-10-04T10:00:00+08:00", 3, "2026-10-10T23:59:59+08:00"),
        # Same visit (N = 0): end of D if working, else of the next working day.
        ("2026-09-30T18:00:00+08:00", 0, "2026-09-30T23:59:59+08:00"),
        ("2026-10-04T10:00:00+08:00", 0, "2026-10-08T23:59:59+08:00"),
        # UTC input: 02:00Z is 10:00 Beijing on the same day.
        ("2026-09-30T02:00:00Z", 1, "2026-10-08T23:59:59+08:00"),
        # 17:00Z on 09-29 is 01:00 on 09-30 in Beijing: D is 09-30, not 09-29.
        ("2026-09-29T17:00:00Z", 1, "2026-10-08T23:59:59+08:00"),
        # No offset means Beijing time.
        ("2026-09-29T10:00:00", 1, "2026-09-30T23:59:59+08:00"),
    ],
)
def test_standard(received, n, expected):
    assert due(STANDARD, received, n) == expected


@pytest.mark.parametrize(
    ("received", "n", "expected"),
    [
        # 08:00–12:00 on a working day: noon of the N-th working day after D.
        ("2026-09-30T10:00:00+08:00", 1, "2026-10-08T12:00:00+08:00"),
        # Before 08:00: D counts as the first working day.
        ("2026-09-30T07:30:00+08:00", 1, "2026-09-30T23:59:59+08:00"),
        # After 12:00: as if before 08:00 on the next working day (10-08).
        ("2026-09-30T14:00:00+08:00", 1, "2026-10-08T23:59:59+08:00"),
        # Non-working day: from the next working day 10-08, counting it: 10-08, 10-09, 10-10.
        ("2026-10-04T10:00:00+08:00", 3, "2026-10-10T23:59:59+08:00"),
        ("2026-10-04T06:00:00+08:00", 3, "2026-10-10T23:59:59+08:00"),
        # Mon 11-23 09:00, 3 working days after: 11-24, 11-25, 11-26 at noon.
        ("2026-11-23T09:00:00+08:00", 3, "2026-11-26T12:00:00+08:00"),
        # Before 08:00 on Fri 02-13, N = 2: 02-13 and the make-up Saturday 02-14.
        ("2026-02-13T07:00:00+08:00", 2, "2026-02-14T23:59:59+08:00"),
        # 10:00 on the make-up Saturday 02-14: noon of the next working day, 02-24.
        ("2026-02-14T10:00:00+08:00", 1, "2026-02-24T12:00:00+08:00"),
        # N = 0 is the same as the standard rule.
        ("2026-09-30T14:00:00+08:00", 0, "2026-09-30T23:59:59+08:00"),
        ("2026-10-04T10:00:00+08:00", 0, "2026-10-08T23:59:59+08:00"),
        # UTC input behaves as the Beijing time it denotes.
        ("2026-09-30T02:00:00Z", 1, "2026-10-08T12:00:00+08:00"),
        ("2026-09-29T23:30:00Z", 1, "2026-09-30T23:59:59+08:00"),
        ("2026-09-30T06:00:00Z", 1, "2026-10-08T23:59:59+08:00"),
        ("2026-09-29T16:30:00Z", 1, "2026-09-30T23:59:59+08:00"),
    ],
)
def test_fuzhou(received, n, expected):
    assert due(FUZHOU, received, n) == expected


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        # Tue 2026-11-24, an ordinary week.
        ("00:00:00", "2026-11-24T23:59:59+08:00"),
        ("07:59:59", "2026-11-24T23:59:59+08:00"),
        ("08:00:00", "2026-11-25T12:00:00+08:00"),
        ("12:00:00", "2026-11-25T12:00:00+08:00"),
        ("12:00:01", "2026-11-25T23:59:59+08:00"),
        ("23:59:59", "2026-11-25T23:59:59+08:00"),
    ],
)
def test_fuzhou_boundaries(clock, expected):
    assert due(FUZHOU, f"2026-11-24T{clock}+08:00", 1) == expected


def test_fuzhou_boundaries_to_the_microsecond():
    just_before = datetime.fromisoformat("2026-11-24T07:59:59.999999+08:00")
    just_after = datetime.fromisoformat("2026-11-24T12:00:00.000001+08:00")
    assert format_time(due_time(CAL, FUZHOU, just_before, 1)) == "2026-11-24T23:59:59+08:00"
    assert format_time(due_time(CAL, FUZHOU, just_after, 1)) == "2026-11-25T23:59:59+08:00"


def test_rule_may_be_given_as_text():
    received = parse_time("2026-09-30T10:00:00+08:00")
    assert due_time(CAL, "fuzhou", received, 1) == due_time(CAL, FUZHOU, received, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        due_time(CAL, "beijing", received, 1)  # type: ignore[arg-type]


def test_negative_limit_and_uncovered_year():
    received = parse_time("2026-12-30T10:00:00+08:00")
    for rule in ClockRule:
        with pytest.raises(ValueError, match="negative"):
            due_time(CAL, rule, received, -1)
        with pytest.raises(CalendarNotCovered) as caught:
            due_time(CAL, rule, received, 3)
        assert caught.value.year == 2027
    lenient = load_default_calendar(assume_weekends=True)
    assert format_time(due_time(lenient, STANDARD, received, 3)) == "2027-01-04T23:59:59+08:00"
    extended = CAL.with_year(2027, [SpecialDay(parse_time("2027-01-01").date(), "holiday", "元旦")])
    assert format_time(due_time(extended, STANDARD, received, 3)) == "2027-01-05T23:59:59+08:00"


def test_extend_for_pause_across_the_holiday():
    due_at = parse_time("2026-09-30T23:59:59+08:00")
    # Working days in (09-29, 10-09]: 09-30, 10-08, 10-09 -> 3; from 09-30: 10-08, 10-09, 10-10.
    moved = extend_for_pause(
        CAL, due_at, parse_time("2026-09-29T15:00+08:00"), parse_time("2026-10-09T10:00+08:00")
    )
    assert format_time(moved) == "2026-10-10T23:59:59+08:00"
    # A noon due keeps its noon: (10-08, 10-12] has 10-09, 10-10, 10-12.
    noon = parse_time("2026-10-08T12:00:00+08:00")
    moved = extend_for_pause(
        CAL, noon, parse_time("2026-10-08T09:00+08:00"), parse_time("2026-10-12T09:00+08:00")
    )
    assert format_time(moved) == "2026-10-12T12:00:00+08:00"


def test_pause_without_lost_working_days_changes_nothing():
    due_at = parse_time("2026-10-09T23:59:59+08:00")
    same_day = extend_for_pause(
        CAL, due_at, parse_time("2026-10-08T09:00+08:00"), parse_time("2026-10-08T17:00+08:00")
    )
    assert same_day == due_at
    holiday_only = extend_for_pause(
        CAL, due_at, parse_time("2026-10-01T09:00+08:00"), parse_time("2026-10-07T17:00+08:00")
    )
    assert holiday_only == due_at


def test_pause_dates_are_beijing_dates():
    due_at = parse_time("2026-10-09T23:59:59+08:00")
    # 17:00Z on 09-30 is 01:00 on 10-01 in Beijing; (10-01, 10-08] holds only 10-08.
    moved = extend_for_pause(
        CAL, due_at, parse_time("2026-09-30T17:00:00Z"), parse_time("2026-10-08T01:00+08:00")
    )
    assert format_time(moved) == "2026-10-10T23:59:59+08:00"
    with pytest.raises(ValueError, match="before it began"):
        extend_for_pause(
            CAL, due_at, parse_time("2026-10-08T09:00+08:00"), parse_time("2026-10-07T09:00+08:00")
        )


def test_due_with_pauses():
    received = parse_time("2026-09-30T10:00:00+08:00")
    assert fmt(due_with_pauses(CAL, STANDARD, received, 1, [])) == ("2026-10-08T23:59:59+08:00")
    pauses = [
        (parse_time("2026-10-08T09:00+08:00"), parse_time("2026-10-09T09:00+08:00")),  # 1 day
        (parse_time("2026-10-09T15:00+08:00"), parse_time("2026-10-12T09:00+08:00")),  # 2 days
    ]
    # 10-08 end + 1 -> 10-09, + 2 -> 10-10 (Sat make-up), 10-12.
    assert fmt(due_with_pauses(CAL, STANDARD, received, 1, pauses)) == ("2026-10-12T23:59:59+08:00")
    assert fmt(due_with_pauses(CAL, FUZHOU, received, 1, pauses)) == ("2026-10-12T12:00:00+08:00")
    still_open = [*pauses, (parse_time("2026-10-12T10:00+08:00"), None)]
    assert due_with_pauses(CAL, STANDARD, received, 1, still_open) is None
    with pytest.raises(ValueError, match="not the last"):
        due_with_pauses(CAL, STANDARD, received, 1, [still_open[-1], *pauses])
    with pytest.raises(ValueError, match="previous pause"):
        due_with_pauses(CAL, STANDARD, received, 1, [pauses[1], pauses[0]])


def test_shift_working_days():
    moment = parse_time("2026-09-30T12:00:00Z")  # 20:00 Beijing
    assert format_time(shift_working_days(CAL, moment, 0)) == "2026-09-30T20:00:00+08:00"
    assert format_time(shift_working_days(CAL, moment, 1)) == "2026-10-08T20:00:00+08:00"
    with pytest.raises(ValueError):
        shift_working_days(CAL, moment, -1)


def test_working_days_left():
    due_at = parse_time("2026-10-09T23:59:59+08:00")
    assert working_days_left(CAL, due_at, parse_time("2026-09-29T10:00+08:00")) == 3
    assert working_days_left(CAL, due_at, parse_time("2026-09-30T10:00+08:00")) == 2
    assert working_days_left(CAL, due_at, parse_time("2026-10-04T10:00+08:00")) == 2
    assert working_days_left(CAL, due_at, parse_time("2026-10-09T10:00+08:00")) == 0
    assert working_days_left(CAL, due_at, parse_time("2026-10-12T10:00+08:00")) == 0
