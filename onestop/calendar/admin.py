from django.contrib import admin

from onestop.calendar.models import CalendarYear, SpecialDay


class SpecialDayInline(admin.TabularInline[SpecialDay, CalendarYear]):
    model = SpecialDay
    extra = 3


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin[CalendarYear]):
    list_display = ("year", "published", "source")
    inlines = [SpecialDayInline]
