"""The dashboards' daily roll-ups of cases (issue 12 part 4, ADR 0041), beside the items'
``EfficiencyDay`` (ADR 0025):

- ``CaseDay``: the cases submitted on a Beijing day, per region, division, hospital,
  channel and the pre-review decision they carry now, with the count of each reason code;
- ``CaseDoneDay``: the cases completed on a Beijing day, per region, division, hospital
  and channel: how many, how many with no visit (零跑腿), how many had the overall promise
  and kept it, and the end-to-end working times as a histogram.

``cases_rollup`` (a periodic job) rolls up each whole past day once, one transaction per
day (delete + insert: running it twice changes nothing), and leaves a marker row (empty
``region``). A case decided again after a supplement marks its submission day stale in the
same transaction as the new decision (``case_day_stale``, from the ``CaseDecided``
handler); the next run rolls that day up again, and until then the dashboards count the
day from the cases. A completed case stays completed, so a rolled ``CaseDoneDay`` stays
true.

The figures of a span are computed the same way for the job and for the days not rolled
up (today), so both paths give the same numbers. Decisions are encrypted: only the cases
not accepted (few) are decrypted for their outcome and reasons; an accepted case (in
progress or completed) has no reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import Case, CaseStatus
from onestop.cases.promise import case_promise
from onestop.core.clock import to_beijing
from onestop.policy.loader import default_packs
from onestop.supervision.models import CaseDay, CaseDoneDay
from onestop.supervision.rollups import (
    MAX_DAYS_PER_RUN,
    item_working_time,
    midnight,
    replace_day,
)
from onestop.workflow.domain import urgency
from onestop.workflow.models import CaseItem

STALE = "stale"  # a marker's ``outcome`` when the day must be rolled up again
PLACE = ("region", "division", "hospital_code", "channel", "counter_kind")
CaseKey = tuple[str, str, str, str, str, str]  # PLACE + outcome
DoneKey = tuple[str, str, str, str, str]  # PLACE
ACCEPTED_STATUSES = (CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED)
DONE_COUNTS = ("completed", "no_visit", "with_promise", "kept")


def _outcome(decision: Any) -> tuple[str, list[str]]:
    if not isinstance(decision, dict):
        return "", []
    reasons = decision.get("reasons")
    codes = [
        str(r.get("code"))
        for r in (reasons if isinstance(reasons, list) else [])
        if isinstance(r, dict) and r.get("code")
    ]
    return str(decision.get("decision") or ""), codes


def case_figures(
    start: datetime, end: datetime, scope: QuerySet[Case] | None = None
) -> dict[CaseKey, dict[str, Any]]:
    """The cases submitted in [start, end): per place and decision, how many and the count
    of each reason code."""
    qs = (scope if scope is not None else Case.objects.all()).filter(
        submitted_at__gte=start, submitted_at__lt=end
    )
    out: dict[CaseKey, dict[str, Any]] = {}

    def add(place: tuple[str, ...], outcome: str, codes: Iterable[str], n: int) -> None:
        key: CaseKey = (*place, outcome)  # type: ignore[assignment]
        figures = out.setdefault(key, {"cases": 0, "reasons": {}})
        figures["cases"] += n
        for code in codes:
            figures["reasons"][code] = figures["reasons"].get(code, 0) + 1

    # Accepted cases: counted in SQL, nothing decrypted.
    for row in (
        qs.filter(status__in=ACCEPTED_STATUSES)
        .order_by()
        .values_list(*PLACE)
        .annotate(n=Count("pk"))
    ):
        add(tuple(str(v) for v in row[:-1]), "accept", (), int(row[-1]))
    # The others (waiting for a supplement, not accepted, withdrawn): their decision.
    for row in (
        qs.exclude(status__in=ACCEPTED_STATUSES)
        .order_by()
        .values_list(*PLACE, "decision")
        .iterator()
    ):
        outcome, codes = _outcome(row[-1])
        add(tuple(str(v) for v in row[:-1]), outcome, codes, 1)
    return out


VISIT_RESULTS = (
    "birth_certificate",
    "vaccination_certificate",
    "household_register",
    "social_security_card",
)


def no_visit(channel: str, document: Any) -> bool:
    """零跑腿: applied online, and no result is to be picked up in person (every delivery
    choice by post; e-licences need no visit). Read from the stored document as a dict
    (no typed parse: this runs for every case completed today)."""
    if channel != "online":
        return False
    delivery = document.get("delivery") if isinstance(document, dict) else None
    if not isinstance(delivery, dict):
        return True
    return not any(
        isinstance(choice := delivery.get(result), dict) and choice.get("method") == "pickup"
        for result in VISIT_RESULTS
    )


def _has_promise(region: str, version: str, known: dict[tuple[str, str], bool]) -> bool:
    if (region, version) not in known:
        pack = default_packs().version(region, version)
        limit = pack.overall_time_limit if pack is not None else None
        known[(region, version)] = limit is not None and limit.days is not None
    return known[(region, version)]


def done_figures(
    start: datetime,
    end: datetime,
    calendar: WorkingCalendar,
    scope: QuerySet[Case] | None = None,
) -> dict[DoneKey, dict[str, Any]]:
    """The cases completed in [start, end): per place, how many, with no visit, with the
    overall promise and kept, and the working days from acceptance to completion.

    Only what each figure needs is read: the document (decrypted) of the online cases
    only, the items of the cases whose region makes an overall promise only."""
    qs = (scope if scope is not None else Case.objects.all()).filter(
        status=CaseStatus.COMPLETED, completed_at__gte=start, completed_at__lt=end
    )
    cases = list(
        qs.order_by().only(
            "pk",
            "region",
            "pack_version",
            "status",
            "division",
            "hospital_code",
            "channel",
            "counter_kind",
            "decided_at",
            "completed_at",
        )
    )
    documents = dict(
        qs.filter(channel="online").order_by().values_list("pk", "document").iterator()
    )
    known: dict[tuple[str, str], bool] = {}
    promised = [c.pk for c in cases if _has_promise(c.region, c.pack_version, known)]
    items: dict[int, list[tuple[str, datetime | None]]] = defaultdict(list)
    for case_id, item, finished in (
        CaseItem.objects.filter(case_id__in=promised)
        .order_by()
        .values_list("case_id", "item", "finished_at")
        .iterator()
    ):
        items[case_id].append((item, finished))
    out: dict[DoneKey, dict[str, Any]] = {}
    for case in cases:
        key: DoneKey = (
            case.region,
            case.division,
            case.hospital_code,
            case.channel,
            case.counter_kind,
        )
        figures = out.setdefault(key, {**dict.fromkeys(DONE_COUNTS, 0), "working_days": {}})
        figures["completed"] += 1
        figures["no_visit"] += no_visit(case.channel, documents.get(case.pk))
        if known[(case.region, case.pack_version)]:
            promise = case_promise(case, items.get(case.pk, []))
            if promise is not None and promise.kept is not None:
                figures["with_promise"] += 1
                figures["kept"] += promise.kept
        assert case.completed_at is not None
        spent = urgency.working_days(
            item_working_time(calendar, case.decided_at, case.completed_at, [])
        )
        bucket = f"{round(spent, 2):.2f}"
        figures["working_days"][bucket] = figures["working_days"].get(bucket, 0) + 1
    return out


# --- the job -----------------------------------------------------------------------------


def case_day_markers() -> QuerySet[CaseDay]:
    """The marker rows of the days whose ``CaseDay`` rows are up to date (not stale)."""
    return CaseDay.objects.filter(region="", outcome="")


def done_day_markers() -> QuerySet[CaseDoneDay]:
    """The marker rows of the days rolled up into ``CaseDoneDay``."""
    return CaseDoneDay.objects.filter(region="")


def case_day_stale(case: Case) -> None:
    """The case's decision changed: its submission day's roll-up is out of date (called in
    the transaction of the new decision)."""
    day = to_beijing(case.submitted_at).date()
    CaseDay.objects.filter(day=day, region="").update(outcome=STALE)


def rollup_case_day(day: date) -> int:
    figures = case_figures(midnight(day), midnight(day + timedelta(days=1)))
    with transaction.atomic():
        CaseDay.objects.filter(day=day).delete()
        CaseDay.objects.bulk_create(
            [CaseDay(day=day)]
            + [
                CaseDay(
                    day=day,
                    region=key[0],
                    division=key[1],
                    hospital_code=key[2],
                    channel=key[3],
                    counter_kind=key[4],
                    outcome=key[5],
                    cases=values["cases"],
                    reasons=values["reasons"],
                )
                for key, values in figures.items()
            ]
        )
    return len(figures)


def rollup_done_day(day: date, calendar: WorkingCalendar) -> int:
    figures = done_figures(midnight(day), midnight(day + timedelta(days=1)), calendar)
    return replace_day(
        CaseDoneDay,
        day,
        ("region", "division", "hospital_code", "channel", "counter_kind"),
        figures,
    )


def _todo(
    markers: QuerySet[Any], stale: Iterable[date], first_of_data: Any, today: date
) -> list[date]:
    """Stale days, then the days after the last marker (or from the first day with data)
    up to yesterday; at most ``MAX_DAYS_PER_RUN``."""
    todo = sorted(set(stale))
    last: date | None = markers.aggregate(d=Max("day"))["d"]
    if last is not None:
        day: date | None = last + timedelta(days=1)
    else:
        first = first_of_data()
        day = None if first is None else to_beijing(first).date()
    while day is not None and day < today and len(todo) < MAX_DAYS_PER_RUN:
        todo.append(day)
        day += timedelta(days=1)
    return todo[:MAX_DAYS_PER_RUN]


def cases_rollup(
    now: datetime | None = None, *, days: Iterable[date] | None = None
) -> dict[str, int]:
    """Roll up the whole days not rolled up yet (and the stale ones), or the given
    ``days``, into ``CaseDay`` and ``CaseDoneDay``."""
    now = now or timezone.now()
    today = to_beijing(now).date()
    calendar = current_calendar()
    if days is None:
        submitted = _todo(
            CaseDay.objects.filter(region=""),
            CaseDay.objects.filter(region="", outcome=STALE).values_list("day", flat=True),
            lambda: Case.objects.aggregate(t=Min("submitted_at"))["t"],
            today,
        )
        completed = _todo(
            CaseDoneDay.objects.filter(region=""),
            (),
            lambda: Case.objects.filter(status=CaseStatus.COMPLETED).aggregate(
                t=Min("completed_at")
            )["t"],
            today,
        )
    else:
        submitted = completed = [d for d in days if d < today]
    rows = sum(rollup_case_day(day) for day in submitted)
    rows += sum(rollup_done_day(day, calendar) for day in completed)
    return {"days": len(set(submitted) | set(completed)), "rows": rows}
