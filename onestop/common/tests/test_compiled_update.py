"""`common.compiled.CompiledUpdate` writes the columns it is given of one or several rows
as ``save(update_fields=…)`` and ``bulk_update`` write them (issue 10, session 23: the item
rows' writer of session 22 made one mechanism beside `CompiledInsert`), and
`CompiledInsert.insert_where` writes a row only where its condition holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case
from onestop.common.compiled import CompiledInsert, CompiledUpdate
from onestop.core.clock import parse_time

pytestmark = pytest.mark.django_db

AT = parse_time("2026-11-20T10:00:00+08:00")


def cases(n: int, tag: str) -> list[Case]:
    return [
        Case.objects.create(
            number=f"{tag}-{i}",
            region="qinbei",
            pack_version="1",
            channel="online",
            status="in_progress",
            decision={"decision": "accept"},
            document={"n": i},
            submitted_at=AT,
            decided_at=AT,
        )
        for i in range(n)
    ]


def snapshot(case: Case) -> tuple[object, ...]:
    again = Case.objects.get(pk=case.pk)
    return tuple(getattr(again, f.attname) for f in Case._meta.concrete_fields)


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_rows_get_their_columns_and_nothing_else(count):
    written = cases(count, "u")
    other = cases(1, "other")[0]
    before_other = snapshot(other)
    update = CompiledUpdate(Case)
    for n, case in enumerate(written):
        # an encrypted JSON column, a nullable time (a NULL among the rows), a counter
        case.document = {"n": n, "名": "新"}
        case.completed_at = None if n == 1 else AT + timedelta(hours=n)
        case.version += 3
        case.division = "changed"  # not among the columns written: must stay
    with CaptureQueriesContext(connection) as queries:
        update.update(written, ["document", "completed_at", "version"])
    assert len(queries) == 1
    for n, case in enumerate(written):
        again = Case.objects.get(pk=case.pk)
        assert again.document == {"n": n, "名": "新"}
        assert again.completed_at == case.completed_at
        assert again.version == case.version
        assert again.division == ""
    assert snapshot(other) == before_other
    # once more with the statement made the first time: the rows written again
    for case in written:
        case.version += 1
    with CaptureQueriesContext(connection) as again_queries:
        update.update(written, ["document", "completed_at", "version"])
    assert len(again_queries) == 1
    assert [Case.objects.get(pk=c.pk).version for c in written] == [c.version for c in written]


def test_it_writes_what_save_with_update_fields_writes():
    mine, theirs = cases(2, "same")
    for case in (mine, theirs):
        case.document = {"x": [1, 2]}
        case.completed_at = AT
        case.status = "completed"
    CompiledUpdate(Case).update([mine], ["document", "completed_at", "status"])
    theirs.save(update_fields=["document", "completed_at", "status"])
    a, b = snapshot(mine), snapshot(theirs)
    differs = {
        f.attname for f, x, y in zip(Case._meta.concrete_fields, a, b, strict=True) if x != y
    }
    assert differs == {"id", "number"}


def test_a_missing_row_and_no_rows():
    (case,) = cases(1, "gone")
    update = CompiledUpdate(Case)
    Case.objects.filter(pk=case.pk).delete()
    case.version += 1
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        update.update([case], ["version"])  # as save(update_fields=…) says it
    with CaptureQueriesContext(connection) as queries:
        update.update([], ["version"])
    assert len(queries) == 0


def test_a_missing_row_among_several_is_refused_and_nothing_is_kept():
    """Several rows in one ``UPDATE … FROM``: a row not there is a ``DatabaseError`` as of
    one row (review of session 28: the completed and readied items' write), and the
    block's other rows are rolled back with it."""
    from django.db import transaction

    kept, gone = cases(2, "some-gone")
    Case.objects.filter(pk=gone.pk).delete()
    kept.version, gone.version = 41, 42
    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic():
        CompiledUpdate(Case).update([kept, gone], ["version"])
    assert Case.objects.get(pk=kept.pk).version != 41  # rolled back with the block


def test_a_model_with_save_listeners_is_saved_by_django():
    """A pre_save receiver added for the model runs (the rows go by ``save``), as
    `CompiledInsert.save_new` leaves such a model to Django (review of session 28)."""
    from django.db.models.signals import pre_save

    written = cases(2, "listened")
    seen: list[int] = []

    def listener(sender, instance, update_fields=None, **kwargs):
        seen.append(instance.pk)
        assert set(update_fields) == {"version"}

    pre_save.connect(listener, sender=Case)
    try:
        for case in written:
            case.version = 77
        CompiledUpdate(Case).update(written, ["version"])
    finally:
        pre_save.disconnect(listener, sender=Case)
    assert seen == [c.pk for c in written]
    assert [Case.objects.get(pk=c.pk).version for c in written] == [77, 77]


def test_several_rows_go_to_bulk_update_where_update_from_is_not_taken(monkeypatch):
    written = cases(2, "bulk")
    monkeypatch.setattr(CompiledUpdate, "update_from", staticmethod(lambda connection: False))
    for n, case in enumerate(written):
        case.version = 9 + n
    with CaptureQueriesContext(connection) as queries:
        CompiledUpdate(Case).update(written, ["version"])
    assert any("CASE WHEN" in q["sql"] for q in queries)  # bulk_update's form
    assert [Case.objects.get(pk=c.pk).version for c in written] == [9, 10]


# --- CompiledInsert.insert_where ------------------------------------------------------------


def record(seq: int, stream: str = "s-1", prev: str = "0" * 64) -> AuditRecord:
    return AuditRecord(
        at=AT,
        stream=stream,
        seq=seq,
        actor=None,
        actor_label="系统",
        action="tested",
        object_type="case",
        object_id=stream,
        detail={"名": "值", "n": seq},
        prev_hash=prev,
        hash=f"{stream}-{seq}".ljust(64, "0"),
        alg="hmac-sha256",
        key_id="k1",
    )


def test_insert_where_writes_only_where_the_condition_holds():
    insert = CompiledInsert(AuditRecord)
    table = connection.ops.quote_name(AuditRecord._meta.db_table)
    none_yet = f"NOT EXISTS (SELECT 1 FROM {table} WHERE stream = %s)"
    first = record(1)
    assert insert.insert_where(first, none_yet, ["s-1"]) is True
    assert first.pk is not None and not first._state.adding
    stored = AuditRecord.objects.get(pk=first.pk)
    columns = [f.attname for f in AuditRecord._meta.concrete_fields if f.attname != "id"]
    assert [getattr(stored, c) for c in columns] == [getattr(first, c) for c in columns]
    again = record(1, prev="1" * 64)
    again.hash = "x" * 64
    assert insert.insert_where(again, none_yet, ["s-1"]) is False
    assert again.pk is None
    assert AuditRecord.objects.filter(stream="s-1").count() == 1


def test_insert_where_leaves_an_instance_with_its_key_to_the_caller():
    written = record(1, stream="s-2")
    written.pk = 10**9
    assert CompiledInsert(AuditRecord).insert_where(written, "1 = 1", []) is None
    assert not AuditRecord.objects.filter(stream="s-2").exists()


def test_no_fields_write_nothing():
    (case,) = cases(1, "none")
    with CaptureQueriesContext(connection) as seen:
        CompiledUpdate(Case).update([case], [])
    assert not seen.captured_queries


@pytest.mark.django_db(transaction=True)
def test_a_compiled_lock_is_refused_outside_a_transaction_as_django_refuses_it():
    """`cases.services.case_locked` (a `CompiledFirst` of ``select_for_update``) locks only
    inside a transaction: outside one it raises, as the queryset does (session 23 review:
    compiled once, Django's check at compilation was passed by every later call)."""
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    from onestop.cases.services import case_locked

    (case,) = cases(1, "lock")
    with transaction.atomic():
        assert case_locked(case.pk).number == case.number  # compiled here, in a transaction
    if not connection.features.has_select_for_update:
        assert case_locked(case.pk).number == case.number  # SQLite: no lock to refuse
        return
    with pytest.raises(TransactionManagementError):
        Case.objects.select_for_update().get(pk=case.pk)
    with pytest.raises(TransactionManagementError):
        case_locked(case.pk)
