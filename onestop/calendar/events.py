"""The events of the working-day calendar (their effects: ``onestop.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from onestop.accounts.models import User
from onestop.calendar.domain import WorkingCalendar
from onestop.core.events import Event


@dataclass(frozen=True, kw_only=True)
class CalendarYearPublished(Event):
    """An administrator published a year of the working-day table: provisional due times
    (暂按双休日计算) are recomputed with ``calendar`` (the workflow's handler), each handler
    adding to ``recomputed`` how many due times it changed."""

    name = "calendar_year_published"
    year: int
    actor: User | None
    at: datetime
    calendar: WorkingCalendar
    recomputed: list[int] = field(default_factory=list)
