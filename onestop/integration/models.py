"""API clients of department systems, their webhook deliveries and remembered answers to
idempotent requests.

An `ApiClient` is one department system for one jurisdiction (a hospital, a police station
or a division): it authenticates with ``Bearer <key_id>.<secret>`` and acts through its own
service account (a `User` with the officer role, the same department and jurisdiction), so
every workflow permission check applies to it unchanged. Only a SHA-256 hash of the secret
is stored; the webhook secret is encrypted at rest because the platform signs with it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.accounts.models import JurisdictionKind, department_choices
from onestop.common.fields import EncryptedTextField

# Webhook event types a client can subscribe to.
EVENT_TYPES = (
    "task.created",
    "task.updated",
    "case.decided",
    "case.completed",
    "correction.requested",  # to the issuing department (ADR 0042)
    "result.corrected",  # to the departments of the later items (ADR 0042)
)

# The most events one batched webhook POST carries (ADR 0028).
WEBHOOK_BATCH_LIMIT = 100


def default_events() -> list[str]:
    return list(EVENT_TYPES)


class ApiClient(models.Model):
    name = models.CharField(_("名称"), max_length=80)
    department = models.CharField(_("部门"), max_length=24, choices=department_choices)
    jurisdiction_kind = models.CharField(
        _("辖区类型"), max_length=16, choices=JurisdictionKind.choices
    )
    jurisdiction_code = models.CharField(
        _("辖区代码"),
        max_length=32,
        help_text=_("医疗机构/派出所代码，或行政区划代码（前缀匹配）"),
    )
    key_id = models.CharField(_("密钥编号"), max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_client",
        editable=False,
    )
    may_submit_cases = models.BooleanField(
        _("可提交申请"),
        default=False,
        help_text=_("助产机构系统可代家长提交本机构出生的新生儿的申请"),
    )
    webhook_url = models.URLField(_("回调地址"), max_length=300, blank=True, default="")
    webhook_secret = EncryptedTextField(_("回调签名密钥"), blank=True, default="", editable=False)
    events = models.JSONField(_("订阅的事件"), default=default_events, blank=True)
    # Webhook batches (issue 10, ADR 0028): 1 = one event per POST (the default contract);
    # more = the receiver accepts a JSON array of up to this many events per POST.
    webhook_batch_max = models.PositiveSmallIntegerField(
        _("每次推送的事件数上限"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(WEBHOOK_BATCH_LIMIT)],
        help_text=_(
            "1：每个事件单独推送；大于 1：接收方接受批量推送（JSON 数组），每次最多这么多事件"
        ),
    )
    # Echoes (issue 10, session 28; ADR 0011): False = no ``task.updated`` for the changes
    # the client made itself through the API (its claims, completions, returns and
    # refusals: the answer to its request carries them). True = every event (the default).
    webhook_echo = models.BooleanField(
        _("推送本系统所做的变更"),
        default=True,
        help_text=_(
            "取消勾选：本系统通过接口领取、办结、退回或不予办理事项后，不再就这些变更向本系统推送"
            " task.updated；他人所做的变更照常推送"
        ),
    )
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口客户端")
        verbose_name_plural = _("接口客户端")
        ordering = ["department", "jurisdiction_code", "name"]
        indexes = [models.Index(fields=["department", "jurisdiction_kind", "jurisdiction_code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"


class WebhookDelivery(models.Model):
    """One event to send to one client (the outbox row). Sent at least once; the receiver
    deduplicates on ``delivery_id``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        DELIVERED = "delivered", _("已送达")
        DEAD = "dead", _("发送失败（待人工处理）")

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("事件"), max_length=40)
    case_number = models.CharField(_("办件编号"), max_length=40, blank=True, default="")
    payload = models.JSONField(_("内容"))
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    last_status_code = models.PositiveSmallIntegerField(_("最近响应码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("创建时间"))
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("回调投递")
        verbose_name_plural = _("回调投递")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The due rows' index (ADR 0023): the worker's batch claim walks the pending
            # rows by due time; sent rows drop out of it. It also serves the webhook plan's
            # read of the pending deliveries of a client's cases.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="webhook_pending_due",
                condition=models.Q(status="pending"),
            ),
            # The dead letter (newest first, as the admin lists it) and the retention (the
            # deliveries delivered before a day): partial indexes that a delivery enters
            # once. They replace ``(status, next_attempt_at)``, which every INSERT, claim
            # and record wrote to, and which the retention could not use (its time is
            # ``delivered_at``; most rows are delivered): session 27, ADR 0025.
            models.Index(
                fields=["created_at"],
                name="webhook_dead",
                condition=models.Q(status="dead"),
            ),
            models.Index(
                fields=["delivered_at"],
                name="webhook_delivered",
                condition=models.Q(status="delivered"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class IdempotentResponse(models.Model):
    """The answer given to a client's request with an ``Idempotency-Key``: replaying the
    key with the same request returns it again instead of acting twice."""

    # Indexed by ``idempotent_response_key`` (its first column): no index of its own.
    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=128)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotent_response_key")
        ]


class WebhookStamp(models.Model):
    """One row whose ``token`` the database itself changes, by triggers, on every INSERT,
    DELETE (and TRUNCATE on PostgreSQL) of an API client and every UPDATE that sets what
    routes or sends its webhooks (migration 0007's ``COLUMNS``), whoever writes: admin, command
    line, services, ``psql``. The API's client read carries it, so each process keeps
    the webhook targets until it moves (issue 10, session 26; migration 0007)."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    token = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("回调配置版本")
        verbose_name_plural = _("回调配置版本")
