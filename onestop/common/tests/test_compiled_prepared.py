"""`CompiledInsert`/`CompiledUpdate`'s values prepared without ``get_db_prep_save`` where a
value's exact type makes the result known (issue 10, session 31, h-cpu): the same values,
of the same types, as Django's ``get_db_prep_save`` gives, for every concrete field of
the product's models, on the database the tests run on (SQLite, and PostgreSQL with
``-m django_db``); and the rows' values read as Django's ``pre_save`` reads them."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import DateTimeField, Field

from onestop.cases.models import Case, TimelineEntry
from onestop.common.compiled import CompiledInsert, _prepare, _prepared
from onestop.notifications.models import Notification

AT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)

SAMPLES: list[Any] = [
    None,
    0,
    7,
    2**40,
    -3,
    True,
    False,
    "",
    "text",
    AT,
    AT.astimezone(timezone(timedelta(hours=8))),
    datetime(2026, 11, 28, 4, 0),  # naive: Django's warning path
    uuid.UUID(int=5),
]


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _django(field: Field[Any, Any], value: Any) -> tuple[bool, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, field.get_db_prep_save(value, connection)
    except Exception as error:
        return False, type(error)


def _fast(field: Field[Any, Any], value: Any) -> tuple[bool, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, _prepare((_prepared(field, connection),), [value], connection)[0]
    except Exception as error:
        return False, type(error)


def _fields() -> list[Field[Any, Any]]:
    return [
        field
        for model in apps.get_app_configs()
        if model.name.startswith("onestop")
        for m in model.get_models()
        for field in m._meta.concrete_fields
    ]


@pytest.mark.django_db
def test_every_fields_values_are_prepared_as_django_prepares_them() -> None:
    compared = shortcut = 0
    for field in _fields():
        column = _prepared(field, connection)
        for value in SAMPLES:
            ok, want = _django(field, value)
            again = _django(field, value)
            if not _same((ok, want), again):
                continue  # not a function of the value (an encryption's token, a Jsonb)
            got = _fast(field, value)
            assert _same(got[0], ok) and _same(got[1], want), (field, value, got, want)
            compared += 1
            known = type(value) in column.as_is or (type(value) is int and column.wrap is not None)
            shortcut += known
    assert compared > 1000
    assert shortcut > 300  # the shortcuts are taken (ints, keys, None, times, texts)


@pytest.mark.django_db
def test_a_postgresql_integer_goes_as_the_driver_type_django_wraps_it_in() -> None:
    field = Notification._meta.get_field("attempts")
    value = _prepare((_prepared(field, connection),), [3], connection)[0]
    assert _same(value, field.get_db_prep_save(3, connection))
    if connection.vendor == "postgresql":
        assert type(value) is not int  # psycopg's Int*: the type the column is sent as


def test_an_aware_time_is_as_is_only_where_the_backend_keeps_it() -> None:
    column = _prepared(Notification._meta.get_field("created_at"), connection)
    assert isinstance(column.field, DateTimeField)
    assert column.aware_as_is is (connection.vendor == "postgresql")


@pytest.mark.django_db
def test_the_rows_values_are_read_as_pre_save_reads_them() -> None:
    case = Case(pk=7, number="QB-1")
    line = TimelineEntry(case=case, at=AT, kind="k", item="", message="m", actor_label="")
    insert = CompiledInsert(TimelineEntry)
    rows = insert._values([line])
    assert rows == [[f.pre_save(line, True) for f in insert.fields]]


def test_an_unsaved_related_instance_is_still_refused() -> None:
    line = TimelineEntry(
        case=Case(number="QB-1"), at=AT, kind="k", item="", message="m", actor_label=""
    )
    with pytest.raises(ValueError, match="unsaved related object 'case'"):
        CompiledInsert(TimelineEntry)._values([line])


def test_a_related_instance_saved_after_assignment_sets_the_key() -> None:
    case = Case(number="QB-1")
    line = TimelineEntry(case=case, at=AT, kind="k", item="", message="m", actor_label="")
    case.pk = 11  # saved meanwhile
    insert = CompiledInsert(TimelineEntry)
    (row,) = insert._values([line]) or [[]]
    assert line.case_id == 11
    assert row[[f.attname for f in insert.fields].index("case_id")] == 11
