"""SMS backends. The embedded default stores each message in `SmsOutbox` and appends a line
(with the phone number masked) to the SMS log file; a real gateway implements `send`, and
may implement `send_many` to take a worker's batch in one call (operators' gateways take
batches; the embedded one stores a batch in one statement: issue 10)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from onestop.common.compiled import CompiledInsert
from onestop.notifications.models import SmsOutbox
from onestop.reference.idnumber import mask_phone


class SmsError(Exception):
    """The gateway did not accept the message (it will be retried)."""


@dataclass(frozen=True)
class SmsMessage:
    """One SMS of a batch: the gateway de-duplicates by ``message_id`` (a retried batch is
    sent once)."""

    message_id: uuid.UUID
    phone: str
    body: str


class SmsBackend(Protocol):
    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None: ...


def send_many(backend: SmsBackend, messages: Sequence[SmsMessage], *, at: datetime) -> None:
    """Send ``messages`` through ``backend``: in one call where the backend takes batches,
    else one by one. Raises what the backend raises (the whole batch is retried; the
    gateway's de-duplication by ``message_id`` keeps each message sent once)."""
    many = getattr(backend, "send_many", None)
    if many is not None:
        many(messages, at=at)
        return
    for message in messages:
        backend.send(message_id=message.message_id, phone=message.phone, body=message.body, at=at)


# The embedded gateway's INSERT, built once per process.
_INSERT: CompiledInsert[SmsOutbox] = CompiledInsert(SmsOutbox)


class FileSmsBackend:
    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None:
        self.send_many([SmsMessage(message_id, phone, body)], at=at)

    def send_many(self, messages: Sequence[SmsMessage], *, at: datetime) -> None:
        """A batch in one statement: an INSERT that skips the ids already stored and
        returns the others (a retried batch stores and logs each message once; issue 10:
        it was a read of the known ids and an INSERT, in a transaction)."""
        if not messages:
            return
        rows = [
            SmsOutbox(message_id=m.message_id, phone=m.phone, body=m.body, sent_at=at)
            for m in messages
        ]
        written = _INSERT.insert_new(rows, "message_id")
        if written is None:  # where the one statement does not apply: as before
            with transaction.atomic():
                ids = [m.message_id for m in messages]
                known = set(
                    SmsOutbox.objects.filter(message_id__in=ids).values_list(
                        "message_id", flat=True
                    )
                )
                SmsOutbox.objects.bulk_create(
                    [r for r in rows if r.message_id not in known], ignore_conflicts=True
                )
            written = [m.message_id for m in messages if m.message_id not in known]
        taken = set(written)
        new = [m for m in messages if m.message_id in taken]
        if new:
            path = settings.SMS_LOG
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                for m in new:
                    line = m.body.replace("\n", " ")
                    handle.write(
                        f"{at.isoformat()}\t{m.message_id}\t{mask_phone(m.phone)}\t{line}\n"
                    )


class FailingSmsBackend:
    """For failure tests: the gateway is down."""

    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None:
        raise SmsError("短信网关不可用")


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
