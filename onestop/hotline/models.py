"""The FAQ of the 12345 knowledge base and the operators' lookup attempts."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FaqEntry(models.Model):
    """One question and its answer. ``reason`` links a pre-review reason code to it (one
    entry per code); ``search_grams`` holds the bigrams the search selects on
    (``onestop.hotline.search``), rewritten on every save by the service."""

    key = models.SlugField(_("编号"), max_length=64, unique=True)
    question = models.CharField(_("问题"), max_length=200)
    answer = models.TextField(_("答复"), max_length=4000)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True, default="")
    reason = models.CharField(
        _("对应的预审原因"), max_length=64, blank=True, default="", db_index=True
    )
    search_grams = models.TextField(editable=False, default="")
    updated_at = models.DateTimeField(_("更新时间"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[models.Manager[FaqEntry]] = models.Manager()

    class Meta:
        verbose_name = _("常见问题")
        verbose_name_plural = _("常见问题")
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["reason"], condition=~models.Q(reason=""), name="faq_one_per_reason"
            )
        ]

    def __str__(self) -> str:
        return self.question


class LookupAttempt(models.Model):
    """One case-status lookup by an operator: granted or refused, and why. Refused rows are
    the lockout's counters (per operator and per case number); they are written in their own
    transaction before the refusal is answered, so nothing rolls them back."""

    class Outcome(models.TextChoices):
        GRANTED = "granted", _("核验通过")
        WRONG = "wrong", _("核验未通过")
        LOCKED = "locked", _("已锁定")

    class Method(models.TextChoices):
        PHONE = "phone4", _("申请人手机号码后四位")
        MOTHER_ID = "mother_id", _("母亲身份证号码")

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    case_number = models.CharField(_("办件编号"), max_length=40, db_index=True)
    method = models.CharField(_("核验方式"), max_length=16, choices=Method.choices)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    at = models.DateTimeField(_("时间"), db_index=True)

    objects: ClassVar[models.Manager[LookupAttempt]] = models.Manager()

    class Meta:
        verbose_name = _("办件查询记录")
        verbose_name_plural = _("办件查询记录")
        indexes = [models.Index(fields=["operator", "outcome", "at"], name="lookup_operator_idx")]

    def __str__(self) -> str:
        return f"{self.case_number} {self.outcome}"
