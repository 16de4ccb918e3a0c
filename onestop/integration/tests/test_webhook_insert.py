"""The webhook deliveries' INSERT made once per number of rows, with the workers' wake-up
(``NOTIFY``, PostgreSQL) in the same statement where the transaction has not sent it yet;
and a claim that reads neither the working calendar nor the reference stamp (issue 10,
session 22, helper h-claimsvc)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.cases.models import Case, TimelineEntry
from onestop.common.outbox import WAKE_CHANNEL
from onestop.integration.models import WebhookDelivery
from onestop.integration.services import INSERT_ROWS_MAX, _deliveries_write, webhooks_queue
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.ops.worker import Waiter
from onestop.workflow.models import CaseItem, ItemState

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"


def _accepted(example) -> tuple[Case, CaseItem]:
    submitter = hospital(webhook_url=HOOK)
    number = Api(submitter.token).post("/cases", current(example("qinbei-accept")), key="i1")
    case = Case.objects.get(number=number.json()["number"])
    row = CaseItem.objects.get(case=case, item="vaccination_certificate")
    return case, row


def _queue(case: Case, row: CaseItem) -> list[WebhookDelivery]:
    return webhooks_queue(
        case=case,
        event="task.updated",
        change="item_claimed",
        at=timezone.now(),
        item=row.item,
        newborn=row.newborn,
        department=row.department,
        jurisdiction=(row.jurisdiction_kind, row.jurisdiction_code),
        data={"state": row.state, "version": row.version},
        task=row,
    )


@pytest.mark.django_db(transaction=True)  # a transaction of its own: not woken yet
def test_deliveries_are_written_in_one_statement_with_their_keys_and_columns(example, media_root):
    issue("cdc", "division", "4507", webhook_url=HOOK)
    issue("cdc", "division", "450703", webhook_url=HOOK)
    case, row = _accepted(example)
    WebhookDelivery.objects.all().delete()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        first = _queue(case, row)
        second = _queue(case, row)
    writes = [q["sql"] for q in queries if "integration_webhookdelivery" in q["sql"]]
    assert len(first) == len(second) == 2
    assert len(writes) == 2  # one statement per call, both rows in it
    assert not any(q["sql"].startswith("SELECT pg_notify") for q in queries)
    if connection.vendor == "postgresql":  # once per transaction: the first INSERT only
        assert "pg_notify" in writes[0] and "pg_notify" not in writes[1]
    else:
        assert not any("pg_notify" in sql for sql in writes)
    stored = {d.pk: d for d in WebhookDelivery.objects.all()}
    assert sorted(stored) == sorted(d.pk for d in first + second)
    assert [d.pk for d in first + second] == sorted(d.pk for d in first + second)
    for made in first + second:
        assert made._state.adding is False
        found = stored[made.pk]
        for field in WebhookDelivery._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(made, field.attname), field.name
        assert found.status == WebhookDelivery.Status.PENDING and found.attempts == 0
        assert found.payload["delivery_id"] == str(found.delivery_id)


def test_more_rows_than_one_statement_carries_go_by_djangos_batches(example, media_root):
    case, _ = _accepted(example)
    client_id = WebhookDelivery.objects.values_list("client_id", flat=True).first()
    assert client_id is not None
    now = timezone.now()
    rows = [
        WebhookDelivery(
            client_id=client_id,
            event="task.updated",
            case_number=case.number,
            next_attempt_at=now,
            created_at=now,
            payload={"n": n},
        )
        for n in range(INSERT_ROWS_MAX + 1)
    ]
    with transaction.atomic():
        _deliveries_write(rows)
    assert all(r.pk is not None for r in rows)
    assert WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).count() == len(rows)


def test_a_claim_reads_no_calendar_and_sends_no_notify_of_its_own(example, media_root):
    cdc = issue("cdc", "division", "4507", webhook_url=HOOK)
    _, row = _accepted(example)
    assert row.state == ItemState.READY
    with CaptureQueriesContext(connection) as queries:
        answer = Api(cdc.token).post(f"/tasks/{row.pk}/claim", {}, key="c1")
    assert answer.status_code == 200, answer.content
    assert not any("reference_referencestamp" in q["sql"] for q in queries)
    assert not any(q["sql"].startswith("SELECT pg_notify") for q in queries)
    delivery = WebhookDelivery.objects.get(client=cdc.client, event="task.updated")
    assert delivery.payload["task"]["state"] == ItemState.IN_PROGRESS
    assert delivery.payload["change"] == "item_claimed"
    line = TimelineEntry.objects.get(case=row.case_id, kind="item_claimed")
    assert line.item == row.item and line.visible_to_parent and line.actor_label
    assert (
        line.pk > TimelineEntry.objects.filter(case=row.case_id).exclude(pk=line.pk).latest("pk").pk
    )
    writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "WITH"))]
    lines = [sql for sql in writes if "cases_timelineentry" in sql]
    assert len(lines) == 1
    if connection.vendor == "postgresql":  # the line and the delivery in one statement
        assert "integration_webhookdelivery" in lines[0]


@pytest.mark.django_db(transaction=True)
def test_a_dispatchs_lines_and_deliveries_in_one_statement_keys_in_order(example, media_root):
    """Several lines and deliveries of one dispatch (the submission's): every row written
    once, the keys set on the instances in the order they were held."""
    issue("cdc", "division", "4507", webhook_url=HOOK)
    with CaptureQueriesContext(connection) as queries:
        case, _ = _accepted(example)
    lines = list(TimelineEntry.objects.filter(case=case).order_by("pk"))
    assert [line.kind for line in lines][:2] == ["submitted", "decided"]
    assert len({(line.kind, line.item) for line in lines}) == len(lines)
    statements = [q["sql"] for q in queries if "cases_timelineentry" in q["sql"]]
    assert len(statements) == 1
    if connection.vendor == "postgresql":
        assert statements[0].startswith("WITH t AS (INSERT INTO")
        assert "integration_webhookdelivery" in statements[0]


@pytest.mark.django_db(transaction=True)
def test_the_notify_in_the_insert_wakes_the_worker_once_on_commit_only(
    example, media_root, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY: PostgreSQL")
    settings.WORKER_IDLE_SECONDS = 30
    issue("cdc", "division", "4507", webhook_url=HOOK)
    case, row = _accepted(example)
    waiter = Waiter(interval=1.0)
    listener = waiter._listen()
    try:
        with transaction.atomic():
            _queue(case, row)
            _queue(case, row)
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [WAKE_CHANNEL]
        assert list(listener.notifies(timeout=0.5)) == []  # one per transaction
        with pytest.raises(RuntimeError), transaction.atomic():
            _queue(case, row)
            raise RuntimeError("rolled back")
        assert list(listener.notifies(timeout=1)) == []
    finally:
        waiter.close()
