"""`common.compiled.CompiledInsert.insert_ignoring_conflicts` writes the rows
``bulk_create(ignore_conflicts=True)`` writes — the messages' one ``INSERT … ON CONFLICT DO
NOTHING`` per state change (issue 10, helper h-inserts) — and says how many it wrote: the
taken keys skipped, on PostgreSQL and SQLite, with the statement built once and Django's
own insert where the compiled one does not apply."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.test.utils import CaptureQueriesContext

from onestop.common.compiled import CompiledInsert
from onestop.notifications.models import Notification

pytestmark = pytest.mark.django_db

# Every column the rows are compared by: all but the keys (the row's, the message's random
# id, the case none of these messages has).
FIELDS = tuple(
    f.attname
    for f in Notification._meta.concrete_fields
    if f.name not in ("id", "message_id", "case")
)


def messages(tag: str, keys: list[int], at: datetime) -> list[Notification]:
    return [
        Notification(
            dedup_key=f"{tag}:{k}",
            channel="sms" if k % 2 else "in_app",
            phone=f"1380000{k:04d}",
            phone_index=f"index-{k}",
            body=f"【出生一件事】{tag}消息{k}",
            created_at=at,
            next_attempt_at=at,
        )
        for k in keys
    ]


def read(tag: str) -> list[tuple[object, ...]]:
    rows = Notification.objects.filter(dedup_key__startswith=f"{tag}:").order_by("dedup_key")
    return [
        tuple(
            getattr(n, f).replace(tag, "T") if isinstance(getattr(n, f), str) else getattr(n, f)
            for f in FIELDS
        )
        for n in rows
    ]


@pytest.mark.parametrize("n", [1, 3])
def test_the_rows_are_bulk_creates_with_ignore_conflicts(n, beijing):
    at = beijing("2026-11-20T10:00:00+08:00")
    Notification.objects.bulk_create(messages("django", list(range(n)), at), ignore_conflicts=True)
    compiled = CompiledInsert(Notification)
    assert compiled._statement(connection, "default", n, ignore=True) is not None
    written = messages("compiled", list(range(n)), at)
    assert compiled.insert_ignoring_conflicts(written) == n
    assert read("compiled") == read("django")
    assert all(not m._state.adding and m._state.db == "default" for m in written)


def test_taken_keys_are_skipped_and_counted_out(beijing):
    at = beijing("2026-11-20T10:00:00+08:00")
    compiled = CompiledInsert(Notification)
    assert compiled.insert_ignoring_conflicts(messages("k", [0, 1], at)) == 2
    again = messages("k", [1, 2, 3], at)
    again[0].body = "another text: not written"
    assert compiled.insert_ignoring_conflicts(again) == 2
    assert compiled.insert_ignoring_conflicts(messages("k", [0, 3], at)) == 0
    bodies = Notification.objects.filter(dedup_key__startswith="k:").order_by("dedup_key")
    assert [m.body for m in bodies] == [f"【出生一件事】k消息{k}" for k in range(4)]
    assert compiled.insert_ignoring_conflicts([]) == 0


def test_one_statement_built_once(beijing):
    at = beijing("2026-11-20T10:00:00+08:00")
    compiled = CompiledInsert(Notification)
    compiled.insert_ignoring_conflicts(messages("once", [0, 1], at))
    kept = compiled._statement(connection, "default", 2, ignore=True)
    with CaptureQueriesContext(connection) as queries:
        compiled.insert_ignoring_conflicts(messages("once", [2, 3], at))
    assert [q["sql"].split(" (")[0] for q in queries.captured_queries] == [
        kept.sql.split(" (")[0] if kept is not None else ""
    ]
    sql = queries.captured_queries[0]["sql"]
    assert "RETURNING" not in sql
    assert ("ON CONFLICT DO NOTHING" in sql) or sql.startswith("INSERT OR IGNORE INTO")


def test_django_writes_an_instance_with_its_key_or_an_expression(beijing):
    at = beijing("2026-11-20T10:00:00+08:00")
    compiled = CompiledInsert(Notification)
    keyed = messages("keyed", [0], at)[0]
    keyed.pk = 987_654
    assert compiled.insert_ignoring_conflicts([keyed]) == 1
    assert Notification.objects.filter(pk=987_654, dedup_key="keyed:0").exists()
    assert compiled.insert_ignoring_conflicts(messages("keyed", [0], at)) == 0
    expressed = messages("expr", [0, 1], at)
    expressed[1].last_error = Value("an expression")
    assert compiled.insert_ignoring_conflicts(expressed) == 2
    assert Notification.objects.get(dedup_key="expr:1").last_error == "an expression"


def test_another_refusal_is_the_databases_answer(beijing):
    """Not a taken key: PostgreSQL refuses (the caller's error, its block rolled back);
    SQLite's ``INSERT OR IGNORE`` skips a NOT NULL refusal too — Django's statement, the
    same answers as before."""
    at = beijing("2026-11-20T10:00:00+08:00")
    broken = messages("broken", [0, 1], at)
    broken[1].body = None
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic():
            CompiledInsert(Notification).insert_ignoring_conflicts(broken)
        assert not Notification.objects.filter(dedup_key__startswith="broken:").exists()
    else:
        assert CompiledInsert(Notification).insert_ignoring_conflicts(broken) == 1
        assert Notification.objects.filter(dedup_key__startswith="broken:").count() == 1


@pytest.mark.parametrize("model", ["notification", "elicence", "card"])
def test_values_passed_as_they_are_are_what_django_prepares(model):
    """The texts and flags `CompiledInsert` passes without ``get_db_prep_save`` are what
    it would return, of the same type (every other value goes through it: encrypted,
    JSON, times, numbers, lazy texts)."""
    from django.utils.translation import gettext_lazy

    from onestop.certificates.models import ELicence
    from onestop.common.compiled import _InsertOf, _prepared
    from onestop.workflow.models import CardProduction

    cls = {"notification": Notification, "elicence": ELicence, "card": CardProduction}[model]
    compiled = CompiledInsert(cls)
    kept = [_prepared(f, connection).as_is for f in compiled.fields]
    kinds = ["", "文本", None, True, False, gettext_lazy("已办结"), 3]
    width = len(compiled.fields)
    rows = [[kinds[(i + j) % len(kinds)] for i in range(width)] for j in range(len(kinds))]
    usable = [
        [v if type(v) in as_is else None for as_is, v in zip(kept, row, strict=True)]
        for row in rows
    ]
    assert any(any(as_is) for as_is in kept)
    got = compiled._params(connection, _InsertOf("", unnest=False), usable)
    expected = [
        f.get_db_prep_save(v, connection)
        for row in usable
        for f, v in zip(compiled.fields, row, strict=True)
    ]
    assert [(type(v), v) for v in got] == [(type(v), v) for v in expected]
    text = "x"  # (a variable: not a message for the catalogue)
    lazy = type(gettext_lazy(text))
    assert all(lazy not in as_is for as_is in kept)  # a lazy text is prepared
