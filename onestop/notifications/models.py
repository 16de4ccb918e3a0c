"""The outbox: every SMS and in-app message is a row written in the transaction of the
change that caused it, and sent afterwards by the worker (never inside the request).

``dedup_key`` is unique, so the same event never queues two messages; the SMS gateway is
given the row's ``message_id`` and receivers deduplicate on it, so a crash between
sending and marking sent delivers the message once.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedTextField


class Notification(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        IN_APP = "in_app", _("站内消息")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        DEAD = "dead", _("发送失败（待人工处理）")

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dedup_key = models.CharField(max_length=160, unique=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    phone = EncryptedTextField(_("手机号码"), null=True, blank=True)
    phone_index = models.CharField(max_length=64, blank=True, default="")
    body = EncryptedTextField(_("内容"))
    status = models.CharField(
        _("状态"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("创建时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息（发件箱）")
        ordering = ["-created_at"]
        indexes = [
            # The due rows' index (ADR 0023): the worker's batch claim walks the pending
            # rows by due time; sent rows drop out of it.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_pending_due",
                condition=models.Q(status="pending"),
            ),
            # A parent's messages (by the phone's blind index): a plain index, without the
            # ``LIKE`` twin (``varchar_pattern_ops``) a ``db_index`` text column gets on
            # PostgreSQL — no query matches it by prefix (session 23, ADR 0025). The due
            # time has no index of its own: every read of it is of the pending rows (above).
            models.Index(fields=["phone_index"], name="notification_phone_index"),
            # The dead letter (newest first, as the admin lists it) and the retention (the
            # SMS sent before a day): partial indexes that a message enters once, when it
            # dies or its SMS is recorded sent. They replace an index on the status, which
            # every INSERT and every claim and record of a message wrote to and which no
            # read used but the dead letter's: most rows are sent, so the retention's DELETE
            # read the whole table (session 27, ADR 0025).
            models.Index(
                fields=["created_at"],
                name="notification_dead",
                condition=models.Q(status="dead"),
            ),
            models.Index(
                fields=["sent_at"],
                name="notification_sms_sent",
                condition=models.Q(status="sent", channel="sms"),
            ),
        ]


class SmsOutbox(models.Model):
    """What the embedded SMS backend 'sent' (the stand-in for the operator's gateway)."""

    message_id = models.UUIDField(unique=True)
    phone = EncryptedTextField()
    body = EncryptedTextField()
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = _("短信发件记录")
        verbose_name_plural = _("短信发件记录")
        ordering = ["-sent_at"]
