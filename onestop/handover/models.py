"""Hand-over batches of the BMC paper parts (副页 / 上户联 and ethnicity forms) from a
hospital to a police station, and the certificates each holds (ADR 0030).

One batch per hospital, receiving police station and period; a certificate is in exactly
one batch (the entry's one-to-one link to the certificate's item), late ones included.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedTextField


class HandoverBatch(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("待移交")
        SENT = "sent", _("已移交，待接收")
        RECEIVED = "received", _("已接收")

    class Method(models.TextChoices):
        IN_PERSON = "in_person", _("当面移交")
        POST = "post", _("邮政快递寄送")

    region = models.CharField(_("地区"), max_length=32, db_index=True)
    hospital_code = models.CharField(_("移交机构"), max_length=32)
    station_code = models.CharField(_("接收派出所"), max_length=32, db_index=True)
    division = models.CharField(_("所属区划"), max_length=6, db_index=True)
    period_kind = models.CharField(max_length=10)
    period = models.CharField(_("移交周期"), max_length=8)
    period_start = models.DateField()
    period_end = models.DateField()
    due_on = models.DateField(_("移交期限"))
    remind_on = models.DateField(_("提醒日期"))
    documents = models.JSONField(_("移交材料"), default=list)
    method = models.CharField(_("移交方式"), max_length=10, choices=Method.choices)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("创建时间"))
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    sent_at = models.DateTimeField(_("移交时间"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_count = models.PositiveIntegerField(_("移交份数"), null=True, blank=True)
    tracking_number = models.CharField(_("快递单号"), max_length=40, blank=True, default="")
    received_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_count = models.PositiveIntegerField(_("实收份数"), null=True, blank=True)
    discrepancy = models.CharField(_("差异说明"), max_length=500, blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("档案移交批次")
        verbose_name_plural = _("档案移交批次")
        ordering = ["due_on", "hospital_code", "station_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital_code", "station_code", "period"], name="handover_batch_once"
            )
        ]
        indexes = [
            # The reminder job and the overdue list read open batches by date.
            models.Index(fields=["state", "remind_on"], name="handover_open_remind"),
            models.Index(fields=["state", "due_on"], name="handover_state_due"),
            models.Index(fields=["hospital_code", "state"], name="handover_hospital_state"),
        ]

    def __str__(self) -> str:
        return f"{self.hospital_code}→{self.station_code} {self.period}"


class HandoverEntry(models.Model):
    """One certificate in a batch. ``certificate`` is the case's BMC item: one-to-one, so a
    certificate can never be in two batches."""

    batch = models.ForeignKey(HandoverBatch, on_delete=models.PROTECT, related_name="entries")
    certificate = models.OneToOneField(
        "workflow.CaseItem", on_delete=models.PROTECT, related_name="handover_entry"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    bmc_number = models.CharField(_("出生医学证明编号"), max_length=16)
    newborn_names = EncryptedTextField(_("新生儿姓名"))
    issued_at = models.DateTimeField(_("签发时间"))
    issued_period = models.CharField(_("签发所属周期"), max_length=8)
    ethnicity_form = models.BooleanField(_("含民族成份确认申请书"), default=False)
    added_at = models.DateTimeField(_("加入时间"))

    class Meta:
        verbose_name = _("移交证明")
        verbose_name_plural = _("移交证明")
        ordering = ["batch", "issued_at", "pk"]

    @property
    def late(self) -> bool:
        """Issued in an earlier period whose batch had already gone (补交)."""
        return self.issued_period != self.batch.period

    def __str__(self) -> str:
        return self.bmc_number
