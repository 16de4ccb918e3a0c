"""The efficiency report's daily roll-up (issue 10, ADR 0025): ``efficiency_rollup`` rolls
up every whole past day not rolled up yet into `EfficiencyDay` rows, one transaction per
day, so the report reads a few hundred roll-up rows for a year instead of every item
finished in it (and no working time is computed per item when the report is asked for).

Idempotent: a day is deleted and written again in one transaction; a day is rolled up
only once it is over (Beijing time), and a finished item's finish time never changes,
so a rolled-up day stays true.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Min, QuerySet, Value
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.utils import timezone

from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import current_calendar
from onestop.core.clock import BEIJING, parse_time, to_beijing
from onestop.core.errors import CalendarNotCovered
from onestop.supervision.models import EfficiencyDay
from onestop.workflow.domain import urgency
from onestop.workflow.models import CaseItem, ItemState

FINISHED_STATES = (ItemState.DONE, ItemState.REFUSED)
GROUP = ("department", "item", "jurisdiction_kind", "jurisdiction_code", "division")
GroupKey = tuple[str, str, str, str, str]
MAX_DAYS_PER_RUN = 400


def _pauses(raw: object) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    if not isinstance(raw, list):
        return out
    for pair in raw:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            try:
                out.append((parse_time(str(pair[0])), parse_time(str(pair[1]))))
            except ValueError:
                continue
    return out


def item_working_time(
    calendar: WorkingCalendar, received: datetime, finished: datetime, pauses: object
) -> timedelta:
    """Working time from receipt to finish, less the working time spent waiting for the
    applicant's supplement (each pause clipped to the item's own span)."""
    try:
        return _working_time(calendar, received, finished, pauses)
    except CalendarNotCovered:
        # Beyond the table: weekends only, as for the provisional due times (the item is
        # counted, not dropped; issue 8, defect 4).
        return _working_time(weekends_beyond(calendar), received, finished, pauses)


def _working_time(
    calendar: WorkingCalendar, received: datetime, finished: datetime, pauses: object
) -> timedelta:
    total = urgency.working_time_between(calendar, received, finished)
    for start, end in _pauses(pauses):
        start, end = max(start, received), min(end, finished)
        total -= urgency.working_time_between(calendar, start, end)
    return max(total, timedelta(0))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


def day_figures(
    start: datetime, end: datetime, calendar: WorkingCalendar, scope: Any = None
) -> dict[GroupKey, dict[str, Any]]:
    """What the report counts of the items finished in [start, end), per department, item,
    jurisdiction and division: counts and the histogram of working days (0.01 day)."""
    qs = scope if scope is not None else CaseItem.objects.all()
    out: dict[GroupKey, dict[str, Any]] = {}
    for row in (
        qs.filter(state__in=FINISHED_STATES, finished_at__gte=start, finished_at__lt=end)
        .order_by()
        .values_list(
            *GROUP, "automatic", "due_at", "finished_at", "due_provisional", "received_at", "pauses"
        )
        .iterator()
    ):
        dept, item, kind, code, division, automatic, due, done_at, provisional, received, pauses = (
            row
        )
        figures = out.setdefault(
            (dept, item, kind, code, division),
            {
                "finished": 0,
                "automatic": 0,
                "with_limit": 0,
                "on_time": 0,
                "provisional": 0,
                "working_days": {},
            },
        )
        if automatic:
            figures["automatic"] += 1
            continue
        figures["finished"] += 1
        if due is not None:
            figures["with_limit"] += 1
            figures["on_time"] += done_at <= due
            figures["provisional"] += bool(provisional)
        if received is not None:
            spent = urgency.working_days(item_working_time(calendar, received, done_at, pauses))
            bucket = f"{round(spent, 2):.2f}"
            figures["working_days"][bucket] = figures["working_days"].get(bucket, 0) + 1
    return out


def efficiency_markers() -> QuerySet[EfficiencyDay]:
    """The marker rows of the days rolled up (every key blank)."""
    return EfficiencyDay.objects.filter(department="")


MONTH_CACHE_SECONDS = 40 * 24 * 3600
CURRENT_MONTH_CACHE_SECONDS = 2 * 24 * 3600
Part = TypeVar("Part")


def months(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end) cut at the first of each month."""
    out = []
    cursor = start
    while cursor < end:
        following = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((cursor, min(following, end)))
        cursor = following
    return out


def rolled_parts(
    kind: str,
    prefix: str,
    start: date,
    end: date,
    now: datetime,
    markers: QuerySet[Any],
    read: Callable[[set[date]], Part],
) -> tuple[set[date], list[Part]]:
    """The rolled-up days of [start, end) of a daily roll-up (``markers``: its up-to-date
    marker rows) and their figures in a division prefix, in parts for the caller to add up:
    ``read`` (one statement over the given days' roll-up rows) for the days of a month begun
    within the period, and for each whole past month, and the current month's days rolled
    so far, the figures ``read`` gave once, kept in the cache (ADR 0041; the amendments of
    session 24 and of session 25, h-dashexport).

    A month's key holds its markers' days and ids: rolling a day up (again) writes its
    marker again (delete + insert: a new id) and a stale day has no up-to-date marker, so a
    changed month has a new key. At most three statements however long the period: the
    markers, one cache read for every month, the rows of the month begun within the period
    (and one read per month not kept yet)."""
    rolled = dict(markers.filter(day__gte=start, day__lt=end).values_list("day", "pk"))
    this_month = to_beijing(now).date().replace(day=1)
    whole: dict[str, set[date]] = {}
    current: set[str] = set()
    loose: set[date] = set()
    for first, last in months(start, end):
        days = {d for d in rolled if first <= d < last}
        if not days:
            continue
        if first.day == 1 and ((last.day == 1 and last <= this_month) or first == this_month):
            marks = ",".join(f"{d.isoformat()}:{rolled[d]}" for d in sorted(days))
            digest = hashlib.blake2b(marks.encode(), digest_size=12).hexdigest()
            key = f"{kind}:month:{prefix}:{first.isoformat()}:{digest}"
            whole[key] = days
            if first == this_month:
                current.add(key)
        else:
            loose |= days
    kept = cache.get_many(list(whole)) if whole else {}
    missing = {key: read(days) for key, days in whole.items() if key not in kept}
    for keys, seconds in (
        ({k for k in missing if k not in current}, MONTH_CACHE_SECONDS),
        # The current month's days rolled so far: a new key each day a day is rolled up.
        ({k for k in missing if k in current}, CURRENT_MONTH_CACHE_SECONDS),
    ):
        if keys:
            cache.set_many({k: missing[k] for k in keys}, seconds)
    # In month order whether kept or read now: what a panel lists in the order it meets
    # it comes out the same from a cold cache and a warm one.
    parts: list[Part] = [kept[key] if key in kept else missing[key] for key in whole]
    if loose:
        parts.append(read(loose))
    return set(rolled), parts


# --- reading the roll-ups (the efficiency report and the dashboards) -----------------------

Merged = dict[tuple[str, ...], dict[str, Any]]
OVER_CACHE_SECONDS = 2 * 24 * 3600


def add_histogram(into: dict[str, int], histogram: dict[str, Any] | None) -> None:
    for bucket, n in (histogram or {}).items():
        into[bucket] = into.get(bucket, 0) + int(n)


def merge(
    into: Merged, key: tuple[str, ...], values: dict[str, Any], counts: Iterable[str]
) -> None:
    """Add ``values`` (the named ``counts`` and a ``histogram``) to ``into``'s row of ``key``."""
    row = into.setdefault(key, {**dict.fromkeys(counts, 0), "histogram": {}})
    for name in counts:
        row[name] += int(values.get(name) or 0)
    add_histogram(row["histogram"], values.get("histogram"))


def within(qs: QuerySet[Any], prefix: str) -> QuerySet[Any]:
    """The rows of a division prefix, for the live part (one day): written so that the
    planner reads the day's rows through the time index and checks the division on each,
    instead of reading every row of the division through the division index (measured:
    155 ms for a province's items at 100 k cases)."""
    if not prefix:
        return qs
    return qs.filter(Exact(Substr("division", 1, len(prefix)), Value(prefix)))


def past_and_live(
    start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime, bool]]:
    """[start, end) split at the last full hour: the part before it is over (its finished
    work does not change: a finished item's finish time, a completed case's completion),
    the rest is live."""
    cut = now.replace(minute=0, second=0, microsecond=0)
    out = []
    if start < min(end, cut):
        out.append((start, min(end, cut), True))
    if max(start, cut) < end:
        out.append((max(start, cut), end, False))
    return out


def over_cached(
    kind: str,
    prefix: str,
    start: datetime,
    end: datetime,
    rows: QuerySet[Any],
    compute: Callable[[], Part],
) -> Part:
    """The figures of a span that is over, computed once and kept in the cache: the hours
    of today already past are not computed again on every request (at 1 M cases a year a
    day finishes ~15,000 items, each with a working time to compute). The key holds the
    number and the last id of the span's rows (read through the time index), so a row
    added to the span (a time given in the past) computes it again."""
    fingerprint = rows.aggregate(n=Count("pk"), last=Max("pk"))
    key = (
        f"{kind}:{prefix}:{start.isoformat()}:{end.isoformat()}:"
        f"{fingerprint['n']}:{fingerprint['last']}"
    )
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, OVER_CACHE_SECONDS)
    return cast(Part, found)


def spans(start: datetime, end: datetime, rolled: set[date]) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) outside the rolled-up days, as contiguous spans."""
    if not rolled:
        return [(start, end)]
    spans: list[tuple[datetime, datetime]] = []
    cursor = start
    for day in sorted(rolled):
        day_start, day_end = midnight(day), midnight(day + timedelta(days=1))
        if day_start > cursor:
            spans.append((cursor, day_start))
        cursor = max(cursor, day_end)
    if cursor < end:
        spans.append((cursor, end))
    return spans


def unrolled_parts(
    kind: str,
    prefix: str,
    period: tuple[datetime, datetime, datetime],
    rolled: set[date],
    rows: Callable[[datetime, datetime], QuerySet[Any]],
    compute: Callable[[datetime, datetime], Part],
) -> list[Part]:
    """The figures of the parts of ``period`` (start, end, now) outside the ``rolled`` days,
    ``compute(start, end)`` of each: a part already over computed once and kept
    (`over_cached`, ``rows(start, end)`` its fingerprint), the live part every time."""
    start, end, now = period
    out: list[Part] = []
    for span_start, span_end in spans(start, end, rolled):
        for part_start, part_end, over in past_and_live(span_start, span_end, now):

            def made(a: datetime = part_start, b: datetime = part_end) -> Part:
                return compute(a, b)

            out.append(
                over_cached(kind, prefix, part_start, part_end, rows(part_start, part_end), made)
                if over
                else made()
            )
    return out


def replace_day(
    model: Any, day: date, key_fields: Sequence[str], figures: dict[tuple[Any, ...], dict[str, Any]]
) -> int:
    """Write one day of a daily roll-up ``model`` (again), in one transaction: its rows go,
    then the day's marker row (every key blank: "this day is rolled up") and one row per
    key of ``figures`` (the key's values in ``key_fields`` order). The number of rows
    written besides the marker."""
    with transaction.atomic():
        model.objects.filter(day=day).delete()
        model.objects.bulk_create(
            [model(day=day)]
            + [
                model(day=day, **dict(zip(key_fields, key, strict=True)), **values)
                for key, values in figures.items()
            ]
        )
    return len(figures)


def rollup_day(day: date, calendar: WorkingCalendar) -> int:
    """Roll up one whole day (again); the number of rows written besides the marker."""
    figures = day_figures(midnight(day), midnight(day + timedelta(days=1)), calendar)
    return replace_day(
        EfficiencyDay,
        day,
        ("department", "item", "jurisdiction_kind", "jurisdiction_code", "division"),
        figures,
    )


def _first_day() -> date | None:
    last: date | None = EfficiencyDay.objects.filter(department="").aggregate(d=Max("day"))["d"]
    if last is not None:
        return last + timedelta(days=1)
    first = CaseItem.objects.filter(state__in=FINISHED_STATES).aggregate(t=Min("finished_at"))["t"]
    return None if first is None else to_beijing(first).date()


def efficiency_rollup(
    now: datetime | None = None, *, days: Iterable[date] | None = None
) -> dict[str, int]:
    """Roll up the whole days since the last one rolled up (at most ``MAX_DAYS_PER_RUN``
    a run; the first run starts at the first finished item), or the given ``days``."""
    now = now or timezone.now()
    today = to_beijing(now).date()
    calendar = current_calendar()
    if days is None:
        first = _first_day()
        todo: list[date] = []
        if first is not None:
            day = first
            while day < today and len(todo) < MAX_DAYS_PER_RUN:
                todo.append(day)
                day += timedelta(days=1)
    else:
        todo = [d for d in days if d < today]
    rows = sum(rollup_day(day, calendar) for day in todo)
    return {"days": len(todo), "rows": rows}
