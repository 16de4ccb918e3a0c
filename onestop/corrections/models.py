"""Corrections (更正) of an issued result, and the notices they leave on later items.

A parent or an officer asks to correct one field of an item's result (a misspelled name,
a wrong blood type); the issuing department approves or refuses. On approval a corrected
e-licence supersedes the old one (``ELicence.superseded_by``) and the items downstream
that used the old value get a `CorrectionNotice`. docs/adr/0042-corrections-supersede-e-licences.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedTextField

REASON_MAX = 500


class Correction(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("待审核")
        APPROVED = "approved", _("已更正")
        REFUSED = "refused", _("不予更正")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="corrections")
    item = models.ForeignKey(
        "workflow.CaseItem", on_delete=models.CASCADE, related_name="corrections"
    )
    # The licence the request was made against, and the corrected one it led to.
    licence = models.ForeignKey(
        "certificates.ELicence", on_delete=models.CASCADE, related_name="corrections"
    )
    corrected_licence = models.OneToOneField(
        "certificates.ELicence",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="correction",
    )
    field = models.CharField(_("更正字段"), max_length=40)
    # Personal data (a child's name): encrypted at rest, never in an audit record or a log.
    old_value = EncryptedTextField(_("原内容"), blank=True, default="")
    new_value = EncryptedTextField(_("更正为"))
    reason = EncryptedTextField(_("更正理由"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_role = models.CharField(_("申请人身份"), max_length=16)
    requested_at = models.DateTimeField(_("申请时间"))
    state = models.CharField(
        _("状态"), max_length=12, choices=State.choices, default=State.OPEN, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    refusal_reason = EncryptedTextField(_("不予更正的理由"), blank=True, default="")

    class Meta:
        verbose_name = _("证照更正")
        verbose_name_plural = _("证照更正")
        ordering = ["-requested_at"]
        constraints = [
            # One open correction per result and field at a time: two racing requests,
            # one wins (the other is told one is already waiting).
            models.UniqueConstraint(
                fields=["item", "field"],
                condition=models.Q(state="open"),
                name="correction_one_open_per_field",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.field}:{self.state}"


class CorrectionNotice(models.Model):
    """A later item of the case was told that a result it used was corrected: shown on its
    task until an officer of that item marks it read."""

    correction = models.ForeignKey(Correction, on_delete=models.CASCADE, related_name="notices")
    item = models.ForeignKey(
        "workflow.CaseItem", on_delete=models.CASCADE, related_name="correction_notices"
    )
    created_at = models.DateTimeField(_("通知时间"))
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    read_at = models.DateTimeField(_("已阅时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("更正通知")
        verbose_name_plural = _("更正通知")
        constraints = [
            models.UniqueConstraint(fields=["correction", "item"], name="correction_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.correction_id}:{self.item_id}"
