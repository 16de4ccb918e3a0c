"""On PostgreSQL the audit tables are append-only in the database itself (issue 8: "the
application's database role cannot UPDATE or DELETE audit rows on PostgreSQL"): triggers
refuse UPDATE, DELETE and TRUNCATE whoever asks, and `manage.py audit_protect` revokes the
privileges from the application's own role."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from onestop.audit.integrity import anchor_write
from onestop.audit.models import AccessRecord, AuditAnchor, AuditRecord
from onestop.testing.factories import officer
from onestop.testing.reliability import reliability_record

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL triggers"),
]


def _refused(action: Callable[[], object]) -> bool:
    try:
        with transaction.atomic():
            action()
    except DatabaseError:
        return True
    return False


def _sql(statement: str, params: list[int] | None = None) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    return run


def test_audit_rows_cannot_be_updated_deleted_or_truncated(write, audit_files):
    record = write("C1")
    write("C1", "item_completed", 1)
    anchor = anchor_write()
    assert anchor is not None
    attempts = {
        "ORM update of a record": lambda: AuditRecord.objects.filter(pk=record.pk).update(
            action="case_withdrawn"
        ),
        "ORM save of a changed record": lambda: AuditRecord.objects.get(pk=record.pk).save(),
        "ORM delete of a record": lambda: AuditRecord.objects.filter(pk=record.pk).delete(),
        "SQL UPDATE of a record": _sql(
            "UPDATE audit_auditrecord SET action = 'x' WHERE id = %s", [record.pk]
        ),
        "SQL DELETE of a record": _sql("DELETE FROM audit_auditrecord WHERE id = %s", [record.pk]),
        "SQL TRUNCATE of the records": _sql("TRUNCATE audit_auditrecord"),
        "ORM update of an anchor": lambda: AuditAnchor.objects.update(records_total=0),
        "ORM delete of an anchor": lambda: AuditAnchor.objects.all().delete(),
        "SQL DELETE of the anchors": _sql("DELETE FROM audit_auditanchor"),
        "SQL TRUNCATE of the anchors": _sql("TRUNCATE audit_auditanchor"),
    }
    refused = {name: _refused(action) for name, action in attempts.items()}
    reliability_record("audit", "database changes of audit rows tried (PostgreSQL)", len(refused))
    reliability_record(
        "audit", "database changes of audit rows accepted", sum(not r for r in refused.values())
    )
    assert all(refused.values()), refused
    assert AuditRecord.objects.filter(pk=record.pk, action="case_submitted").exists()
    assert AuditRecord.objects.count() == 2 and AuditAnchor.objects.count() == 1


def test_access_records_are_never_changed_and_pruned_only_when_old():
    user = officer("hospital", "hospital", "qinbei-mch")
    now = timezone.now()
    young = AccessRecord.objects.create(
        actor=user, case_number="C1", what="case", at=now, granted=True
    )
    old = AccessRecord.objects.create(
        actor=user, case_number="C1", what="case", at=now - timedelta(days=200), granted=True
    )
    assert _refused(lambda: AccessRecord.objects.filter(pk=old.pk).update(granted=False))
    assert _refused(lambda: AccessRecord.objects.filter(pk=young.pk).delete())
    assert _refused(_sql("TRUNCATE audit_accessrecord"))
    # A retention job may remove records older than the 180 days kept.
    assert not _refused(lambda: AccessRecord.objects.filter(pk=old.pk).delete())
    assert list(AccessRecord.objects.values_list("pk", flat=True)) == [young.pk]


def test_the_application_role_loses_update_and_delete(write, audit_files):
    role = f"onestop_app_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')  # rolled back with the test
        cursor.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        cursor.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    printed = io.StringIO()
    call_command("audit_protect", "--role", role, stdout=printed)
    assert "REVOKE UPDATE, DELETE, TRUNCATE" in printed.getvalue()
    call_command("audit_protect", "--role", role, "--execute", stdout=io.StringIO())
    record = write("C1")
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        write("C1", "item_completed", 1)  # appending still works
        denied = {
            "update": _refused(_sql("UPDATE audit_auditrecord SET action = 'x'")),
            "delete": _refused(_sql("DELETE FROM audit_auditrecord")),
            # The role cannot switch the triggers off either (superusers only).
            "triggers off": _refused(_sql("SET session_replication_role = replica")),
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert denied == {"update": True, "delete": True, "triggers off": True}
    assert AuditRecord.objects.get(pk=record.pk).action == "case_submitted"
    assert AuditRecord.objects.filter(stream="C1").count() == 2
