"""Queueing messages (inside the caller's transaction) and delivering them (in the worker).

Messages are coalesced per recipient and state change (issue 10: "one SMS when several
items become ready together, not one per item"): while the handlers of one state change
run (`onestop.core.events.emit`), the messages they queue are held per recipient, case and
channel, and written when the change's events have all been handled — one message per
recipient, its texts one after the other. Outside an event dispatch a message is written
at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from onestop.accounts.models import User
from onestop.common.compiled import CompiledInsert
from onestop.common.fields import encrypted_once, index_of
from onestop.common.outbox import (
    Attempt,
    BatchResult,
    Outbox,
    Plan,
    Sender,
    outbox_wake,
    send_together,
)
from onestop.core.events import effects
from onestop.notifications.models import Notification
from onestop.notifications.selectors import parent_messages
from onestop.notifications.sms import SmsError, SmsMessage, send_many, sms_backend

if TYPE_CHECKING:  # the outbox keeps the case's row; it is below the cases app
    from onestop.cases.models import Case

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # 30 s, 1, 2, 4, 8, 16, 32 min: dead after about an hour
OUTBOX: Outbox[Notification] = Outbox(
    model=Notification,
    done_status=Notification.Status.SENT,
    done_at_field="sent_at",
    max_attempts=MAX_ATTEMPTS,
    sealed=("phone", "body"),  # an in-app message's are not read to mark it sent
    reads=("channel", "message_id", "phone", "body", "attempts"),
)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 1 hour (the schedule of every outbox)."""
    return OUTBOX.backoff(attempts)


@dataclass
class _Pending:
    """Messages for one recipient, case and channel, held until the state change ends."""

    keys: list[str]
    bodies: list[str]
    at: datetime
    case: Case | None
    phone: str
    phone_index: str
    channel: str


@dataclass
class _Buffer:
    # (the state change, the phone's index, the case, the channel): a message joins only
    # those of its own state change, also where several are written together (`held`).
    messages: dict[tuple[int, str, int | None, str], _Pending] = field(default_factory=dict)


_local = threading.local()


def _buffer() -> _Buffer | None:
    """The messages held for the state change being handled (None outside a dispatch)."""
    if not effects.dispatching():
        return None
    buffer: _Buffer | None = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = _Buffer()
    return buffer


def notification_queue(
    *,
    key: str,
    phones: Iterable[str],
    body: str,
    at: datetime,
    case: Case | None = None,
    channels: Iterable[str] = (Notification.Channel.SMS, Notification.Channel.IN_APP),
) -> None:
    """Queue a message to each phone on each channel. Call inside the change's transaction.

    ``key`` names the event (e.g. ``"case:QB-…:accepted"``); the same key and phone never
    queues twice, so a retried service call does not send a second message. Inside an
    event dispatch, the messages to one phone about one case on one channel are joined
    into one (written when the dispatch ends); outside one, every recipient's message on
    every channel is written at once, in one INSERT (`_write_many`).
    """
    buffer = _buffer()
    dispatch = effects.dispatch_number()
    written: list[_Pending] = []  # outside a dispatch
    for phone in dict.fromkeys(p for p in phones if p):
        phone_index = index_of(phone, purpose="phone")
        for channel in channels:
            held = _Pending([key], [body], at, case, phone, phone_index, channel)
            if buffer is None:
                written.append(held)
                continue
            slot = (dispatch, phone_index, case.pk if case is not None else None, channel)
            known = buffer.messages.get(slot)
            if known is None:
                buffer.messages[slot] = held
            elif key not in known.keys:
                known.keys.append(key)
                known.bodies.append(body)
    if written:
        _write_many(written)


def _flush() -> None:
    """Write the messages held for the state change that just ended (the dispatcher calls
    this at the end of every outermost `emit`, inside the change's transaction)."""
    buffer: _Buffer | None = getattr(_local, "buffer", None)
    _local.buffer = None
    if buffer is not None and buffer.messages:
        _write_many(list(buffer.messages.values()))


def _discard() -> None:
    _local.buffer = None


effects.on_dispatched(_flush, on_error=_discard)


def _dedup_key(held: _Pending) -> str:
    """One event's message keeps its event's key; a joined message is named by all of
    its events' keys (so a retried change that queues the same messages queues none)."""
    if len(held.keys) == 1:
        key = held.keys[0]
    else:
        digest = hashlib.sha256("\n".join(held.keys).encode()).hexdigest()[:32]
        key = f"joined:{digest}"
    return f"{key}:{held.channel}:{held.phone_index[:16]}"


def _signature(text: str) -> str:
    """The sender's signature a message starts with (``【出生一件事】``, or ``[…]``)."""
    for opening, closing in (("【", "】"), ("[", "]")):
        end = text.find(closing)
        if text.startswith(opening) and 0 < end <= 20:
            return text[: end + 1]
    return ""


def joined_text(bodies: list[str]) -> str:
    """The texts of one recipient's messages, one line each, the sender's signature once
    (each text is a whole message from the templates; the SMS is charged by length)."""
    signature = _signature(bodies[0]) if bodies else ""
    lines = [bodies[0]] if bodies else []
    for body in bodies[1:]:
        lines.append(body[len(signature) :] if signature and body.startswith(signature) else body)
    return "\n".join(lines)


def _write_many(held: list[_Pending]) -> None:
    """Write the messages one state change held in one INSERT that skips the keys already
    queued (a retried change): ``INSERT … ON CONFLICT DO NOTHING`` (SQLite: ``INSERT OR
    IGNORE``), where it was a query for the known keys and an INSERT of the rest, and
    before that a ``get_or_create`` (a SELECT, a SAVEPOINT, an INSERT, a RELEASE) per
    message (issue 10). The unique ``dedup_key`` decides, as ``get_or_create`` did.

    An in-app message is written sent (`_sent_on_write`): delivering it is being marked
    sent, so it is in the parent's inbox when the change commits, and the workers — woken
    only when an SMS was among the rows written — never claim nor record it."""
    keyed: dict[str, _Pending] = {}
    for h in held:
        keyed.setdefault(_dedup_key(h), h)  # the first one wins, as with get_or_create
    rows = [
        _INSERT.new(  # Notification(…) without Model.__init__ (`CompiledInsert.new`)
            dedup_key=key,
            case=h.case,
            channel=h.channel,
            phone=h.phone,
            phone_index=h.phone_index,
            body=joined_text(h.bodies),
            created_at=h.at,
            next_attempt_at=h.at,
            **_sent_on_write(h),
        )
        for key, h in keyed.items()
    ]
    # A recipient's message is two rows (SMS, in-app) of the same phone and text: each
    # text encrypted once, the two rows storing one token (`encrypted_once`).
    with encrypted_once():
        written = _insert_new(rows)
    if written and any(h.channel != Notification.Channel.IN_APP for h in keyed.values()):
        outbox_wake()


def _sent_on_write(held: _Pending) -> dict[str, Any]:
    """The columns of a message that is delivered as it is written: an in-app message
    (issue 10, session 27: the worker's claim and record of it were two UPDATEs of a
    ~0.9 KB row and of each of its indexes, for no call out). Its ``sent_at`` is the
    change's time; ``attempts`` stays 0 (nothing was attempted). An SMS is pending."""
    if held.channel != Notification.Channel.IN_APP:
        return {}
    return {"status": Notification.Status.SENT, "sent_at": held.at}


# The messages' INSERT … ON CONFLICT DO NOTHING, built once per process (issue 10: Django
# compiled it on every state change).
_INSERT: CompiledInsert[Notification] = CompiledInsert(Notification)


def _insert_new(rows: list[Notification]) -> int:
    """Insert ``rows``, skipping those whose unique key is taken (``ON CONFLICT DO
    NOTHING``, as ``bulk_create(ignore_conflicts=True)`` writes it); how many were written
    (``bulk_create`` does not say: the statement's row count does, on both databases)."""
    return _INSERT.insert_ignoring_conflicts(rows)


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


def notifications_send_due(*, now: datetime | None = None, limit: int = 100) -> BatchResult:
    """One batch of the worker: up to ``limit`` due messages claimed together, each sent
    (an in-app message is sent by being marked sent; an SMS goes to the gateway with its
    ``message_id``), the results recorded together (`Outbox.send_due`)."""
    return send_together([notifications_sender(now=now, limit=limit)])[0]


def notifications_sender(*, now: datetime | None = None, limit: int = 100) -> Sender[Notification]:
    """The messages' batch of a worker round, sent with the other outboxes' in two
    transactions (`onestop.common.outbox.send_together`, ADR 0045)."""
    now = now or timezone.now()

    def send(row: Notification) -> Attempt:
        if row.channel == Notification.Channel.IN_APP:
            return Attempt()
        return _sms_send(row, now)

    def plan(rows: list[Notification]) -> Plan[Notification]:
        # In-app messages are sent by being marked sent; the SMS go to the gateway as one
        # batch (issue 10: one transaction for the embedded gateway, not two per SMS).
        in_app = [r for r in rows if r.channel == Notification.Channel.IN_APP]
        sms = [r for r in rows if r.channel != Notification.Channel.IN_APP]
        return Plan(groups=[group for group in (in_app, sms) if group], held={})

    def send_group(group: list[Notification]) -> Attempt:
        if group[0].channel == Notification.Channel.IN_APP:
            return Attempt()
        return _sms_send_many(group, now)

    return Sender(OUTBOX, send, now=now, limit=limit, plan=plan, send_group=send_group)


def _sms_send_many(rows: list[Notification], now: datetime) -> Attempt:
    messages = [SmsMessage(row.message_id, row.phone or "", row.body) for row in rows]
    try:
        send_many(sms_backend(), messages, at=now)
    except SmsError as exc:
        return Attempt(error=str(exc) or "SmsError")
    except Exception as exc:  # a gateway must never break the worker; no text: it may hold a phone
        log.warning("SMS gateway failed for a batch of %d: %s", len(rows), type(exc).__name__)
        return Attempt(error=type(exc).__name__)
    return Attempt()


def notifications_late(*, now: datetime | None = None) -> int:
    """Pending messages more than a lease past due (monitoring: `Outbox.late`)."""
    return OUTBOX.late(now=now or timezone.now())


def notifications_prune(*, now: datetime | None = None) -> int:
    """Retention: SMS rows sent more than ``settings.OUTBOX_SENT_RETENTION_DAYS`` ago (the
    gateway keeps its own record). In-app messages are the parents' inbox and are kept."""
    now = now or timezone.now()
    return OUTBOX.prune(
        before=now - timedelta(days=settings.OUTBOX_SENT_RETENTION_DAYS),
        only=Q(channel=Notification.Channel.SMS),
    )


def notification_replay(notification_id: int, *, now: datetime | None = None) -> bool:
    """Staff put a dead message back in the queue."""
    return OUTBOX.replay(notification_id, now=now or timezone.now())


def notifications_mark_read(*, user: User, ids: Iterable[int], now: datetime | None = None) -> int:
    """Mark the parent's own in-app messages among ``ids`` as read (once: the first time
    stays). Returns how many changed."""
    now = now or timezone.now()
    return parent_messages(user).filter(pk__in=list(ids), read_at__isnull=True).update(read_at=now)
