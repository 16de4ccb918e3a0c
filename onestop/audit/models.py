"""Append-only audit: who changed what (hash-chained per case) and who saw what.

`AuditRecord` rows are never updated or deleted by the application. Each carries the
SHA-256 of its content and of the previous record of the same stream (a case number, or
"system"), so removing or editing a row breaks the chain (`audit.services.verify_chain`).
Details never hold personal data: codes, states and field names only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditRecord(models.Model):
    at = models.DateTimeField(_("时间"), db_index=True)
    stream = models.CharField(_("对象"), max_length=40, db_index=True)
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

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["stream", "seq"]
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="audit_stream_seq")]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.action}"


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
