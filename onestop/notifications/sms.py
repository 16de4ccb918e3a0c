"""SMS backends. The embedded default stores each message in `SmsOutbox` and appends a line
(with the phone number masked) to the SMS log file; a real gateway implements `send`, and
may implement `send_many` to take a worker's batch in one call (operators' gateways take
batches; the embedded one stores a batch in one transaction: issue 10)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

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


class FileSmsBackend:
    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None:
        self.send_many([SmsMessage(message_id, phone, body)], at=at)

    def send_many(self, messages: Sequence[SmsMessage], *, at: datetime) -> None:
        """A batch in one transaction: the ids already stored, then the others in one
        INSERT (a retried batch stores and logs each message once)."""
        if not messages:
            return
        with transaction.atomic():
            ids = [m.message_id for m in messages]
            known = set(
                SmsOutbox.objects.filter(message_id__in=ids).values_list("message_id", flat=True)
            )
            new = [m for m in messages if m.message_id not in known]
            SmsOutbox.objects.bulk_create(
                [
                    SmsOutbox(message_id=m.message_id, phone=m.phone, body=m.body, sent_at=at)
                    for m in new
                ],
                ignore_conflicts=True,
            )
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
