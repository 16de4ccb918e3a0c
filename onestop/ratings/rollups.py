"""The ratings' daily roll-up (issue 12: "The numbers come from roll-ups kept up to date, not
from scanning every row"; ADR 0041 as amended for ratings).

``RatingDay`` holds, per Beijing day on which ratings were given, per division,
department, whole service or step, channel and grade: how many ratings, and how many of
their follow-ups are open, replied or closed now. The job ``ratings_rollup`` rolls up each
whole past day once (one transaction per day: delete + insert, and a marker row with
``grade`` 0), the same pattern as ``cases_rollup``. A follow-up that changes state marks
its rating's day stale in the same transaction (``rating_day_stale``); stale days and days
not rolled up yet (today) are counted from the rows by the same ``rating_figures``, so
both paths give the same numbers. Overdue follow-ups depend on the clock only: counted
live among the open ones (few, through the status/due index).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from onestop.core.clock import to_beijing
from onestop.ratings.models import (
    WHOLE_SERVICE,
    ClosedHow,
    FollowUpStatus,
    Rating,
    RatingDay,
)
from onestop.supervision.rollups import MAX_DAYS_PER_RUN, midnight, replace_day

KEY = ("division", "department", "whole", "channel", "grade")
RatingKey = tuple[str, str, bool, str, int]
COUNTS = (
    "ratings",
    "follow_ups_open",
    "follow_ups_replied",
    "follow_ups_closed",
    "follow_ups_closed_silent",
)


def rating_figures(
    start: datetime, end: datetime, scope: QuerySet[Rating] | None = None
) -> dict[RatingKey, dict[str, int]]:
    """The ratings given in [start, end), per key, and their follow-ups by current state:
    one grouped query."""
    qs = (scope if scope is not None else Rating.objects.all()).filter(at__gte=start, at__lt=end)
    out: dict[RatingKey, dict[str, int]] = {}
    for typed in (
        qs.order_by()
        .values("division", "department", "step", "channel", "grade")
        .annotate(
            ratings=Count("pk"),
            follow_ups_open=Count("pk", filter=Q(follow_up__status=FollowUpStatus.OPEN)),
            follow_ups_replied=Count("pk", filter=Q(follow_up__status=FollowUpStatus.REPLIED)),
            follow_ups_closed=Count("pk", filter=Q(follow_up__status=FollowUpStatus.CLOSED)),
            follow_ups_closed_silent=Count(
                "pk",
                filter=Q(
                    follow_up__status=FollowUpStatus.CLOSED,
                    follow_up__closed_how=ClosedHow.SILENCE,
                ),
            ),
        )
    ):
        row: dict[str, Any] = dict(typed)
        key: RatingKey = (
            row["division"],
            row["department"],
            row["step"] == WHOLE_SERVICE,
            row["channel"],
            int(row["grade"]),
        )
        figures = out.setdefault(key, dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            figures[name] += int(row[name])
    return out


def rating_day_markers() -> QuerySet[RatingDay]:
    """The marker rows of the days whose ``RatingDay`` rows are up to date (not stale)."""
    return RatingDay.objects.filter(grade=0, stale=False)


def rating_day_stale(at: datetime) -> None:
    """A rating given at ``at`` was added or its follow-up changed state: that day's
    roll-up (if any) is out of date. Called in the transaction of the change."""
    RatingDay.objects.filter(day=to_beijing(at).date(), grade=0, stale=False).update(stale=True)


def rollup_rating_day(day: date) -> int:
    figures = rating_figures(midnight(day), midnight(day + timedelta(days=1)))
    return replace_day(
        RatingDay, day, ("division", "department", "whole", "channel", "grade"), figures
    )


def ratings_rollup(
    now: datetime | None = None, *, days: Iterable[date] | None = None
) -> dict[str, int]:
    """Roll up the whole past days not rolled up yet and the stale ones (at most
    ``MAX_DAYS_PER_RUN`` a run), or the given ``days``."""
    now = now or timezone.now()
    today = to_beijing(now).date()
    if days is None:
        todo = sorted(
            set(RatingDay.objects.filter(grade=0, stale=True).values_list("day", flat=True))
        )
        last: date | None = RatingDay.objects.filter(grade=0).aggregate(d=Max("day"))["d"]
        cursor: date | None
        if last is not None:
            cursor = last + timedelta(days=1)
        else:
            first = Rating.objects.aggregate(t=Min("at"))["t"]
            cursor = None if first is None else to_beijing(first).date()
        while cursor is not None and cursor < today and len(todo) < MAX_DAYS_PER_RUN:
            todo.append(cursor)
            cursor += timedelta(days=1)
        todo = todo[:MAX_DAYS_PER_RUN]
    else:
        todo = [d for d in days if d < today]
    rows = sum(rollup_rating_day(day) for day in todo)
    return {"days": len(todo), "rows": rows}


def rolled_figures(days: set[date], prefix: str) -> dict[RatingKey, dict[str, int]]:
    """The roll-up's rows of ``days`` in a division prefix, summed in SQL per key without
    the division (the dashboards group by department, channel and grade)."""
    out: dict[RatingKey, dict[str, int]] = {}
    if not days:
        return out
    for typed in (
        RatingDay.objects.filter(day__in=days, division__startswith=prefix, grade__gt=0)
        .order_by()
        .values("department", "whole", "channel", "grade")
        .annotate(**{name: Sum(name) for name in COUNTS})
    ):
        row: dict[str, Any] = dict(typed)
        key: RatingKey = ("", row["department"], row["whole"], row["channel"], row["grade"])
        out[key] = {name: int(row[name] or 0) for name in COUNTS}
    return out
