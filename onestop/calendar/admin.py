from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.calendar.models import CalendarYear, SpecialDay
from onestop.calendar.services import calendar_year_published


class SpecialDayInline(admin.TabularInline[SpecialDay, CalendarYear]):
    model = SpecialDay
    extra = 3


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin[CalendarYear]):
    list_display = ("year", "published", "source")
    inlines = [SpecialDayInline]

    def save_related(
        self, request: HttpRequest, form: ModelForm[CalendarYear], formsets: Any, change: bool
    ) -> None:
        """After the year's days are saved (same transaction as the admin's save): a
        published year recomputes the provisional due times at once."""
        super().save_related(request, form, formsets, change)
        year = form.instance
        if not year.published:
            return
        with transaction.atomic():
            changed = calendar_year_published(year=year, actor=request.user, now=timezone.now())
        if changed:
            self.message_user(
                request,
                _("已按 %(year)s 年节假日安排重新计算 %(n)s 个事项的办理期限")
                % {"year": year.year, "n": changed},
                messages.SUCCESS,
            )
