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
