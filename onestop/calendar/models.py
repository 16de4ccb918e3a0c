"""Years of the working-day calendar entered by administrators (beyond the shipped table).

A year is entered as a `CalendarYear` with its `SpecialDay` rows (statutory days off and
make-up working days, from the State Council notice). Only a year marked ``published``
takes effect. Due times beyond the last published year are provisional (暂按双休日计算,
weekends only) and marked so wherever shown; publishing the year in the admin recomputes
them (``onestop.calendar.services``). Staff see a timeline note naming the missing year.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField(_("年度"), primary_key=True)
    published = models.BooleanField(
        _("已发布"), default=False, help_text=_("发布后该年度的节假日安排用于计算办理时限")
    )
    source = models.CharField(_("依据"), max_length=128, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("日历年度")
        verbose_name_plural = _("日历年度（节假日安排）")
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year}"


class SpecialDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日（休息）")
        WORKDAY = "workday", _("调休上班日")

    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("节日"), max_length=16, blank=True, default="")

    class Meta:
        verbose_name = _("节假日/调休日")
        verbose_name_plural = _("节假日/调休日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"
