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
    assert WEBHOOKS.sweep(now=t0 + 10 * lease()) == 0
