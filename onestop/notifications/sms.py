"""SMS backends. The embedded default stores each message in `SmsOutbox` and appends a line
(with the phone number masked) to the SMS log file; a real gateway implements `send`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from onestop.notifications.models import SmsOutbox
from onestop.reference.idnumber import mask_phone


class SmsError(Exception):
    """The gateway did not accept the message (it will be retried)."""


class SmsBackend(Protocol):
    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None: ...


class FileSmsBackend:
    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None:
        _, created = SmsOutbox.objects.get_or_create(
            message_id=message_id, defaults={"phone": phone, "body": body, "sent_at": at}
        )
        if created:
            path = settings.SMS_LOG
            path.parent.mkdir(parents=True, exist_ok=True)
            line = body.replace("\n", " ")
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{at.isoformat()}\t{message_id}\t{mask_phone(phone)}\t{line}\n")


class FailingSmsBackend:
    """For failure tests: the gateway is down."""

    def send(self, *, message_id: uuid.UUID, phone: str, body: str, at: datetime) -> None:
        raise SmsError("短信网关不可用")


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
