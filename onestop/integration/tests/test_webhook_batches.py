"""Webhook batches per receiver (issue 10, ADR 0028): a client that opts in gets one POST
carrying a JSON array of its pending events — signed like a single delivery, each event
with its own ``delivery_id`` — still exactly once to the receiver and in order per case;
a client that has not opted in keeps one POST per event."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from onestop.core.signing import (
    BATCH_EVENT,
    BATCH_HEADER,
    DELIVERY_HEADER,
    EVENT_HEADER,
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature_valid,
)
from onestop.integration.models import WebhookDelivery
from onestop.integration.services import OUTBOX, api_client_create, webhooks_send_due
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.simulate.receiver import Inbox
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"
OUTBOX_RECOVERY = 120  # settings.OUTBOX_RECOVERY_SECONDS: the lease


class Recorder:
    """A transport: every POST recorded, then handed to the simulator's receiver (`Inbox`)
    that verifies the signature and acts once per delivery id."""

    def __init__(self, inbox: Inbox, status: int | None = None) -> None:
        self.inbox = inbox
        self.status = status  # answer this instead of asking the receiver (e.g. 503)
        self.posts: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, url: str, body: bytes, headers, timeout: float) -> int:
        self.posts.append((dict(headers), body))
        if self.status is not None:
            return self.status
        # The receiver's clock is the sender's (the tests move the worker's time ahead).
        sent_at = float(headers[TIMESTAMP_HEADER])
        self.inbox.clock = lambda: sent_at
        return self.inbox.receive(headers, body)

    def events(self, post: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.posts[post][1])
        return events


def _submit(api: Api, example, count: int, prefix: str) -> list[str]:
    numbers = []
    for n in range(count):
        document = another_newborn(current(example("qinbei-accept")), n)
        response = api.post("/cases", document, key=f"{prefix}-{n}")
        assert response.status_code == 201, response.content
        numbers.append(response.json()["number"])
    return numbers


def test_a_batch_of_events_is_one_signed_post_and_the_receiver_acts_once_per_event(
    example, media_root
):
    submitter = hospital(webhook_url=HOOK, webhook_batch_max=50)  # opted in
    cdc = issue("cdc", "division", "450703", webhook_url=HOOK)  # not: one POST per event
    numbers = _submit(Api(submitter.token), example, 5, "b")
    mine = list(WebhookDelivery.objects.filter(client=submitter.client).order_by("pk"))
    assert len(mine) == 10  # case.decided + task.created per case
    inbox = Inbox(
        {
            submitter.client.key_id: submitter.webhook_secret,
            cdc.client.key_id: cdc.webhook_secret,
        }
    )
    transport = Recorder(inbox)

    result = webhooks_send_due(transport=transport)

    assert result.statuses == {"delivered": 15}
    batched = [(h, b) for h, b in transport.posts if h[EVENT_HEADER] == BATCH_EVENT]
    single = [(h, b) for h, b in transport.posts if h[EVENT_HEADER] != BATCH_EVENT]
    assert len(batched) == 1 and len(single) == 5  # 15 events in 6 POSTs instead of 15
    headers, body = batched[0]
    assert headers[KEY_ID_HEADER] == submitter.client.key_id
    assert DELIVERY_HEADER not in headers and headers[BATCH_HEADER]
    assert webhook_signature_valid(
        submitter.webhook_secret,
        headers[TIMESTAMP_HEADER],
        body,
        headers[SIGNATURE_HEADER],
        now=timezone.now().timestamp(),
    )
    events = json.loads(body)
    # Each event is the body a single delivery would have had, in the order written.
    assert [e["delivery_id"] for e in events] == [str(d.delivery_id) for d in mine]
    assert events == [d.payload for d in mine]
    for number in numbers:
        assert [e["event"] for e in events if e["case_number"] == number] == [
            "case.decided",
            "task.created",
        ]
    # The other client's contract is unchanged: one event per POST with its delivery id.
    for headers, body in single:
        assert headers[KEY_ID_HEADER] == cdc.client.key_id
        assert json.loads(body)["delivery_id"] == headers[DELIVERY_HEADER]
    assert (inbox.stats.accepted, inbox.stats.duplicates, inbox.stats.batches) == (15, 0, 1)
    assert inbox.events.qsize() == 15
    assert inbox.stats.rejected == 0

    # A tampered batch is refused whole.
    headers, body = batched[0]
    assert inbox.receive(headers, body.replace(b"task.created", b"task.updated")) == 401


def test_a_client_takes_at_most_its_batch_size_per_post(example, media_root):
    submitter = hospital(webhook_url=HOOK, webhook_batch_max=3)
    _submit(Api(submitter.token), example, 4, "size")
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    transport = Recorder(inbox)
    assert webhooks_send_due(transport=transport).statuses == {"delivered": 8}
    assert [len(transport.events(i)) for i in range(len(transport.posts))] == [3, 3, 2]
    assert inbox.stats.accepted == 8


def test_a_refused_batch_is_retried_whole_and_taken_once(example, media_root):
    submitter = hospital(webhook_url=HOOK, webhook_batch_max=50)
    _submit(Api(submitter.token), example, 3, "retry")
    start = WebhookDelivery.objects.order_by("-created_at")[0].created_at  # every row due
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    down = Recorder(inbox, status=503)
    assert webhooks_send_due(now=start + timedelta(seconds=5), transport=down).statuses == {
        "pending": 6
    }
    assert len(down.posts) == 1 and inbox.stats.accepted == 0

    # The receiver takes the batch but its answer is lost: it is sent again, and the
    # receiver acts on each event once.
    lost = Recorder(inbox)
    lost_answer = lambda url, body, headers, timeout: (lost(url, body, headers, timeout), 502)[1]  # noqa: E731
    retry = start + timedelta(seconds=40)
    assert webhooks_send_due(now=retry, transport=lost_answer).statuses == {"pending": 6}
    assert inbox.stats.accepted == 6
    up = Recorder(inbox)
    assert webhooks_send_due(now=retry + timedelta(minutes=5), transport=up).statuses == {
        "delivered": 6
    }
    assert len(up.posts) == 1
    assert (inbox.stats.accepted, inbox.stats.duplicates) == (6, 6)
    assert inbox.events.qsize() == 6
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_case_event_waits_behind_an_earlier_one_of_its_case(example, media_root):
    """In order per case: a new event of a case whose earlier event waits for its retry
    is held back until that retry, then both go in one POST, in order."""
    submitter = hospital(webhook_url=HOOK, webhook_batch_max=50)
    api = Api(submitter.token)
    (number,) = _submit(api, example, 1, "order")
    first = WebhookDelivery.objects.order_by("created_at")[0].created_at
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    assert webhooks_send_due(now=first, transport=Recorder(inbox, status=503)).statuses == {
        "pending": 2
    }
    task = api.get("/tasks").json()["tasks"][0]
    assert api.post(f"/tasks/{task['id']}/claim", key="claim").status_code == 200
    later = WebhookDelivery.objects.get(event="task.updated")

    transport = Recorder(inbox)
    now = max(timezone.now(), later.created_at)
    assert webhooks_send_due(now=now, transport=transport).statuses == {"held": 1}
    assert transport.posts == []
    later.refresh_from_db()
    assert later.next_attempt_at == first + timedelta(seconds=30)  # the earlier one's retry
    assert later.attempts == 0

    assert webhooks_send_due(now=first + timedelta(seconds=31), transport=transport).statuses == {
        "delivered": 3
    }
    assert [(e["event"], e["case_number"]) for e in transport.events(0)] == [
        ("case.decided", number),
        ("task.created", number),
        ("task.updated", number),
    ]


class WorkerKilled(BaseException):
    """The worker process dies (kill -9): nothing after this point of the batch runs."""


def test_a_worker_killed_mid_batch_loses_nothing_and_the_receiver_acts_once(example, media_root):
    """The worker dies after the receiver took a batch and before the batch was recorded
    (the rows stay leased): the first batch after the lease resends them, the receiver
    deduplicates by each event's id — 0 lost, 0 acted on twice."""
    submitter = hospital(webhook_url=HOOK, webhook_batch_max=4)
    _submit(Api(submitter.token), example, 5, "kill")
    expected = {str(i) for i in WebhookDelivery.objects.values_list("delivery_id", flat=True)}
    assert len(expected) == 10
    # Every row due (the submissions may take a while on a loaded machine).
    now = WebhookDelivery.objects.order_by("-created_at")[0].created_at + timedelta(seconds=1)
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    received = Recorder(inbox)

    def dies_after_the_second_post(url, body, headers, timeout):
        status = received(url, body, headers, timeout)
        if len(received.posts) == 2:
            raise WorkerKilled
        return status

    with pytest.raises(WorkerKilled):
        webhooks_send_due(now=now, transport=dies_after_the_second_post)
    assert inbox.stats.accepted == 8  # two batches of 4 reached the receiver
    assert not WebhookDelivery.objects.filter(status="delivered").exists()
    # While the dead worker's lease holds, no batch takes its rows.
    assert webhooks_send_due(now=now + timedelta(seconds=60), transport=received).claimed == 0

    after = now + timedelta(seconds=OUTBOX_RECOVERY + 1)
    result = webhooks_send_due(now=after, transport=received)
    assert result.statuses == {"delivered": 10}
    assert webhooks_send_due(now=after + timedelta(hours=2), transport=received).claimed == 0
    assert set(inbox.stats.delivery_ids) == expected  # 0 lost
    assert len(inbox.stats.delivery_ids) == 10  # 0 acted on twice
    assert inbox.stats.duplicates == 8  # resent, deduplicated by the receiver
    assert inbox.events.qsize() == 10


def test_batch_size_is_checked_and_single_delivery_keeps_its_contract(example, media_root):
    with pytest.raises(ValueError):
        api_client_create(
            name="x",
            department="cdc",
            jurisdiction_kind="division",
            jurisdiction_code="45",
            webhook_batch_max=0,
        )
    submitter = hospital(webhook_url=HOOK, events=["case.decided"])
    assert submitter.client.webhook_batch_max == 1  # the default: no batches
    _submit(Api(submitter.token), example, 2, "single")
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    transport = Recorder(inbox)
    assert webhooks_send_due(transport=transport).statuses == {"delivered": 2}
    assert [h[EVENT_HEADER] for h, _ in transport.posts] == ["case.decided"] * 2
    assert all(isinstance(json.loads(b), dict) for _, b in transport.posts)
    assert OUTBOX.pending().count() == 0
