"""Queueing messages (inside the caller's transaction) and delivering them (in the worker)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import User
from onestop.common.fields import index_of
from onestop.common.requeue import late_rows_requeue
from onestop.notifications.models import Notification
from onestop.notifications.selectors import parent_messages
from onestop.notifications.sms import SmsError, sms_backend

if TYPE_CHECKING:  # the outbox keeps the case's row; it is below the cases app
    from onestop.cases.models import Case

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 1 hour."""
    delay: timedelta = BASE_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(delay, timedelta(hours=1))


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
    from onestop.notifications.tasks import deliver_notification

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
                deliver_notification.enqueue(notification.pk)
                queued.append(notification)
    return queued


def notification_deliver(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one queued message; returns its status. Idempotent: a sent message is not resent.

    The gateway receives ``message_id`` and deduplicates on it, so a crash after the send and
    before the commit below causes at most a duplicate *attempt*, never a duplicate message.
    """
    now = now or timezone.now()
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.status != Notification.Status.PENDING:
            return notification.status if notification else "missing"
        if notification.channel == Notification.Channel.SMS:
            try:
                sms_backend().send(
                    message_id=notification.message_id,
                    phone=notification.phone or "",
                    body=notification.body,
                    at=now,
                )
            except SmsError as exc:
                return _failed(notification, now, str(exc))
        notification.status = Notification.Status.SENT
        notification.sent_at = now
        notification.attempts += 1
        notification.save(update_fields=["status", "sent_at", "attempts"])
        return notification.status


def _failed(notification: Notification, now: datetime, error: str) -> str:
    from onestop.notifications.tasks import deliver_notification

    notification.attempts += 1
    notification.last_error = error[:200]
    if notification.attempts >= MAX_ATTEMPTS:
        notification.status = Notification.Status.DEAD
        log.warning(
            "notification %s is dead after %s attempts", notification.pk, notification.attempts
        )
    else:
        notification.next_attempt_at = now + backoff(notification.attempts)
        deliver_notification.using(run_after=notification.next_attempt_at).enqueue(notification.pk)
    notification.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
    return notification.status


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Re-queue pending messages whose time is long past and that no task holds (a lost task,
    e.g. a worker killed mid-run). Deliveries are idempotent, so a double queue is harmless.

    A message is re-queued once per recovery period, not on every sweep: its due time moves
    to ``now`` by a conditional update (two workers sweeping at once queue it once).
    Otherwise a queue running behind gets another copy of every late message every minute
    and falls further behind.
    """
    from onestop.notifications.tasks import deliver_notification

    now = now or timezone.now()
    return late_rows_requeue(
        Notification.objects.filter(status=Notification.Status.PENDING),
        late_before=now - timedelta(seconds=settings.OUTBOX_RECOVERY_SECONDS),
        now=now,
        enqueue=deliver_notification.enqueue,
    )


def notification_replay(notification_id: int, *, now: datetime | None = None) -> None:
    """Staff put a dead message back in the queue."""
    from onestop.notifications.tasks import deliver_notification

    now = now or timezone.now()
    with transaction.atomic():
        updated = Notification.objects.filter(
            pk=notification_id, status=Notification.Status.DEAD
        ).update(status=Notification.Status.PENDING, attempts=0, next_attempt_at=now)
        if updated:
            deliver_notification.enqueue(notification_id)


def notifications_mark_read(*, user: User, ids: Iterable[int], now: datetime | None = None) -> int:
    """Mark the parent's own in-app messages among ``ids`` as read (once: the first time
    stays). Returns how many changed."""
    now = now or timezone.now()
    return parent_messages(user).filter(pk__in=list(ids), read_at__isnull=True).update(read_at=now)
