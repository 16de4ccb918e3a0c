"""Webhooks: queued with the change, signed, retried with backoff, dead-lettered and
replayable — and a receiver that is down for a while gets every delivery exactly once."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from onestop.core.signing import (
    DELIVERY_HEADER,
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature,
    webhook_signature_valid,
)
from onestop.integration.keepalive import TransportError
from onestop.integration.models import WebhookDelivery
from onestop.integration.services import (
    MAX_ATTEMPTS,
    OUTBOX,
    backoff,
    webhook_deliver,
    webhook_replay,
    webhooks_send_due,
)
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.ops.worker import run_queued_tasks
from onestop.simulate.receiver import Inbox, WebhookReceiver
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"
OUTBOX_RECOVERY = 120  # settings.OUTBOX_RECOVERY_SECONDS: the lease


def test_signature_round_trip_and_what_a_receiver_refuses():
    body = b'{"event":"task.created"}'
    signature = webhook_signature("s3cret", 1_800_000_000, body)
    assert webhook_signature_valid("s3cret", "1800000000", body, signature, now=1_800_000_010)
    assert not webhook_signature_valid("other", "1800000000", body, signature, now=1_800_000_010)
    assert not webhook_signature_valid(
        "s3cret", "1800000000", body + b" ", signature, now=1_800_000_010
    )
    assert not webhook_signature_valid("s3cret", "1800000000", body, signature, now=1_800_001_000)
    assert not webhook_signature_valid("s3cret", "soon", body, signature, now=1_800_000_000)

    inbox = Inbox({"osk_a": "s3cret"}, clock=lambda: 1_800_000_010)
    headers = {
        DELIVERY_HEADER: "d-1",
        KEY_ID_HEADER: "osk_a",
        TIMESTAMP_HEADER: "1800000000",
        SIGNATURE_HEADER: signature,
    }
    assert inbox.receive(headers, body) == 200
    assert inbox.receive(headers, body) == 200  # a redelivery: taken once
    assert inbox.stats.accepted == 1 and inbox.stats.duplicates == 1
    assert inbox.receive({**headers, SIGNATURE_HEADER: "0" * 64}, body) == 401
    assert inbox.receive({**headers, KEY_ID_HEADER: "osk_b"}, body) == 401
    assert inbox.events.qsize() == 1


def test_events_go_to_the_clients_of_the_task_and_carry_no_personal_data(example, media_root):
    submitter = hospital(webhook_url=HOOK)
    cdc = issue("cdc", "division", "4507", webhook_url=HOOK)
    issue("cdc", "division", "3501", webhook_url=HOOK)  # another city
    issue("hospital", "hospital", "fujian-mch", webhook_url=HOOK)
    issue("police", "police_station", "qinbei-xintang")  # no webhook URL: polls
    quiet = issue("hospital", "hospital", "qinbei-mch", webhook_url=HOOK, events=["case.completed"])

    document = current(example("qinbei-accept"))
    number = Api(submitter.token).post("/cases", document, key="w1").json()["number"]

    sent = {
        (d.client_id, d.event, d.payload.get("task", {}).get("item"))
        for d in WebhookDelivery.objects.all()
    }
    assert sent == {
        (submitter.client.pk, "case.decided", None),
        (submitter.client.pk, "task.created", "birth_certificate"),
        (cdc.client.pk, "task.created", "vaccination_certificate"),
    }
    assert not WebhookDelivery.objects.filter(client=quiet.client).exists()
    delivery = WebhookDelivery.objects.get(client=cdc.client)
    assert delivery.payload["case_number"] == number
    assert delivery.payload["task"]["jurisdiction"] == {"kind": "division", "code": "450703"}
    assert delivery.payload["delivery_id"] == str(delivery.delivery_id)
    text = json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    for personal in ("黄丽", "450703199203150220", "13800000000", "覃沐阳"):
        assert personal not in json.dumps(text, ensure_ascii=False)
    # No task per delivery (ADR 0023): the rows, due now, are the worker's work.
    assert DBTaskResult.objects.count() == 0
    assert all(d.next_attempt_at == d.created_at for d in WebhookDelivery.objects.all())


class FlakyReceiver:
    """A department system's receiver (the simulator's `Inbox`) behind a line that is down
    until ``up_at`` and that, once, loses the answer to a delivery it took."""

    def __init__(self, secrets: dict[str, str], up_at: datetime, clock: list[datetime]):
        self.clock = clock
        self.inbox = Inbox(
            secrets,
            clock=lambda: clock[0].timestamp(),
            down=lambda: clock[0] < up_at,
        )
        self.attempts: dict[str, list[datetime]] = {}
        self.lose_next_answer = True

    def __call__(self, url: str, body: bytes, headers, timeout: float) -> int:
        self.attempts.setdefault(headers[DELIVERY_HEADER], []).append(self.clock[0])
        status = self.inbox.receive(headers, body)
        if status == 200 and self.lose_next_answer:
            self.lose_next_answer = False
            raise TransportError("connection reset after the receiver took it")
        return status


def test_a_receiver_down_for_a_while_gets_every_delivery_exactly_once(example, media_root):
    submitter = hospital(webhook_url=HOOK)
    cdc = issue("cdc", "division", "450703", webhook_url=HOOK)
    api = Api(submitter.token)
    for n in range(5):
        document = another_newborn(current(example("qinbei-accept")), n)
        assert api.post("/cases", document, key=f"w-{n}").status_code == 201
    expected = set(WebhookDelivery.objects.values_list("delivery_id", flat=True))
    assert len(expected) == 15

    start = WebhookDelivery.objects.order_by("created_at")[0].created_at
    clock = [start]
    receiver = FlakyReceiver(
        {
            submitter.client.key_id: submitter.webhook_secret,
            cdc.client.key_id: cdc.webhook_secret,
        },
        up_at=start + timedelta(minutes=20),
        clock=clock,
    )
    pending = WebhookDelivery.objects.filter(status="pending")
    while clock[0] < start + timedelta(hours=2) and pending.exists():
        # The worker's batches (small ones here, so that a round takes several).
        while webhooks_send_due(now=clock[0], transport=receiver, limit=4).full:
            pass
        clock[0] += timedelta(seconds=15)

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    taken = {str(d) for d in receiver.inbox.stats.delivery_ids}
    assert taken == {str(d) for d in expected}  # every delivery …
    assert len(receiver.inbox.stats.delivery_ids) == len(expected)  # … exactly once
    assert receiver.inbox.stats.duplicates == 1  # the one whose answer was lost
    assert receiver.inbox.stats.refused_in_outage > 0
    for times in receiver.attempts.values():  # exponential backoff while it was down
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= backoff(i + 1) for i, gap in enumerate(gaps))
        assert len(times) >= 5
    assert all(d.attempts >= 5 for d in WebhookDelivery.objects.all())


def test_dead_after_max_attempts_then_replayed_by_staff(example, media_root, admin_client):
    submitter = hospital(webhook_url=HOOK, events=["task.created"])
    Api(submitter.token).post("/cases", current(example("qinbei-accept")), key="dead")
    delivery = WebhookDelivery.objects.get()
    now = delivery.created_at
    codes: list[int] = []

    def down(url, body, headers, timeout):
        codes.append(503)
        return 503

    for _ in range(MAX_ATTEMPTS):
        assert webhook_deliver(delivery.pk, now=now, transport=down) in ("pending", "dead")
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
    assert delivery.status == "dead" and delivery.attempts == MAX_ATTEMPTS
    assert delivery.last_status_code == 503 and delivery.last_error == "HTTP 503"
    assert webhook_deliver(delivery.pk, now=now, transport=down) == "dead"
    assert len(codes) == MAX_ATTEMPTS

    page = admin_client.get("/admin/integration/webhookdelivery/?status__exact=dead")
    assert page.status_code == 200 and str(delivery.delivery_id) in page.content.decode()
    admin_client.post(
        "/admin/integration/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
    assert not webhook_replay(delivery.pk)  # only dead ones
    received: list[str] = []

    def up(url, body, headers, timeout):
        received.append(headers[DELIVERY_HEADER])
        return 204

    assert webhook_deliver(delivery.pk, now=delivery.next_attempt_at, transport=up) == "delivered"
    assert received == [str(delivery.delivery_id)]


def test_a_delivery_is_sent_by_one_sender_at_a_time_and_resent_after_a_lost_lease(
    example, media_root
):
    submitter = hospital(webhook_url=HOOK, events=["task.created"])
    Api(submitter.token).post("/cases", current(example("qinbei-accept")), key="lease")
    delivery = WebhookDelivery.objects.get()
    calls: list[str] = []

    def slow(url, body, headers, timeout):
        # While this sender waits for the receiver, a second sender finds it leased.
        calls.append("sent")
        assert webhook_deliver(delivery.pk, now=delivery.created_at, transport=slow) == "not_due"
        return 200

    assert webhook_deliver(delivery.pk, now=delivery.created_at, transport=slow) == "delivered"
    assert calls == ["sent"]

    # A worker killed while holding the lease (claimed at created_at + 1 min): no batch
    # takes the delivery while the lease holds, the first batch after it does, once.
    Api(submitter.token).post(
        "/cases",
        another_newborn(current(example("qinbei-accept")), 1) | {"channel": "counter"},
        key="lost",
    )
    lost = WebhookDelivery.objects.get(status="pending")
    claimed_at = lost.created_at + timedelta(minutes=1)
    assert [d.pk for d in OUTBOX.claim_batch(now=claimed_at, limit=10)] == [lost.pk]
    received: list[str] = []

    def up(url, body, headers, timeout):
        received.append(headers[DELIVERY_HEADER])
        return 204

    for seconds in (1, 60, OUTBOX_RECOVERY - 1):
        during = claimed_at + timedelta(seconds=seconds)
        assert webhooks_send_due(now=during, transport=up).claimed == 0
    after = claimed_at + timedelta(seconds=OUTBOX_RECOVERY + 1)
    result = webhooks_send_due(now=after, transport=up)
    assert (result.claimed, result.statuses) == (1, {"delivered": 1})
    assert webhooks_send_due(now=after + timedelta(hours=1), transport=up).claimed == 0
    assert received == [str(lost.delivery_id)]
    lost.refresh_from_db()
    assert (lost.status, lost.attempts, lost.last_status_code) == ("delivered", 2, 204)


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_signed_webhooks_over_http(example, media_root):
    inbox = Inbox({})
    receiver = WebhookReceiver(inbox).start()
    try:
        submitter = hospital(webhook_url=receiver.url)
        inbox.secrets[submitter.client.key_id] = submitter.webhook_secret
        Api(submitter.token).post("/cases", current(example("qinbei-accept")), key="http")
        run_queued_tasks()
    finally:
        receiver.stop()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert inbox.stats.accepted == WebhookDelivery.objects.count() == 2
    assert inbox.stats.rejected == 0
    events = sorted(inbox.events.get_nowait()["event"] for _ in range(2))
    assert events == ["case.decided", "task.created"]


def test_old_answers_and_delivered_webhooks_are_pruned_dead_letters_kept(example, media_root):
    from onestop.integration.models import IdempotentResponse
    from onestop.integration.services import integration_records_prune

    submitter = hospital(webhook_url=HOOK)
    Api(submitter.token).post("/cases", current(example("qinbei-accept")), key="p1")
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert len(deliveries) >= 2
    long_ago = datetime.fromisoformat("2026-01-01T00:00:00+08:00")
    delivered, dead = deliveries[0], deliveries[1]
    WebhookDelivery.objects.filter(pk=delivered.pk).update(
        status=WebhookDelivery.Status.DELIVERED, delivered_at=long_ago
    )
    WebhookDelivery.objects.filter(pk=dead.pk).update(status=WebhookDelivery.Status.DEAD)
    IdempotentResponse.objects.create(
        client=submitter.client,
        key="old",
        request_digest="0" * 64,
        status_code=200,
        body={},
        created_at=long_ago,
    )
    # The answer that created the case is kept with the case, however old.
    IdempotentResponse.objects.filter(key="p1").update(created_at=long_ago)
    pruned = integration_records_prune(now=datetime.fromisoformat("2026-11-20T10:00:00+08:00"))
    assert pruned == {"idempotent_responses": 1, "webhook_deliveries": 1}
    assert list(IdempotentResponse.objects.values_list("key", "status_code")) == [("p1", 201)]
    assert not WebhookDelivery.objects.filter(pk=delivered.pk).exists()
    assert WebhookDelivery.objects.filter(pk=dead.pk).exists()
