"""The background work one case causes, counted (issue 10: "≤ 10 background tasks per
case"; before: ≈42–52 — ≈24 SMS, ≈19 webhooks — one task per transaction).

A case is submitted over the API by the birth hospital's system and worked to the end by
the department systems (claim, then complete, every task), all in process through the
product's own API views; then the worker sends what the case queued. Counted:

- **background tasks**: django-tasks rows (``DBTaskResult``) queued while the case went
  through — each one a unit the worker claimed, ran and recorded in transactions of its
  own (before ADR 0023: one per SMS, in-app message and webhook delivery);
- **worker batches**: the claims (one ``UPDATE … RETURNING`` each on PostgreSQL) and the
  bulk records the worker needed to send all of the case's outbox rows;
- **outbox rows** of each kind: SMS, in-app messages, webhook deliveries — each one a
  send (or a mark) inside those batches.

No timing: the figures are counts, so the test asserts the same on any machine. Figures
(qinbei-accept, 7 items, one parent's phone, every department subscribed to webhooks),
before → after ADR 0023: background tasks 41 → 0; SMS 9 → 8 and in-app 9 → 8 (the last
item's message and the case's closing notice are one message); webhook deliveries 23 → 23
(sent in batches); worker batches: 41 task runs → 4 (2 claims, 2 bulk records).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from onestop.cases.models import Case
from onestop.common.outbox import Outbox
from onestop.integration import services as integration_services
from onestop.integration.models import WebhookDelivery
from onestop.notifications.models import Notification
from onestop.ops.demo import shift_dates
from onestop.ops.worker import run_queued_tasks
from onestop.simulate.credentials import Credential
from onestop.testing.drive import client_call, region_clients, work_every_task
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGION = "qinbei"
# The target for one case: at most 10 background tasks, and (what the tasks were
# for) at most 10 sends of each kind.
TARGET = 10


def _credentials() -> list[Credential]:
    return region_clients(REGION)


def _process_one_case(document_name: str) -> Case:
    """Submit a case as the hospital's system and work every task to done as the
    departments' systems would (claim, complete), through the API."""
    credentials = _credentials()
    client = Client()
    document: dict[str, Any] = json.loads((EXAMPLES / f"{document_name}.json").read_text("utf-8"))
    shift_dates(document, datetime.now(timezone(timedelta(hours=8))))
    another_newborn(document, 1)
    hospital = next(c for c in credentials if c.department == "hospital")
    call = client_call(client)
    number = call(hospital, "POST", "/cases", document)["number"]
    work_every_task(call, credentials)
    case = Case.objects.get(number=number)
    assert case.status == "completed"
    return case


def background_work(case: Case) -> dict[str, int]:
    notifications = Notification.objects.filter(case=case)
    return {
        "background tasks": DBTaskResult.objects.count(),
        "SMS": notifications.filter(channel=Notification.Channel.SMS).count(),
        "in-app messages": notifications.filter(channel=Notification.Channel.IN_APP).count(),
        "webhook deliveries": WebhookDelivery.objects.filter(case_number=case.number).count(),
        "items": case.items.count(),
    }


@pytest.mark.django_db(transaction=True)  # the worker closes its connection after a run
def test_one_case_queues_at_most_ten_background_tasks(
    media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _process_one_case("qinbei-accept")
    counts = background_work(case)
    assert counts["background tasks"] <= TARGET, counts  # before: 41
    assert counts["background tasks"] == 0, counts  # the outbox rows are the work
    # One message per state change: the decision, each item done, the last item's with
    # the case's closing notice (before: 9, the closing notice on its own).
    assert counts["SMS"] == counts["in-app messages"] == counts["items"] + 1, counts
    assert counts["webhook deliveries"] == 3 * counts["items"] + 2, counts  # created, claimed, done

    # The worker sends all of it in batches: claims and bulk records, not one task each.
    batches = {"claims": 0, "records": 0}
    claim_batch, record_batch = Outbox.claim_batch, Outbox.record_batch

    def counted_claim(self: Outbox[Any], **kwargs: Any) -> list[Any]:
        rows = claim_batch(self, **kwargs)
        batches["claims"] += bool(rows)
        return rows

    def counted_record(self: Outbox[Any], results: Any, **kwargs: Any) -> dict[str, int]:
        batches["records"] += 1
        return record_batch(self, results, **kwargs)

    monkeypatch.setattr(Outbox, "claim_batch", counted_claim)
    monkeypatch.setattr(Outbox, "record_batch", counted_record)
    monkeypatch.setattr(integration_services, "http_post", lambda *args: 204)
    run_queued_tasks()
    assert not Notification.objects.exclude(status="sent").exists()
    assert not WebhookDelivery.objects.exclude(status="delivered").exists()
    assert batches["claims"] + batches["records"] <= TARGET, batches
    assert batches == {"claims": 2, "records": 2}  # one batch of each outbox


def test_sent_sms_and_finished_tasks_are_pruned_after_their_retention(
    media_root: Path, settings: Any
) -> None:
    """Issue 10: "finished task rows are never pruned". SMS sent and task rows finished
    longer ago than their retention go; pending and dead rows, in-app messages (the
    parents' inbox) and recent rows stay."""
    from onestop.notifications.services import notification_queue
    from onestop.notifications.tasks import deliver_notification
    from onestop.ops.retention import background_prune
    from onestop.ops.schedule import SCHEDULE

    assert "background_prune" in {job.name for job in SCHEDULE}
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    old = now - timedelta(days=settings.OUTBOX_SENT_RETENTION_DAYS, seconds=1)
    for n in range(4):
        notification_queue(key=f"r:{n}", phones=["13800000000"], body=f"{n}", at=old)
    rows = list(Notification.objects.order_by("pk"))  # (sms, in-app) × 4
    sent_old_sms, sent_old_in_app, recent_sms, _, dead_sms, _, pending_sms, _ = rows
    Notification.objects.filter(pk__in=[r.pk for r in rows[:4]]).update(status="sent", sent_at=old)
    Notification.objects.filter(pk=recent_sms.pk).update(sent_at=now - timedelta(days=1))
    Notification.objects.filter(pk=dead_sms.pk).update(status="dead")
    deliver_notification.enqueue(sent_old_sms.pk)
    deliver_notification.enqueue(recent_sms.pk)
    finished, running = DBTaskResult.objects.order_by("pk")
    hours = settings.TASKS_FINISHED_RETENTION_HOURS
    DBTaskResult.objects.filter(pk=finished.pk).update(
        status="SUCCESSFUL", finished_at=now - timedelta(hours=hours, seconds=1)
    )
    assert background_prune(now=now) == {"sms": 1, "tasks": 1}
    left = set(Notification.objects.values_list("pk", flat=True))
    assert sent_old_sms.pk not in left
    assert {sent_old_in_app.pk, recent_sms.pk, dead_sms.pk, pending_sms.pk} <= left
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [running.pk]
    assert background_prune(now=now) == {"sms": 0, "tasks": 0}
