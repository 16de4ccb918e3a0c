"""The working calendar in force: the shipped table plus published years from the database."""

from __future__ import annotations

from onestop.calendar import domain
from onestop.calendar.models import CalendarYear, SpecialDay


def current_calendar() -> domain.WorkingCalendar:
    calendar = domain.load_default_calendar()
    years = list(CalendarYear.objects.filter(published=True).order_by("year"))
    for entry in years:
        if calendar.first_year <= entry.year <= calendar.last_year:
            continue  # the shipped table already has it
        days = [
            domain.SpecialDay(date=d.date, kind=d.kind, name=d.name)  # type: ignore[arg-type]
            for d in SpecialDay.objects.filter(year=entry).order_by("date")
        ]
        try:
            calendar = calendar.with_year(entry.year, days)
        except ValueError:
            break  # a gap in the years: stop at the last contiguous one
    return calendar
