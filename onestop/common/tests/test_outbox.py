"""The one outbox mechanism (`onestop.common.outbox`) that sends SMS and webhooks: the
backoff schedule, the lease, and what a sender that outlived its lease may record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onestop.common.outbox import Attempt, backoff, lease
from onestop.integration.models import WebhookDelivery
from onestop.integration.services import OUTBOX as WEBHOOKS
from onestop.integration.tests.support import Api, current, hospital
from onestop.notifications.services import OUTBOX as MESSAGES

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"


def test_one_backoff_schedule_for_every_outbox():
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert backoff(20) == timedelta(hours=1)
    assert WEBHOOKS.backoff(3) == MESSAGES.backoff(3) == backoff(3)
    assert (MESSAGES.max_attempts, WEBHOOKS.max_attempts) == (8, 15)


@pytest.fixture
def delivery(example, media_root) -> WebhookDelivery:
    Api(hospital(webhook_url=HOOK, events=["task.created"]).token).post(
        "/cases", current(example("qinbei-accept")), key="k"
    )
    return WebhookDelivery.objects.get()


def test_a_sender_that_outlived_its_lease_leaves_a_failure_to_the_next(delivery):
    t0 = delivery.created_at
    first = WEBHOOKS.claim(delivery.pk, now=t0)
    assert first is not None and first.attempts == 1
    assert WEBHOOKS.claim(delivery.pk, now=t0 + lease() - timedelta(seconds=1)) is None
    second = WEBHOOKS.claim(delivery.pk, now=t0 + lease())  # the first sender hangs
    assert second is not None and second.attempts == 2
    # The first sender's failure comes in late: the second one's lease stands.
    late = WEBHOOKS.record(first, now=t0 + lease(), attempt=Attempt("HTTP 503"))
    assert late == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == t0 + 2 * lease() and delivery.last_error == ""
    assert WEBHOOKS.record(second, now=t0 + lease(), attempt=Attempt()) == "delivered"


def test_a_late_success_still_counts_and_nothing_undoes_it(delivery):
    t0 = delivery.created_at
    first = WEBHOOKS.claim(delivery.pk, now=t0)
    second = WEBHOOKS.claim(delivery.pk, now=t0 + lease())
    assert first is not None and second is not None
    assert WEBHOOKS.record(first, now=t0 + lease(), attempt=Attempt()) == "delivered"
    assert WEBHOOKS.record(second, now=t0 + lease(), attempt=Attempt("timeout")) == "delivered"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.delivered_at, delivery.last_error) == (
        "delivered",
        t0 + lease(),
        "",
    )
    assert WEBHOOKS.claim(delivery.pk, now=t0 + 10 * lease()) is None
    assert WEBHOOKS.claim_batch(now=t0 + 10 * lease(), limit=10) == []


def test_a_batch_records_successes_together_and_backs_off_each_failure(example, media_root):
    """Issue 10: "background work claimed and run in batches (many tasks per transaction),
    still exactly once to the receiver". One claim takes the due rows, the successes are
    marked in one UPDATE, a failure backs off by itself and is due again at its retry."""
    Api(hospital(webhook_url=HOOK).token).post("/cases", current(example("qinbei-accept")), key="b")
    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert len(rows) == 2
    t0 = max(r.created_at for r in rows)
    claimed = WEBHOOKS.claim_batch(now=t0, limit=10)
    assert [r.pk for r in claimed] == [r.pk for r in rows]  # oldest due first
    assert all(r.attempts == 1 for r in claimed)
    results = [
        (claimed[0], Attempt(fields={"last_status_code": 200})),
        (claimed[1], Attempt("HTTP 503", {"last_status_code": 503})),
    ]
    assert WEBHOOKS.record_batch(results, now=t0) == {"delivered": 1, "pending": 1}
    ok, failed = (WebhookDelivery.objects.get(pk=r.pk) for r in claimed)
    assert (ok.status, ok.delivered_at, ok.last_status_code) == ("delivered", t0, 200)
    assert (failed.status, failed.last_error, failed.next_attempt_at) == (
        "pending",
        "HTTP 503",
        t0 + backoff(1),
    )
    assert WEBHOOKS.claim_batch(now=t0 + backoff(1) - timedelta(seconds=1), limit=10) == []
    assert [r.pk for r in WEBHOOKS.claim_batch(now=t0 + backoff(1), limit=10)] == [failed.pk]


def test_a_batch_gives_back_the_rows_it_cannot_send_within_half_its_lease(example, media_root):
    """A slow receiver must not make a batch send a row after its lease ended (another
    worker may have taken it then): past half the lease the rest go back, due at once."""
    Api(hospital(webhook_url=HOOK).token).post("/cases", current(example("qinbei-accept")), key="s")
    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert len(rows) == 2
    t0 = max(r.created_at for r in rows)
    ticks = [0.0]
    sent: list[int] = []

    def slow(row: WebhookDelivery) -> Attempt:
        sent.append(row.pk)
        ticks[0] += lease().total_seconds() / 2 + 1  # this answer took over half the lease
        return Attempt()

    result = WEBHOOKS.send_due(slow, now=t0, limit=10, clock=lambda: ticks[0])
    assert (result.claimed, result.statuses) == (2, {"delivered": 1, "released": 1})
    assert sent == [rows[0].pk]
    back = WebhookDelivery.objects.get(pk=rows[1].pk)
    assert (back.status, back.attempts, back.next_attempt_at) == ("pending", 0, t0)
    assert [r.pk for r in WEBHOOKS.claim_batch(now=t0, limit=10)] == [rows[1].pk]
