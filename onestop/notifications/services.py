"""Queueing messages (inside the caller's transaction) and delivering them (in the worker)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from onestop.accounts.models import User
from onestop.common.fields import index_of
from onestop.common.outbox import Attempt, Outbox
from onestop.notifications.models import Notification
from onestop.notifications.selectors import parent_messages
from onestop.notifications.sms import SmsError, sms_backend

if TYPE_CHECKING:  # the outbox keeps the case's row; it is below the cases app
    from onestop.cases.models import Case

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # 30 s, 1, 2, 4, 8, 16, 32 min: dead after about an hour
OUTBOX: Outbox[Notification] = Outbox(
    model=Notification,
    task_path="onestop.notifications.tasks.deliver_notification",
    done_status=Notification.Status.SENT,
    done_at_field="sent_at",
    max_attempts=MAX_ATTEMPTS,
)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 1 hour (the schedule of every outbox)."""
    return OUTBOX.backoff(attempts)


def notification_queue(
    *,
    key: str,
    phones: Iterable[str],
    body: str,
    at: datetime,
    case: Case | None = None,
    channels: Iterable[str] = (Notification.Channel.SMS, Notification.Channel.IN_APP),
) -> list[Notification]:
    """Queue a message to each phone on each channel. Call inside the change's transaction.

    ``key`` names the event (e.g. ``"case:QB-…:accepted"``); the same key and phone never
    queues twice, so a retried service call does not send a second message.
    """
    queued: list[Notification] = []
    for phone in dict.fromkeys(p for p in phones if p):
        phone_index = index_of(phone, purpose="phone")
        for channel in channels:
            dedup_key = f"{key}:{channel}:{phone_index[:16]}"
            notification, created = Notification.objects.get_or_create(
                dedup_key=dedup_key,
                defaults={
                    "case": case,
                    "channel": channel,
                    "phone": phone,
                    "phone_index": phone_index,
                    "body": body,
                    "created_at": at,
                    "next_attempt_at": at,
                },
            )
            if created:
                OUTBOX.enqueue(notification.pk)
                queued.append(notification)
    return queued


def notification_deliver(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one queued message; returns its status afterwards. Idempotent: a sent message
    is not resent.

    The sender leases the row (`Outbox.claim`, committed at once) and calls the SMS gateway
    outside any transaction, holding no row lock, then records the result. The gateway
    receives ``message_id`` and deduplicates on it, so a crash after the send and before
    the record causes at most a duplicate *attempt*, never a duplicate message.
    """
    now = now or timezone.now()
    # An in-app message is delivered by being marked sent: one UPDATE.
    if OUTBOX.complete(notification_id, now=now, only=Q(channel=Notification.Channel.IN_APP)):
        return Notification.Status.SENT
    return OUTBOX.deliver(notification_id, now=now, send=lambda row: _sms_send(row, now))


def _sms_send(notification: Notification, now: datetime) -> Attempt:
    try:
        sms_backend().send(
            message_id=notification.message_id,
            phone=notification.phone or "",
            body=notification.body,
            at=now,
        )
    except SmsError as exc:
        return Attempt(error=str(exc) or "SmsError")
    except Exception as exc:  # a gateway must never break the worker; no text: it may hold a phone
        log.warning("SMS gateway failed for message %s: %s", notification.pk, type(exc).__name__)
        return Attempt(error=type(exc).__name__)
    return Attempt()


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Re-queue pending messages whose time is long past and that no task holds (a lost task,
    e.g. a worker killed mid-run): `Outbox.sweep`, once per recovery period."""
    return OUTBOX.sweep(now=now or timezone.now())


def notification_replay(notification_id: int, *, now: datetime | None = None) -> bool:
    """Staff put a dead message back in the queue."""
    return OUTBOX.replay(notification_id, now=now or timezone.now())


def notifications_mark_read(*, user: User, ids: Iterable[int], now: datetime | None = None) -> int:
    """Mark the parent's own in-app messages among ``ids`` as read (once: the first time
    stays). Returns how many changed."""
    now = now or timezone.now()
    return parent_messages(user).filter(pk__in=list(ids), read_at__isnull=True).update(read_at=now)
