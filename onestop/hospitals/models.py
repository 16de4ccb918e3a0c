"""Delivery records shared by the midwifery hospitals (分娩记录), used to pre-fill the form.

A record is found only by the hospital, its record number and the mother's ID number
together: the ID number is held as a keyed blind index, the delivery data encrypted.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedJSONField


class DeliveryRecord(models.Model):
    hospital_code = models.CharField(_("助产机构"), max_length=32)
    record_number = models.CharField(_("住院病历号"), max_length=64)
    mother_id_index = models.CharField(max_length=64, db_index=True, editable=False)
    data = EncryptedJSONField(_("分娩信息"))
    created_at = models.DateTimeField(_("导入时间"))
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("分娩记录")
        verbose_name_plural = _("分娩记录")
        constraints = [
            models.UniqueConstraint(
                fields=["hospital_code", "record_number"], name="delivery_record_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hospital_code}:{self.record_number}"
