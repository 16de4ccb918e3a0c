"""A worker round over both outboxes (SMS and in-app messages, webhooks) costs two
transactions — every claim together, every record together — and a worker killed between
them loses nothing and makes no receiver act twice (issue 10: "≤ 30 transactions per
case"; "background work claimed and run in batches …, still exactly once to the
receiver"; "kill -9 mid-batch: 0 lost, 0 duplicated to the receiver"). ADR 0045."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from onestop.common.outbox import send_together
from onestop.integration.models import WebhookDelivery
from onestop.integration.services import webhooks_sender
from onestop.integration.tests.support import Api, current, hospital
from onestop.integration.tests.test_webhook_batches import HOOK, Recorder, WorkerKilled
from onestop.notifications.models import Notification, SmsOutbox
from onestop.notifications.services import notifications_sender
from onestop.simulate.receiver import Inbox
from onestop.testing.costs import database_cost
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db(transaction=True)  # count real transactions


def _cases(example, count: int, batch: int) -> tuple[Any, Any]:
    submitter = hospital(webhook_url=HOOK, webhook_batch_max=batch)
    api = Api(submitter.token)
    for n in range(count):
        document = another_newborn(current(example("qinbei-accept")), n)
        response = api.post("/cases", document, key=f"round-{n}")
        assert response.status_code == 201, response.content
    return submitter, WebhookDelivery.objects.order_by("-created_at")[0].created_at


def _round(now, transport):
    return send_together(
        [notifications_sender(now=now), webhooks_sender(now=now, transport=transport)]
    )


def test_a_round_over_both_outboxes_is_two_transactions_and_an_idle_round_one(example, media_root):
    submitter, last = _cases(example, 3, batch=50)
    assert Notification.objects.filter(channel="sms").exists()
    now = last + timedelta(seconds=1)
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    received = Recorder(inbox)
    with database_cost() as busy:
        messages, webhooks = _round(now, received)
    assert messages.claimed and webhooks.claimed
    assert not Notification.objects.filter(status="pending").exists()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    # the claims, the records, and the embedded SMS gateway's own INSERT (its database);
    # before: a claim, a read and a record per outbox, the webhook plan's read (7 + 1)
    assert busy.transactions == 3, busy.transactions
    with database_cost() as idle:
        messages, webhooks = _round(now + timedelta(seconds=5), received)
    assert messages.claimed == webhooks.claimed == 0
    assert idle.transactions == 1  # before: one claim per outbox


def test_a_worker_killed_mid_round_loses_nothing_and_no_receiver_acts_twice(example, media_root):
    """The worker dies after the SMS gateway took the messages and the department system
    a batch of webhooks, before anything was recorded: every row stays leased; the first
    round after the lease sends them again; the gateway and the receiver keep each once."""
    submitter, last = _cases(example, 5, batch=4)
    expected = {str(i) for i in WebhookDelivery.objects.values_list("delivery_id", flat=True)}
    sms = set(Notification.objects.filter(channel="sms").values_list("message_id", flat=True))
    assert len(expected) == 10 and sms
    now = last + timedelta(seconds=1)
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    received = Recorder(inbox)

    def dies_after_the_second_post(url, body, headers, timeout):
        status = received(url, body, headers, timeout)
        if len(received.posts) == 2:
            raise WorkerKilled
        return status

    with pytest.raises(WorkerKilled):
        _round(now, dies_after_the_second_post)
    assert inbox.stats.accepted == 8  # two batches of 4 reached the receiver
    assert SmsOutbox.objects.count() == len(sms)  # the gateway took every SMS
    assert not WebhookDelivery.objects.filter(status="delivered").exists()
    # nothing recorded (the in-app copies were written sent)
    assert not Notification.objects.filter(channel="sms", status="sent").exists()
    # While the dead worker's lease holds, no round takes its rows.
    held = _round(now + timedelta(seconds=60), received)
    assert held[0].claimed == held[1].claimed == 0

    after = now + timedelta(seconds=settings.OUTBOX_RECOVERY_SECONDS + 1)
    _messages, webhooks = _round(after, received)
    assert webhooks.statuses == {"delivered": 10}
    assert not Notification.objects.filter(status="pending").exists()
    assert _round(after + timedelta(hours=2), received)[1].claimed == 0
    assert set(inbox.stats.delivery_ids) == expected  # 0 lost
    assert len(inbox.stats.delivery_ids) == 10  # 0 acted on twice
    assert inbox.stats.duplicates == 8  # resent, deduplicated by the receiver
    assert set(SmsOutbox.objects.values_list("message_id", flat=True)) == sms
    assert SmsOutbox.objects.count() == len(sms)  # resent, kept once by the gateway


def test_a_round_decrypts_only_what_it_sends(example, media_root, monkeypatch):
    """An in-app message is not decrypted by the worker (it is written sent, session 27:
    the round never reads it), and a department system's webhook secret is decrypted once
    per POST, not once per row (issue 10: the claim decrypted every column of every row
    it read)."""
    from onestop.core.crypto import FieldCipher

    submitter, last = _cases(example, 3, batch=50)
    sms = Notification.objects.filter(channel="sms").count()
    in_app = Notification.objects.filter(channel="in_app").count()
    deliveries = WebhookDelivery.objects.count()
    assert sms and in_app and deliveries > 1
    inbox = Inbox({submitter.client.key_id: submitter.webhook_secret})
    received = Recorder(inbox)
    opened = []
    decrypt = FieldCipher.decrypt

    def counted(self, token):
        opened.append(token)
        return decrypt(self, token)

    monkeypatch.setattr(FieldCipher, "decrypt", counted)
    assert not Notification.objects.filter(channel="in_app").exclude(status="sent").exists()
    messages, webhooks = _round(last + timedelta(seconds=1), received)
    assert messages.statuses == {"sent": sms}
    assert webhooks.statuses == {"delivered": deliveries}
    assert inbox.stats.accepted == deliveries and inbox.stats.rejected == 0
    assert len(received.posts) == 1  # one client, batches of up to 50
    # each SMS's phone and text (to the gateway), the one POST's secret; before: every
    # message's two columns and every delivery's secret
    assert len(opened) == 2 * sms + 1, (len(opened), sms, in_app, deliveries)
