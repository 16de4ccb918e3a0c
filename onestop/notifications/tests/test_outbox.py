"""Messages leave through the outbox: none lost, none sent twice, whatever crashes when."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django_tasks_db.models import DBTaskResult

from onestop.cases.services import case_submit
from onestop.common.outbox import lease as lease_of
from onestop.notifications.models import Notification, SmsOutbox
from onestop.notifications.services import (
    OUTBOX,
    notification_deliver,
    notification_queue,
    notifications_late,
    notifications_send_due,
)
from onestop.notifications.sms import FileSmsBackend
from onestop.ops.worker import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def submit(example, beijing):
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def second_sms(case, beijing):
    """One more SMS about ``case`` to its applicant, due half a minute after the
    submission's (an in-app copy is written sent: the worker's batches hold SMS only)."""
    notification_queue(
        key=f"test:{case.number}:second",
        phones=["13800000000"],
        body="第二条",
        at=beijing("2026-11-20T09:30:30+08:00"),
        case=case,
        channels=(Notification.Channel.SMS,),
    )
    return Notification.objects.get(dedup_key__startswith=f"test:{case.number}:second")


def test_nothing_is_sent_inside_the_request_and_everything_after(example, beijing, media_root):
    case = submit(example, beijing)
    queued = Notification.objects.filter(case=case)
    assert queued.count() == 2
    assert SmsOutbox.objects.count() == 0  # the request sent nothing
    # The in-app copy is delivered by being written sent (in the parent's inbox at the
    # commit); the SMS waits for the worker.
    assert dict(queued.values_list("channel", "status")) == {"in_app": "sent", "sms": "pending"}
    # No task per message (ADR 0023): the rows are the work the worker takes.
    assert DBTaskResult.objects.count() == 0
    run_queued_tasks()
    assert set(queued.values_list("status", flat=True)) == {"sent"}
    assert SmsOutbox.objects.count() == 1
    run_queued_tasks()
    assert notifications_send_due(now=beijing("2026-11-20T10:30:00+08:00")).claimed == 0
    assert SmsOutbox.objects.count() == 1


def test_crash_after_sending_before_marking_sends_once(example, beijing, media_root):
    case = submit(example, beijing)
    sms = Notification.objects.get(case=case, channel="sms")
    # The gateway accepted the message, then the worker died before recording it.
    FileSmsBackend().send(
        message_id=sms.message_id,
        phone=sms.phone or "",
        body=sms.body,
        at=beijing("2026-11-20T09:31:00+08:00"),
    )
    run_queued_tasks()
    sms.refresh_from_db()
    assert sms.status == "sent"
    assert SmsOutbox.objects.filter(message_id=sms.message_id).count() == 1


def test_a_worker_killed_mid_batch_leaves_its_rows_to_the_next_batch_after_the_lease(
    example, beijing, media_root
):
    """Issue 10: "the periodic sweeps queue tasks again once they have waited 2 minutes
    (1,000 duplicate task runs for 8,480 rows)". A batch's rows are leased: while the
    lease holds no other batch takes them (nothing is queued twice), after it the next
    batch does, and each message reaches the gateway once."""
    case = submit(example, beijing)
    second_sms(case, beijing)
    claimed_at = beijing("2026-11-20T09:31:00+08:00")
    # A worker claimed the batch and was killed before sending anything.
    taken = OUTBOX.claim_batch(now=claimed_at, limit=10)
    assert {row.case_id for row in taken} == {case.pk} and len(taken) == 2
    during = claimed_at + lease_of() - timedelta(seconds=1)
    assert notifications_send_due(now=during).claimed == 0  # leased: not taken again
    assert notifications_late(now=during) == 0
    after = claimed_at + lease_of() + timedelta(seconds=1)
    result = notifications_send_due(now=after)
    assert (result.claimed, result.statuses, result.full) == (2, {"sent": 2}, False)
    assert Notification.objects.filter(case=case, status="sent", attempts=2).count() == 2
    assert SmsOutbox.objects.count() == 2
    assert notifications_send_due(now=after + lease_of() * 2).claimed == 0


def test_batches_take_each_due_row_once_oldest_first(example, beijing, media_root):
    case = submit(example, beijing)
    later = second_sms(case, beijing)
    now = beijing("2026-11-20T09:31:00+08:00")
    first = OUTBOX.claim_batch(now=now, limit=1)
    second = OUTBOX.claim_batch(now=now, limit=5)
    assert len(first) == 1 and len(second) == 1
    assert second[0].pk == later.pk  # the older one first
    assert {first[0].pk, second[0].pk} == set(
        Notification.objects.filter(case=case, channel="sms").values_list("pk", flat=True)
    )
    assert OUTBOX.claim_batch(now=now, limit=5) == []


def test_gateway_down_retries_with_backoff_then_dead_letter(example, beijing, media_root, settings):
    settings.SMS_BACKEND = "onestop.notifications.sms.FailingSmsBackend"
    case = submit(example, beijing)
    sms = Notification.objects.get(case=case, channel="sms")
    now = beijing("2026-11-20T09:31:00+08:00")
    for attempt in range(1, 9):
        assert notification_deliver(sms.pk, now=now) in {"pending", "dead"}
        sms.refresh_from_db()
        assert sms.attempts == attempt
        now = sms.next_attempt_at + timedelta(seconds=1)
    assert sms.status == "dead"
    settings.SMS_BACKEND = "onestop.notifications.sms.FileSmsBackend"
    from onestop.notifications.services import notification_replay

    notification_replay(sms.pk)
    run_queued_tasks()
    sms.refresh_from_db()
    assert sms.status == "sent"
    assert SmsOutbox.objects.filter(message_id=sms.message_id).count() == 1


def test_sms_log_never_holds_the_full_phone_number(example, beijing, media_root, settings):
    submit(example, beijing)
    run_queued_tasks()
    text = settings.SMS_LOG.read_text(encoding="utf-8")
    assert "13800000000" not in text
    assert "138****0000" in text


class WatchingSmsBackend(FileSmsBackend):
    """The gateway, watching what the sender holds while it waits for the operator."""

    calls: list[dict[str, object]] = []

    def send(self, *, message_id, phone, body, at):
        row = Notification.objects.get(message_id=message_id)
        # Meanwhile a second sender (another worker given the same task) finds it leased.
        second = notification_deliver(row.pk, now=at)
        # And anyone may write the row: no lock is held on it.
        Notification.objects.filter(pk=row.pk).update(last_error="")
        WatchingSmsBackend.calls.append(
            {
                "in_transaction": connection.in_atomic_block,
                "attempts": row.attempts,
                "leased_until": row.next_attempt_at,
                "second_sender": second,
            }
        )
        super().send(message_id=message_id, phone=phone, body=body, at=at)


def test_the_gateway_is_called_under_a_lease_with_no_transaction_or_row_lock(
    example, beijing, media_root, settings
):
    """DESIGN.md: "the SMS sender takes a lease instead of holding a row lock while it
    calls the gateway" (issue 9, part 4): one sender, nothing held during the call."""
    settings.SMS_BACKEND = "onestop.notifications.tests.test_outbox.WatchingSmsBackend"
    WatchingSmsBackend.calls = []
    case = submit(example, beijing)
    sms = Notification.objects.get(case=case, channel="sms")
    now = beijing("2026-11-20T09:31:00+08:00")
    assert notification_deliver(sms.pk, now=now) == "sent"
    assert WatchingSmsBackend.calls == [
        {
            "in_transaction": False,
            "attempts": 1,
            "leased_until": now + timedelta(seconds=settings.OUTBOX_RECOVERY_SECONDS),
            "second_sender": "not_due",
        }
    ]
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.sent_at) == ("sent", 1, now)
    assert SmsOutbox.objects.filter(message_id=sms.message_id).count() == 1
    assert notification_deliver(sms.pk, now=now) == "sent"  # not sent again
    assert len(WatchingSmsBackend.calls) == 1


def test_a_sender_killed_holding_the_lease_is_sent_by_a_batch_after_it(
    example, beijing, media_root
):
    case = submit(example, beijing)
    sms = Notification.objects.get(case=case, channel="sms")
    claimed_at = beijing("2026-11-20T09:31:00+08:00")
    in_app = Notification.objects.get(case=case, channel="in_app")
    assert notification_deliver(in_app.pk, now=claimed_at) == "sent"
    assert OUTBOX.claim(sms.pk, now=claimed_at) is not None  # … and the worker died
    assert notification_deliver(sms.pk, now=claimed_at + timedelta(seconds=10)) == "not_due"
    lease = timedelta(seconds=120)
    assert notifications_send_due(now=claimed_at + lease - timedelta(seconds=1)).claimed == 0
    assert notifications_late(now=claimed_at + 2 * lease + timedelta(seconds=1)) == 1
    run_queued_tasks()
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("sent", 2)
    assert SmsOutbox.objects.filter(message_id=sms.message_id).count() == 1


class BlockingCheckSmsBackend(FileSmsBackend):
    """While the gateway answers, another connection writes the message's row."""

    outcomes: list[str] = []

    def send(self, *, message_id, phone, body, at):
        def other_writer() -> None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '2s'")
                Notification.objects.filter(message_id=message_id).update(last_error="")
                BlockingCheckSmsBackend.outcomes.append("written")
            except OperationalError as exc:
                BlockingCheckSmsBackend.outcomes.append(f"blocked: {exc}")
            finally:
                connection.close()

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join()
        super().send(message_id=message_id, phone=phone, body=body, at=at)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_no_row_lock_is_held_while_the_gateway_answers(example, beijing, media_root, settings):
    settings.SMS_BACKEND = "onestop.notifications.tests.test_outbox.BlockingCheckSmsBackend"
    BlockingCheckSmsBackend.outcomes = []
    case = submit(example, beijing)
    sms = Notification.objects.get(case=case, channel="sms")
    assert notification_deliver(sms.pk, now=beijing("2026-11-20T09:31:00+08:00")) == "sent"
    assert BlockingCheckSmsBackend.outcomes == ["written"]
