"""WorkingCalendar: lookups, coverage, extension and validation."""

import dataclasses
from datetime import date

import pytest

from onestop.calendar.domain import (
    SpecialDay,
    WorkingCalendar,
    load_calendar_file,
    load_default_calendar,
)
from onestop.core.errors import CalendarNotCovered

CAL = load_default_calendar()
D = date.fromisoformat


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-01-01", False),  # 元旦
        ("2026-01-03", False),  # Saturday, 元旦
        ("2026-01-04", True),  # Sunday make-up day
        ("2026-01-05", True),
        ("2026-02-14", True),  # Saturday make-up day
        ("2026-02-23", False),  # Monday, 春节
        ("2026-02-24", True),
        ("2026-02-28", True),  # Saturday make-up day
        ("2026-03-01", False),  # plain Sunday
        ("2026-05-05", False),
        ("2026-05-09", True),
        ("2026-09-20", True),
        ("2026-09-25", False),
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),
        ("2026-10-11", False),
    ],
)
def test_is_working_day_2026(day, working):
    assert CAL.is_working_day(D(day)) is working


def test_next_and_on_or_after():
    assert CAL.next_working_day(D("2026-09-30")) == D("2026-10-08")
    assert CAL.next_working_day(D("2026-10-08")) == D("2026-10-09")
    assert CAL.next_working_day(D("2026-02-13")) == D("2026-02-14")
    assert CAL.working_day_on_or_after(D("2026-10-04")) == D("2026-10-08")
    assert CAL.working_day_on_or_after(D("2026-10-08")) == D("2026-10-08")


def test_add_working_days():
    assert CAL.add_working_days(D("2026-09-30"), 1) == D("2026-10-08")
    assert CAL.add_working_days(D("2026-09-30"), 3) == D("2026-10-10")
    assert CAL.add_working_days(D("2026-02-12"), 5) == D("2026-02-26")
    assert CAL.add_working_days(D("2026-10-04"), 0) == D("2026-10-08")
    assert CAL.add_working_days(D("2026-10-09"), 0) == D("2026-10-09")
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_days(D("2026-10-09"), -1)


def test_add_ninety_working_days():
    end = CAL.add_working_days(D("2026-01-05"), 90)
    assert end == D("2026-05-20")  # counted with chinese_calendar.is_workday
    assert CAL.working_days_between(D("2026-01-05"), end) == 90
    assert CAL.is_working_day(end)


def test_working_days_between():
    assert CAL.working_days_between(D("2026-09-30"), D("2026-10-08")) == 1
    assert CAL.working_days_between(D("2026-09-29"), D("2026-10-10")) == 4
    assert CAL.working_days_between(D("2026-02-13"), D("2026-02-24")) == 2
    assert CAL.working_days_between(D("2026-10-01"), D("2026-10-07")) == 0
    assert CAL.working_days_between(D("2026-10-08"), D("2026-10-08")) == 0
    assert CAL.working_days_between(D("2026-10-09"), D("2026-10-08")) == 0
    assert CAL.working_days_between(D("2025-12-31"), D("2026-12-31")) == 248


def test_uncovered_year_raises():
    assert CAL.covers(D("2026-12-31"))
    assert not CAL.covers(D("2027-01-01"))
    assert not CAL.covers(D("2003-12-31"))
    with pytest.raises(CalendarNotCovered) as caught:
        CAL.is_working_day(D("2027-01-04"))
    assert caught.value.year == 2027
    assert caught.value.code == "calendar_year_not_covered"
    assert "2004–2026" in caught.value.message
    with pytest.raises(CalendarNotCovered):
        CAL.is_working_day(D("2003-06-02"))
    with pytest.raises(CalendarNotCovered):
        CAL.add_working_days(D("2026-12-30"), 3)
    with pytest.raises(CalendarNotCovered):
        CAL.working_days_between(D("2026-12-01"), D("2027-01-10"))


def test_assume_weekends_outside_the_table():
    lenient = load_default_calendar(assume_weekends=True)
    assert lenient is load_default_calendar(assume_weekends=True)
    assert lenient is not CAL
    assert load_default_calendar() == CAL  # equal (another test may have cleared the cache)
    assert not lenient.covers(D("2027-01-01"))
    assert lenient.is_working_day(D("2027-01-01"))  # Friday; 元旦 unknown without a table
    assert not lenient.is_working_day(D("2027-01-02"))  # Saturday
    assert not lenient.is_working_day(D("2026-10-01"))  # the table still applies inside
    assert lenient.add_working_days(D("2026-12-31"), 2) == D("2027-01-04")
    assert lenient.working_days_between(D("2026-12-31"), D("2027-01-08")) == 6
    assert CAL.with_assume_weekends(True) == lenient


def test_the_weekends_variant_is_built_once_per_table():
    """Issue 10 (the officer queue built the weekends-only table again for each of its 50
    rows): the variant is kept on the immutable table, and flipping back is the table."""
    table = WorkingCalendar(2026, 2026, [SpecialDay(D("2026-10-01"), "holiday", "国庆节")])
    lenient = table.with_assume_weekends(True)
    assert lenient.assume_weekends and not table.assume_weekends
    assert table.with_assume_weekends(True) is lenient
    assert lenient.with_assume_weekends(False) is table
    assert lenient.with_assume_weekends(True) is lenient
    assert lenient == WorkingCalendar(2026, 2026, table.special_days, assume_weekends=True)
    assert hash(lenient) == hash(
        WorkingCalendar(2026, 2026, table.special_days, assume_weekends=True)
    )
    assert not lenient.is_working_day(D("2026-10-01"))
    assert lenient.is_working_day(D("2027-01-01"))
    assert "_flipped" not in dataclasses.asdict(table)  # kept beside the fields, not in them


def test_with_year_extends_and_leaves_the_original_alone():
    days_2027 = [
        SpecialDay(D("2027-01-01"), "holiday", "元旦"),
        SpecialDay(D("2026-12-27"), "workday", "元旦"),  # hypothetical; December of Y-1 is allowed
    ]
    extended = CAL.with_year(2027, days_2027)
    assert (extended.first_year, extended.last_year) == (2004, 2027)
    assert not extended.is_working_day(D("2027-01-01"))
    assert extended.is_working_day(D("2027-01-04"))
    assert extended.is_working_day(D("2026-12-27"))
    assert not CAL.is_working_day(D("2026-12-27"))
    assert CAL.add_working_days(D("2026-12-30"), 1) == D("2026-12-31")
    assert extended.add_working_days(D("2026-12-31"), 1) == D("2027-01-04")
    with pytest.raises(CalendarNotCovered):
        CAL.is_working_day(D("2027-01-04"))
    earlier = CAL.with_year(2003, [SpecialDay(D("2003-01-01"), "holiday", "元旦")])
    assert earlier.first_year == 2003
    assert not earlier.is_working_day(D("2003-01-01"))


def test_with_year_rejects_bad_rows():
    with pytest.raises(ValueError, match="next to the covered years"):
        CAL.with_year(2028, [])
    with pytest.raises(ValueError, match="does not belong to year 2027"):
        CAL.with_year(2027, [SpecialDay(D("2025-12-27"), "workday")])
    with pytest.raises(ValueError, match="more than once"):
        CAL.with_year(2027, [SpecialDay(D("2026-10-01"), "holiday", "国庆节")])


def test_special_day_validation():
    with pytest.raises(ValueError, match="Saturday or Sunday"):
        SpecialDay(D("2026-01-05"), "workday", "元旦")
    with pytest.raises(ValueError, match="kind"):
        SpecialDay(D("2026-01-03"), "rest", "元旦")  # type: ignore[arg-type]
    SpecialDay(D("2026-01-03"), "holiday", "元旦")  # a holiday may fall on a weekend


def test_calendar_validation():
    new_year = SpecialDay(D("2026-01-01"), "holiday", "元旦")
    with pytest.raises(ValueError, match="more than once"):
        WorkingCalendar(2026, 2026, [new_year, SpecialDay(D("2026-01-01"), "holiday", "x")])
    with pytest.raises(ValueError, match="outside the covered years"):
        WorkingCalendar(2025, 2025, [new_year])
    with pytest.raises(ValueError, match="span"):
        WorkingCalendar(2026, 2025)


def test_from_rows():
    rows: list[dict[str, object]] = [
        {"date": "2026-01-04", "kind": "workday", "name": "元旦"},
        {"date": date(2026, 1, 1), "kind": "holiday", "name": "元旦"},
        {"date": "2026-01-02", "kind": "holiday"},
    ]
    calendar = WorkingCalendar.from_rows(rows)
    assert (calendar.first_year, calendar.last_year) == (2026, 2026)
    assert [s.date for s in calendar.special_days] == [
        D("2026-01-01"),
        D("2026-01-02"),
        D("2026-01-04"),
    ]
    assert calendar.special_days[1].name == ""
    assert calendar.is_working_day(D("2026-01-04"))
    with pytest.raises(ValueError, match="bad date"):
        WorkingCalendar.from_rows([{"date": "2026-02-30", "kind": "holiday"}])
    with pytest.raises(ValueError, match="kind"):
        WorkingCalendar.from_rows([{"date": "2026-02-03", "kind": "off"}])
    with pytest.raises(ValueError, match="Saturday or Sunday"):
        WorkingCalendar.from_rows([{"date": "2026-02-03", "kind": "workday"}])
    with pytest.raises(ValueError, match="no calendar rows"):
        WorkingCalendar.from_rows([])
    assert WorkingCalendar.from_rows([], first_year=2030, last_year=2030).covers(D("2030-05-01"))


def test_load_calendar_file_rejects_bad_documents(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text('{"first_year": 2026, "last_year": 2026, "days": "x"}', encoding="utf-8")
    with pytest.raises(ValueError, match="days must be a list"):
        load_calendar_file(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        load_calendar_file(path)


def test_calendar_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CAL.last_year = 2030  # type: ignore[misc]
    assert isinstance(CAL.special_days, tuple)
    assert hash(CAL) == hash(load_default_calendar())
