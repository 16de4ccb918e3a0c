"""Writes of the working-day calendar: a published year takes effect at once.

Issue 8, defect 4: due times computed beyond the table are provisional (暂按双休日计算) and
"recomputed automatically when an administrator publishes the year". The admin calls
``calendar_year_published`` after the year and its days are saved, in the same transaction:
the recomputation and its audit record commit together with the year, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onestop.accounts.models import actor_label
from onestop.audit.services import audit_record
from onestop.calendar.events import CalendarYearPublished
from onestop.calendar.models import CalendarYear
from onestop.calendar.selectors import current_calendar
from onestop.core.events import emit
from onestop.reference.selectors import forget_stamp

AUDIT_STREAM = "calendar"


def calendar_year_published(*, year: CalendarYear, actor: Any, now: datetime) -> int:
    """Recompute the provisional due times with the calendar now in force; one audit record
    on the calendar's stream says who published which year and how many items changed.
    Call inside the transaction that saved the year. Returns that number."""
    # One writer of the calendar stream at a time (audit_record's contract).
    CalendarYear.objects.select_for_update().filter(pk=year.pk).first()
    forget_stamp()  # however the year was written, read the calendar as it now is
    calendar = current_calendar()
    published = CalendarYearPublished(year=year.year, actor=actor, at=now, calendar=calendar)
    emit(published)  # the workflow recomputes the provisional due times
    changed = sum(published.recomputed)
    audit_record(
        stream=AUDIT_STREAM,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="calendar_year_published",
        object_type="calendar_year",
        object_id=str(year.year),
        detail={
            "source": year.source,
            "days": year.days.count(),
            "covered": [calendar.first_year, calendar.last_year],
            "due_times_recomputed": changed,
        },
    )
    return changed
