"""Online application drafts (在线申请草稿): what a parent has entered so far, and the
materials already uploaded, until the application is signed and submitted.

Kept in the database rather than the session so that the personal data is encrypted at
rest like a case (the whole draft document is an `EncryptedJSONField`) and a parent can
continue on another day or device. A submitted draft is deleted with its files.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedJSONField


class Draft(models.Model):
    token = models.CharField(max_length=32, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    region = models.CharField(_("地区"), max_length=32)
    document = EncryptedJSONField(_("申请表草稿"))
    # Paths of the fields taken from the hospital's delivery record (no personal data).
    prefilled = models.JSONField(default=list)
    # Paths the hospital's own record fixed (proactive start, ADR 0033): shown read-only.
    locked = models.JSONField(default=list, blank=True)
    lookups = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("申请草稿")
        verbose_name_plural = _("申请草稿")
        constraints = [
            models.UniqueConstraint(fields=["owner", "region"], name="draft_owner_region")
        ]

    def __str__(self) -> str:
        return f"{self.region}:{self.token}"


def draft_file_path(instance: DraftMaterial, filename: str) -> str:
    # Never the parent's file name: a random name under the draft's folder.
    return f"drafts/{instance.draft.token}/{instance.token}"


class DraftMaterial(models.Model):
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="materials")
    code = models.CharField(_("材料"), max_length=40)
    token = models.CharField(max_length=40, unique=True)
    file = models.FileField(upload_to=draft_file_path)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()
    # What the whole-file check did (re-encoded, pages) and the malware scan's verdict; no
    # personal data. Empty for materials stored before the checks (they are checked again
    # when the draft is submitted). The file itself is encrypted (ADR 0014).
    checks = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("草稿材料")
        verbose_name_plural = _("草稿材料")
        constraints = [
            models.UniqueConstraint(fields=["draft", "code"], name="draft_material_code")
        ]


class Invitation(models.Model):
    """Proactive start (主动服务 / 免申即享, issue 11 promise 13, ADR 0033).

    A hospital system recorded a delivery through the API; the platform prepared the
    mother's draft from that record and invited her by SMS. One per delivery record (the
    one-to-one key makes a replayed or racing call a no-op). The link in the SMS holds no
    personal data: it leads to the parents' sign-in, then to the draft owned by the user
    of the mother's phone. Kept without the draft's data: only states and times.
    """

    class State(models.TextChoices):
        INVITED = "invited", _("已邀请")
        SUBMITTED = "submitted", _("已提交申请")
        EXPIRED = "expired", _("已过期")
        DISCARDED = "discarded", _("已清除草稿")

    delivery_record = models.OneToOneField(
        "hospitals.DeliveryRecord", on_delete=models.CASCADE, related_name="invitation"
    )
    draft = models.ForeignKey(
        Draft, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    region = models.CharField(_("地区"), max_length=32)
    state = models.CharField(
        _("状态"), max_length=12, choices=State.choices, default=State.INVITED, db_index=True
    )
    case_number = models.CharField(_("办件编号"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField(_("邀请时间"))
    expires_at = models.DateTimeField(_("有效期至"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("主动服务邀请")
        verbose_name_plural = _("主动服务邀请")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.region}:{self.pk}:{self.state}"
