"""The hot tables' index set (session 27, ADR 0025 amendment): the unique text columns keep
their unique index and lose their ``LIKE`` twin on PostgreSQL; the outboxes' status
indexes are replaced by partial indexes of the dead letter and the retention, which the
retention's delete reads. Session 29: the case's ``number`` and ``idempotency_key`` and
the blind indexes of persons and claims lose their twins too, and the indexes of the
item's ``finished_at`` and claimer and of the case's ``completed_at`` hold only the rows
where those are set — which every query that reads them asks for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from onestop.cases.models import Case, CaseStatus
from onestop.notifications.models import Notification
from onestop.notifications.services import notifications_prune
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

UNIQUE_TEXT = [
    ("notifications_notification", "dedup_key"),
    ("audit_auditrecord", "hash"),
    ("cases_material", "token"),
    ("certificates_elicence", "serial"),
    ("cases_case", "number"),
    ("cases_case", "idempotency_key"),
]
# Blind indexes (HMACs), matched whole: a plain index, no twin.
BLIND = [
    ("cases_person", "id_index"),
    ("cases_newbornclaim", "key_index"),
    ("cases_sscapplication", "key_index"),
]


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's indexes")


@pytest.mark.usefixtures("postgres")
@pytest.mark.parametrize(("table", "column"), UNIQUE_TEXT)
def test_a_unique_text_column_keeps_its_unique_index_without_a_like_twin(table, column):
    found = _indexes(table).values()
    assert any("UNIQUE" in d and d.endswith(f"({column})") for d in found), found
    assert not any(f"({column} varchar_pattern_ops)" in d for d in found), found


@pytest.mark.usefixtures("postgres")
@pytest.mark.parametrize(("table", "column"), BLIND)
def test_a_blind_index_column_keeps_its_index_without_a_like_twin(table, column):
    found = _indexes(table).values()
    assert any(d.endswith(f"USING btree ({column})") for d in found), found
    assert not any(f"({column} varchar_pattern_ops)" in d for d in found), found


def _plans(table: str, index: str, run) -> list[str]:
    """The plans of the statements ``run`` makes with ``index`` the only one of ``table``
    that is not a constraint's, and no sequential scan (the test's tables are too small
    for an index to be chosen otherwise): a partial index whose predicate a statement does
    not imply is never used. The dropped indexes come back when the test's transaction
    rolls back."""
    plans = []

    def explain(execute, sql, params, many, context):
        raw = context["cursor"].cursor  # the driver's cursor: not wrapped again
        raw.execute(f"EXPLAIN {sql}", params)
        plans.append("\n".join(row[0] for row in raw.fetchall()))
        return execute(sql, params, many, context)

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexrelid::regclass::text FROM pg_index i"
                " WHERE i.indrelid = %s::regclass AND i.indexrelid::regclass::text <> %s"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [table, index],
            )
            for (other,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX {other}")
            cursor.execute("SET LOCAL enable_seqscan = off")
        with connection.execute_wrapper(explain):
            run()
    return plans


FINISHED = ("done", "refused")


@pytest.mark.usefixtures("postgres")
@pytest.mark.parametrize(
    ("index", "run"),
    [
        # the efficiency roll-up's first day (`supervision.rollups._first_day`)
        (
            "caseitem_finished_at",
            lambda: CaseItem.objects.filter(state__in=FINISHED).aggregate(t=Min("finished_at")),
        ),
        # the efficiency report's items finished in a period, a department's
        (
            "caseitem_department_finished",
            lambda: list(
                CaseItem.objects.filter(
                    department="police",
                    finished_at__gte=timezone.now() - timedelta(days=1),
                    finished_at__lt=timezone.now(),
                )
            ),
        ),
        # a user's delete: the items they claimed (``PROTECT``)
        ("caseitem_claimed_by", lambda: list(CaseItem.objects.filter(claimed_by__in=[1, 2]))),
        # the case roll-up's first day and the dashboards' cases completed in a period
        (
            "case_completed_at",
            lambda: Case.objects.filter(status=CaseStatus.COMPLETED).aggregate(
                t=Min("completed_at")
            ),
        ),
        (
            "case_completed_at",
            lambda: list(
                Case.objects.filter(
                    completed_at__gte=timezone.now() - timedelta(days=1),
                    completed_at__lt=timezone.now(),
                )
            ),
        ),
    ],
)
def test_the_set_columns_partial_indexes_serve_their_reads(index, run):
    table = "cases_case" if index.startswith("case_") else "workflow_caseitem"
    assert "IS NOT NULL" in _indexes(table)[index]
    plans = _plans(table, index, run)
    assert plans and all(index in plan for plan in plans), plans


@pytest.mark.usefixtures("postgres")
def test_the_outboxes_status_is_indexed_only_where_the_dead_letter_and_retention_read():
    notifications = _indexes("notifications_notification")
    deliveries = _indexes("integration_webhookdelivery")
    assert "notification_status" not in notifications
    assert not any("(status, next_attempt_at)" in d for d in deliveries.values())
    assert "WHERE ((status)::text = 'dead'::text)" in notifications["notification_dead"]
    assert "WHERE ((status)::text = 'dead'::text)" in deliveries["webhook_dead"]
    assert "(sent_at)" in notifications["notification_sms_sent"]
    assert "(delivered_at)" in deliveries["webhook_delivered"]


def _message(key: str, channel: str, sent_at) -> Notification:
    return Notification.objects.create(
        dedup_key=key,
        channel=channel,
        body="b",
        status=Notification.Status.SENT,
        next_attempt_at=sent_at,
        created_at=sent_at,
        sent_at=sent_at,
    )


def test_a_duplicate_dedup_key_is_still_refused_and_the_retention_deletes_old_sms_only():
    old = timezone.now() - timedelta(days=400)
    _message("k:sms", "sms", old)
    kept = _message("k:in_app", "in_app", old)
    recent = _message("k:recent", "sms", timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        _message("k:sms", "sms", old)
    assert notifications_prune() == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {kept.pk, recent.pk}


@pytest.mark.django_db(transaction=True)  # sqlmigrate's schema editor: outside a transaction
@pytest.mark.parametrize(("app", "migration"), [("workflow", "0016"), ("cases", "0008")])
def test_session_29s_indexes_are_built_without_stopping_the_writers(app, migration):
    """On PostgreSQL the partial indexes are built and the old ones dropped CONCURRENTLY
    (`common.index_migrations.IndexAdded`/`IndexRemoved`): an upgrade at a million cases
    does not stop claims and completions for the build. SQLite: plain statements."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sqlmigrate", app, migration, stdout=out)
    sql = out.getvalue()
    assert "CREATE INDEX" in sql
    if connection.vendor == "postgresql":
        assert "CREATE INDEX CONCURRENTLY" in sql and "DROP INDEX CONCURRENTLY" in sql
        assert 'CREATE INDEX "' not in sql  # no index built under the writers' lock
    else:
        assert "CONCURRENTLY" not in sql
