"""The worker hands the SMS of a batch to the gateway in one call (issue 10: "background
work claimed and run in batches … still exactly once to the receiver"); the embedded
gateway stores a batch in one INSERT, and a retried batch stores and logs each SMS once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.notifications.models import Notification, SmsOutbox
from onestop.notifications.services import notification_queue, notifications_send_due
from onestop.notifications.sms import FileSmsBackend, SmsMessage

pytestmark = pytest.mark.django_db(transaction=True)

PHONES = [f"1380000{n:04d}" for n in range(5)]


def test_a_batch_of_sms_is_one_insert_and_a_retry_sends_none_twice(media_root):
    now = timezone.now()
    with transaction.atomic():
        notification_queue(key="batch-test", phones=PHONES, body="【出生一件事】测试", at=now)
    with CaptureQueriesContext(connection) as queries:
        result = notifications_send_due(now=now)
    inserts = [
        q
        for q in queries
        if q["sql"].startswith("INSERT") and "notifications_smsoutbox" in q["sql"]
    ]
    assert len(inserts) == 1  # five SMS, one statement (was: a SELECT and an INSERT each)
    # The five in-app copies were written sent: the batch claims the five SMS only.
    assert result.claimed == 5 and SmsOutbox.objects.count() == 5
    assert not Notification.objects.filter(status=Notification.Status.PENDING).exists()
    log_lines = settings.SMS_LOG.read_text(encoding="utf-8").splitlines()

    # The worker dies after the gateway took the batch, before recording it: the batch is
    # sent again after the lease; the gateway keeps one copy and logs nothing twice.
    again = [
        SmsMessage(row.message_id, row.phone or "", row.body)
        for row in Notification.objects.filter(channel=Notification.Channel.SMS)
    ]
    FileSmsBackend().send_many(again, at=now)
    assert SmsOutbox.objects.count() == 5
    assert settings.SMS_LOG.read_text(encoding="utf-8").splitlines() == log_lines


def test_the_gateway_stores_and_logs_the_new_of_a_partly_known_batch_in_one_statement(
    media_root,
):
    """A batch of which the gateway took some before (a retried batch that grew): one
    INSERT stores the new ones and says which they are (it was a read of the known ids
    and an INSERT); only those are logged."""
    import uuid

    now = timezone.now()
    first = [SmsMessage(uuid.uuid4(), PHONES[n], f"【出生一件事】第{n}条") for n in range(2)]
    FileSmsBackend().send_many(first, at=now)
    logged = settings.SMS_LOG.read_text(encoding="utf-8").splitlines()
    more = [SmsMessage(uuid.uuid4(), PHONES[n], f"【出生一件事】第{n}条") for n in range(2, 5)]
    with CaptureQueriesContext(connection) as queries:
        FileSmsBackend().send_many([*first, *more], at=now)
    statements = [q["sql"] for q in queries if "notifications_smsoutbox" in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("INSERT"), statements
    assert SmsOutbox.objects.count() == 5
    stored = {row.message_id: (row.phone, row.body) for row in SmsOutbox.objects.all()}
    assert stored == {m.message_id: (m.phone, m.body) for m in [*first, *more]}
    lines = settings.SMS_LOG.read_text(encoding="utf-8").splitlines()
    assert lines[: len(logged)] == logged
    assert [line.split("\t")[1] for line in lines[len(logged) :]] == [
        str(m.message_id) for m in more
    ]
