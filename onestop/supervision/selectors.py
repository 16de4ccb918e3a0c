"""Supervisors' reads: cases of their jurisdiction, found by number or a parent's ID number
(through the blind index), always with personal data masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.accounts.permissions import cases_visible_to
from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.domain import WorkingCalendar
from onestop.cases.models import Case, Person
from onestop.common.fields import index_of
from onestop.core.clock import parse_time
from onestop.core.errors import CalendarNotCovered
from onestop.reference.idnumber import mask_id_number, mask_name, mask_phone
from onestop.reference.models import Division
from onestop.reference.selectors import institution_contact
from onestop.supervision.models import ItemUrge
from onestop.workflow.domain import urgency
from onestop.workflow.models import CaseItem, ItemState


def find_cases(user: User, query: str = "") -> QuerySet[Case]:
    qs = cases_visible_to(user, Case.objects.all())
    query = "".join(query.split())
    if not query:
        return qs.order_by("-submitted_at")
    index = index_of(query, purpose="id")
    return qs.filter(
        Q(number__iexact=query) | Q(mother_id_index=index) | Q(father_id_index=index)
    ).order_by("-submitted_at")


@dataclass(frozen=True)
class MaskedPerson:
    role: str
    name: str
    id_number: str
    phone: str


def masked_people(case: Case) -> list[MaskedPerson]:
    return [
        MaskedPerson(
            p.get_role_display(),
            mask_name(p.name),
            mask_id_number(p.id_number),
            mask_phone(p.phone),
        )
        for p in Person.objects.filter(case=case).order_by("role")
    ]


# --- time-limit supervision (时限监督) ---------------------------------------------------


def division_prefixes(division: str) -> list[str]:
    """Every non-empty prefix of a division code: the codes a supervisor above it may hold."""
    return [division[:n] for n in range(1, len(division) + 1)]


def supervised_prefix(user: User) -> str | None:
    """The division prefix a user supervises ("" = everything, for administrators)."""
    if user.role == Role.ADMIN or user.is_superuser:
        return ""
    if (
        user.role == Role.SUPERVISOR
        and user.jurisdiction_kind == JurisdictionKind.DIVISION
        and user.jurisdiction_code
    ):
        return user.jurisdiction_code
    return None


def item_officers(item: CaseItem) -> list[User]:
    """The active officers of the item's department whose jurisdiction holds the item (the
    same test as ``accounts.permissions.item_in_jurisdiction``, as one query)."""
    return list(
        User.objects.filter(role=Role.OFFICER, is_active=True, department=item.department)
        .filter(
            Q(jurisdiction_kind=item.jurisdiction_kind, jurisdiction_code=item.jurisdiction_code)
            | Q(
                jurisdiction_kind=JurisdictionKind.DIVISION,
                jurisdiction_code__in=division_prefixes(item.division),
            )
        )
        .exclude(jurisdiction_code="")
        .order_by("pk")
    )


def supervisor_levels(division: str) -> list[list[User]]:
    """The active supervisors over ``division``, nearest level first: one list per distinct
    length of their division prefix (e.g. district 450703, then city 4507, then 45)."""
    found = User.objects.filter(
        role=Role.SUPERVISOR,
        is_active=True,
        jurisdiction_kind=JurisdictionKind.DIVISION,
        jurisdiction_code__in=division_prefixes(division),
    ).order_by("pk")
    levels: dict[int, list[User]] = {}
    for user in found:
        levels.setdefault(len(user.jurisdiction_code), []).append(user)
    return [levels[length] for length in sorted(levels, reverse=True)]


def jurisdiction_label(kind: str, code: str) -> str:
    """A jurisdiction as people name it (the institution or the division), else its code."""
    if kind == JurisdictionKind.DIVISION:
        row = Division.objects.filter(code=code).only("name").first()
        return f"{row.name}（{code}）" if row else code
    found = institution_contact(kind, code)
    return found[0] if found else code


OPEN_STATES = (ItemState.READY, ItemState.IN_PROGRESS)


def urge_count() -> Coalesce:
    """An annotation: how many times the parents urged the item (催办)."""
    counted = (
        ItemUrge.objects.filter(item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@dataclass(frozen=True)
class DeadlineRow:
    item: CaseItem
    light: str  # "warning" or "overdue"
    overdue_days: float | None  # working days since the due time passed
    urges: int


def deadline_items(
    user: User,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    which: str = "all",
    department: str = "",
    jurisdiction: str = "",
    limit: int = 500,
) -> list[DeadlineRow]:
    """Open items of the supervisor's division that are overdue or near their due time, as
    the calendar says now (not as the last sweep left them), the most overdue first."""
    prefix = supervised_prefix(user)
    if prefix is None:
        return []
    qs = CaseItem.objects.filter(
        state__in=OPEN_STATES, due_at__isnull=False, division__startswith=prefix
    )
    if department:
        qs = qs.filter(department=department)
    if jurisdiction:
        qs = qs.filter(jurisdiction_code=jurisdiction)
    # Provisional due times (beyond the table) are judged on weekends only, like the sweep.
    calendar = weekends_beyond(calendar)
    if which == "overdue":
        qs = qs.filter(due_at__lt=now)
    else:
        cutoff = urgency.warning_cutoff(calendar, now)
        if which == "warning":
            qs = qs.filter(due_at__gte=now, due_at__lt=cutoff)
        else:
            qs = qs.filter(due_at__lt=cutoff)
    rows: list[DeadlineRow] = []
    for item in (
        qs.select_related("case").annotate(urge_total=urge_count()).order_by("due_at", "pk")[:limit]
    ):
        assert item.due_at is not None
        late: float | None = None
        if item.due_at < now:
            late = round(urgency.working_days(urgency.overdue_for(calendar, item.due_at, now)), 2)
        light = "overdue" if item.due_at < now else "warning"
        rows.append(DeadlineRow(item, light, late, int(getattr(item, "urge_total", 0))))
    return rows


@dataclass(frozen=True)
class EfficiencyRow:
    """One department and jurisdiction over a period [start, end)."""

    department: str
    jurisdiction_kind: str
    jurisdiction_code: str
    finished: int  # done or refused by the department's officers in the period
    automatic: int  # done by the platform (免申即享 / 秒批), not in the rates
    with_limit: int  # of ``finished``, those that had a due time
    on_time: int  # of ``with_limit``, finished at or before the due time
    median_working_days: float | None
    open_overdue: int  # open now and past the due time
    open_total: int
    # Of ``with_limit`` and the open items: due times counted on weekends only beyond the
    # calendar table (暂按双休日计算), counted like the others and shown apart.
    provisional: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_limit if self.with_limit else None


Key = tuple[str, str, str]
KEY_FIELDS = ("department", "jurisdiction_kind", "jurisdiction_code")


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


def efficiency_report(
    user: User,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    calendar: WorkingCalendar,
    department: str = "",
) -> list[EfficiencyRow]:
    """Per department and jurisdiction of the supervisor's division: items finished in
    [start, end), the on-time rate and the median working time, and the open overdue items
    now. Counts are aggregated in SQL; the median is taken in Python over the period's
    finished rows (three columns each)."""
    prefix = supervised_prefix(user)
    if prefix is None:
        return []
    scope = CaseItem.objects.filter(division__startswith=prefix)
    if department:
        scope = scope.filter(department=department)
    finished = scope.filter(
        state__in=(ItemState.DONE, ItemState.REFUSED), finished_at__gte=start, finished_at__lt=end
    )
    manual = Q(automatic=False)
    limited = manual & Q(due_at__isnull=False)
    counts: dict[Key, dict[str, int]] = {}
    for row in (
        finished.order_by()
        .values(*KEY_FIELDS)
        .annotate(
            n_finished=Count("pk", filter=manual),
            n_automatic=Count("pk", filter=Q(automatic=True)),
            n_with_limit=Count("pk", filter=limited),
            n_on_time=Count("pk", filter=limited & Q(finished_at__lte=F("due_at"))),
            n_provisional=Count("pk", filter=limited & Q(due_provisional=True)),
        )
    ):
        counts[_key(row)] = row
    open_counts: dict[Key, dict[str, int]] = {}
    for row in (
        scope.filter(state__in=(*OPEN_STATES, ItemState.RETURNED))
        .order_by()
        .values(*KEY_FIELDS)
        .annotate(
            n_open=Count("pk"),
            n_overdue=Count("pk", filter=Q(state__in=OPEN_STATES, due_at__lt=now)),
            n_provisional=Count("pk", filter=Q(due_provisional=True)),
        )
    ):
        open_counts[_key(row)] = row
    times: dict[Key, list[float]] = {}
    for dept, kind, code, received, done_at, pauses in (
        finished.filter(automatic=False, received_at__isnull=False)
        .order_by()
        .values_list(*KEY_FIELDS, "received_at", "finished_at", "pauses")
        .iterator()
    ):
        spent = item_working_time(calendar, received, done_at, pauses)
        times.setdefault((dept, kind, code), []).append(urgency.working_days(spent))
    out = []
    for key in sorted(set(counts) | set(open_counts)):
        c = counts.get(key, {})
        o = open_counts.get(key, {})
        spent_days = times.get(key)
        out.append(
            EfficiencyRow(
                department=key[0],
                jurisdiction_kind=key[1],
                jurisdiction_code=key[2],
                finished=int(c.get("n_finished", 0)),
                automatic=int(c.get("n_automatic", 0)),
                with_limit=int(c.get("n_with_limit", 0)),
                on_time=int(c.get("n_on_time", 0)),
                median_working_days=round(median(spent_days), 2) if spent_days else None,
                open_overdue=int(o.get("n_overdue", 0)),
                open_total=int(o.get("n_open", 0)),
                provisional=int(c.get("n_provisional", 0)) + int(o.get("n_provisional", 0)),
            )
        )
    return out


def _key(row: dict[str, Any]) -> Key:
    return (str(row["department"]), str(row["jurisdiction_kind"]), str(row["jurisdiction_code"]))
