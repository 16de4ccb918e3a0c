"""Append-only audit: who changed what (hash-chained per case) and who saw what.

`AuditRecord` rows are never updated or deleted by the application (on PostgreSQL a
trigger refuses it, see migration 0003). Each carries an HMAC-SHA256, under a key kept
outside the database (``ONESTOP_AUDIT_KEY``), of its content and of the previous record of
the same stream (a case number, or "system"), so removing or editing a row breaks the chain
and nobody without the key can recompute it (`audit.services.verify_chain`). Records
written before the key existed carry ``alg="sha256"`` (legacy, plain SHA-256).

`AuditAnchor` rows pin the state of all streams at a moment (count, last id and a rolling
digest over every record), signed with the platform's seal key and also appended to a file
outside the database, so deleting the newest records or a whole stream is detected
(`audit.integrity`). Details never hold personal data: codes, states and field names only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditRecord(models.Model):
    at = models.DateTimeField(_("时间"), db_index=True)
    # Indexed by ``audit_stream_seq`` (its first column): no index of its own.
    stream = models.CharField(_("对象"), max_length=40)
    seq = models.PositiveIntegerField(_("序号"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=64)
    action = models.CharField(_("操作"), max_length=48)
    object_type = models.CharField(_("对象类型"), max_length=32)
    object_id = models.CharField(_("对象标识"), max_length=64)
    detail = models.JSONField(_("详情"), default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # "hmac-sha256" (keyed, key_id names the key) or "sha256" (legacy, before keys).
    alg = models.CharField(_("摘要算法"), max_length=16, default="hmac-sha256")
    key_id = models.CharField(_("密钥标识"), max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["stream", "seq"]
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="audit_stream_seq")]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.action}"


class AuditAnchor(models.Model):
    """A signed statement of the whole audit log at one moment (see ``audit.integrity``).

    ``document`` is the canonical JSON that was signed (the columns repeat its values for
    queries); ``signature`` is base64url. The same two appear as one line of the anchor
    file outside the database."""

    seq = models.PositiveIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"))
    last_id = models.BigIntegerField(_("截至记录"))
    records_total = models.BigIntegerField(_("记录数"))
    streams_total = models.BigIntegerField(_("对象数"))
    digest = models.CharField(_("累积摘要"), max_length=64)
    key_id = models.CharField(_("签名密钥"), max_length=80)
    document = models.TextField()
    signature = models.TextField()

    class Meta:
        verbose_name = _("审计锚点")
        verbose_name_plural = _("审计锚点")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"anchor {self.seq} ≤{self.last_id}"


class AccessRecord(models.Model):
    """A staff member opened personal data (a case, a task, a material)."""

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    case_number = models.CharField(_("办件编号"), max_length=40, db_index=True)
    what = models.CharField(_("查看内容"), max_length=64)
    granted = models.BooleanField(_("允许"), default=True)

    class Meta:
        verbose_name = _("查看记录")
        verbose_name_plural = _("查看记录")
        ordering = ["-at"]
