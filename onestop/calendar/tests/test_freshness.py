"""The working calendar in force is cached per change stamp, the stamp read at most once per
request, and a calendar edit by anyone (admin, a bulk update, a raw ``UPDATE``: another
process's) is seen by the next call outside a request and by the next request (issue 10
part 2: the published years were read on every call, up to twice per API call)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onestop.calendar.domain import load_default_calendar
from onestop.calendar.models import CalendarYear, SpecialDay
from onestop.calendar.selectors import current_calendar
from onestop.reference.selectors import current_reference, request_finished, request_started

pytestmark = pytest.mark.django_db

NEXT = load_default_calendar().last_year + 1


def _year(published: bool) -> CalendarYear:
    year = CalendarYear.objects.create(year=NEXT, published=published, source="国办发明电")
    SpecialDay.objects.create(
        year=year, date=dt.date(NEXT, 1, 1), kind=SpecialDay.Kind.HOLIDAY, name="元旦"
    )
    return year


def _raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_check_is_one_statement_and_a_raw_update_is_seen_at_the_next_call():
    _year(published=True)  # the triggers set the stamp
    first = current_calendar()
    assert first.last_year == NEXT
    with CaptureQueriesContext(connection) as queries:
        again = current_calendar()
    assert again is first and len(queries) == 1  # the stamp only: the cached build
    table = connection.ops.quote_name(CalendarYear._meta.db_table)
    _raw(f"UPDATE {table} SET published = %s WHERE year = %s", [False, NEXT])
    assert current_calendar().last_year == NEXT - 1
    _raw(f"UPDATE {table} SET published = %s WHERE year = %s", [True, NEXT])
    assert current_calendar().last_year == NEXT
    days = connection.ops.quote_name(SpecialDay._meta.db_table)
    _raw(f"UPDATE {days} SET name = %s WHERE date = %s", ["新年", dt.date(NEXT, 1, 1)])
    assert [d.name for d in current_calendar().special_days if d.date.year == NEXT] == ["新年"]
    _raw(f"DELETE FROM {days} WHERE date = %s", [dt.date(NEXT, 1, 1)])
    assert [d for d in current_calendar().special_days if d.date.year == NEXT] == []


def test_one_stamp_read_per_request_for_the_calendar_and_the_reference_data():
    _year(published=False)
    request_started()
    try:
        current_calendar()
        with CaptureQueriesContext(connection) as queries:
            current_calendar()
            current_reference()
            current_calendar()
        assert len(queries) == 0  # the request's stamp, the cached builds
        # The request itself publishes the year through the ORM: seen at once.
        year = CalendarYear.objects.get(year=NEXT)
        year.published = True
        year.save()
        assert current_calendar().last_year == NEXT
    finally:
        request_finished()


def test_another_process_edit_is_seen_by_the_next_request():
    _year(published=True)
    request_started()
    try:
        assert current_calendar().last_year == NEXT
        # Another process (here: a raw statement, no signal) withdraws the year.
        table = connection.ops.quote_name(CalendarYear._meta.db_table)
        _raw(f"UPDATE {table} SET published = %s WHERE year = %s", [False, NEXT])
    finally:
        request_finished()
    request_started()
    try:
        assert current_calendar().last_year == NEXT - 1
    finally:
        request_finished()
