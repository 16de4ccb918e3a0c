"""Supervisors' reads: cases of their jurisdiction, found by number or a parent's ID number
(through the blind index), always with personal data masked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.accounts.permissions import case_scope_key, cases_visible_to
from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.domain import WorkingCalendar
from onestop.cases.models import Case, Person, TimelineEntry
from onestop.common.compiled import CompiledAll, CompiledPerKey, CompiledValues
from onestop.common.fields import index_of
from onestop.common.kept import Kept
from onestop.core.clock import to_beijing
from onestop.reference.domain import InstitutionKind
from onestop.reference.idnumber import mask_id_number, mask_name, mask_phone
from onestop.reference.models import Division, Institution
from onestop.reference.selectors import current_reference, institution_contact
from onestop.supervision.models import EfficiencyDay, ItemUrge, StaffMessage
from onestop.supervision.rollups import (
    Merged,
    day_figures,
    efficiency_markers,
    merge,
    midnight,
    rolled_parts,
    unrolled_parts,
    within,
)
from onestop.supervision.rollups import item_working_time as item_working_time  # re-exported
from onestop.workflow.domain import urgency
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import with_outcome

# What the supervisors' case lists and case page show of a case besides its items, people
# and timeline: its number, region, status and submission time — not its application form,
# pre-review decision and signature, which no supervisor's page shows (issue 10, session 24:
# every case read decrypted all three).
SUPERVISED_CASE_FIELDS = ("id", "number", "region", "status", "submitted_at")


def find_cases(user: User) -> QuerySet[Case]:
    """Every case of ``user``'s jurisdiction, the newest first (a search's results:
    `supervised_cases`)."""
    return cases_visible_to(user, Case.objects.all()).order_by("-submitted_at")


def _found(number: str, mother: str, father: str) -> QuerySet[Any]:
    return (
        Case.objects.filter(number=number)
        .order_by()
        .values_list("pk", flat=True)
        .union(
            Case.objects.filter(mother_id_index=mother).order_by().values_list("pk", flat=True),
            Case.objects.filter(father_id_index=father).order_by().values_list("pk", flat=True),
        )
    )


# Three index lookups (the number as the product writes it, upper case; either parent's
# ID number through its blind index), not one OR that PostgreSQL answers by scanning
# every case (issue 10: 45 → 244 ms from 100 k to 1 M cases). Compiled once per database
# in this process (session 24: building and compiling the search's statements was ~a
# third of its CPU).
_FOUND = CompiledValues(
    Case,
    _found,
    "onestop-stand-in-search-number",
    "onestop-stand-in-search-mother",
    "onestop-stand-in-search-father",
)


def found_ids(query: str) -> list[int]:
    """The ids of the cases whose number, or either parent's ID number, is ``query`` (any
    jurisdiction: `supervised_cases` narrows them)."""
    index = index_of(query, purpose="id")
    return [pk for (pk,) in _FOUND.rows(query.upper(), index, index)]


# The search's results compiled once per user scope, database and number of cases found
# (at most `_RESULTS_COMPILED`; more are rare: their statement is built each time).
_RESULTS_COMPILED = 8
_RESULTS: Kept[tuple[Any, ...], CompiledAll[Case]] = Kept(size=1000)
_RESULT_AT = -7_340_029_300


def _results(user: User, ids: Sequence[int]) -> QuerySet[Case]:
    visible = cases_visible_to(user, Case.objects.filter(pk__in=ids))
    return with_outcome(visible.only(*SUPERVISED_CASE_FIELDS)).order_by("-submitted_at")[:100]


def supervised_cases(user: User, query: str = "") -> list[Case]:
    """The first 100 cases of ``user``'s jurisdiction `found_ids` finds for ``query`` (all
    where it is empty), newest first, with their outcome (`with_outcome`) and the columns
    the list shows (`SUPERVISED_CASE_FIELDS`)."""
    query = "".join(query.split())
    if not query:
        return list(with_outcome(find_cases(user).only(*SUPERVISED_CASE_FIELDS))[:100])
    ids = found_ids(query)
    if not ids:
        return []
    if len(ids) > _RESULTS_COMPILED:
        return list(_results(user, ids))
    stand_ins = [_RESULT_AT - n for n in range(len(ids))]
    compiled = _RESULTS.get_or_make(
        (*case_scope_key(user), len(ids)),
        lambda: CompiledAll(Case, lambda *pks: _results(user, pks), *stand_ins),
    )
    return compiled.all(*ids)


def _supervised_case(user: User) -> Callable[[str], QuerySet[Case]]:
    cases = cases_visible_to(user, Case.objects.only(*SUPERVISED_CASE_FIELDS))
    unread = staff_unread_count(user)
    return lambda number: cases.filter(number=number).annotate(staff_unread=unread)


# The case page's case by its number, with the user's unread work messages (the header's
# badge), compiled once per user scope and database in this process (session 24: two
# statements, built and compiled per request, the case's encrypted columns decrypted).
_SUPERVISED_CASE = CompiledPerKey(Case, "onestop-stand-in-case-number")


def supervised_case(user: User, number: str) -> Case | None:
    """The case by its number if it is in ``user``'s jurisdiction (`find_cases`), with the
    columns the page shows (`SUPERVISED_CASE_FIELDS`) and ``staff_unread``: the user's
    unread work messages (`staff_unread_count`)."""
    return _SUPERVISED_CASE.first(case_scope_key(user), lambda: _supervised_case(user), number)


@dataclass(frozen=True)
class MaskedPerson:
    role: str
    name: str
    id_number: str
    phone: str


# A case's people, the columns the page shows, compiled once per database in this process.
_PEOPLE = CompiledAll(
    Person,
    lambda case_id: (
        Person.objects.filter(case_id=case_id).only("role", "name", "id_number", "phone")
    ).order_by("role"),
    -7_340_029_301,
)


def masked_people(case: Case) -> list[MaskedPerson]:
    return [
        MaskedPerson(
            p.get_role_display(),
            mask_name(p.name),
            mask_id_number(p.id_number),
            mask_phone(p.phone),
        )
        for p in _PEOPLE.all(case.pk)
    ]


class TimelineLine(NamedTuple):
    """A line of a case's timeline as the supervisor's case page shows it."""

    at: datetime
    actor_label: str
    message: str


# A case's timeline, the columns the page shows (no model instances), compiled once per
# database in this process.
_TIMELINE = CompiledValues(
    TimelineEntry,
    lambda case_id: (
        TimelineEntry.objects.filter(case_id=case_id)
        .order_by("at", "pk")
        .values_list("at", "actor_label", "message")
    ),
    -7_340_029_303,
)


def case_timeline_lines(case: Case) -> list[TimelineLine]:
    """Every line of the case's timeline, oldest first."""
    return [TimelineLine(*row) for row in _TIMELINE.rows(case.pk)]


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


Desk = tuple[str, str, str, str]  # (department, jurisdiction kind, its code, division)


def desk_of(item: CaseItem) -> Desk:
    """Who works the item, as the officers' lookup needs it."""
    return (item.department, item.jurisdiction_kind, item.jurisdiction_code, item.division)


def item_officers(item: CaseItem) -> list[User]:
    """The active officers of the item's department whose jurisdiction holds the item (the
    same test as ``accounts.permissions.item_in_jurisdiction``, as one query)."""
    desk = desk_of(item)
    return desks_officers([desk])[desk]


def desks_officers(desks: Iterable[Desk]) -> dict[Desk, list[User]]:
    """`item_officers` of the items of many desks in one query (the deadline sweep's run:
    issue 10, session 24): the officers of every desk's department who hold its
    institution, or a division that is a prefix of its division; each desk's in id order."""
    wanted = list(dict.fromkeys(desks))
    if not wanted:
        return {}
    places = Q()
    for _, kind, code, _ in wanted:
        places |= Q(jurisdiction_kind=kind, jurisdiction_code=code)
    prefixes = {p for *_, division in wanted for p in division_prefixes(division)}
    found = list(
        User.objects.filter(
            role=Role.OFFICER,
            is_active=True,
            department__in={department for department, *_ in wanted},
        )
        .filter(
            places | Q(jurisdiction_kind=JurisdictionKind.DIVISION, jurisdiction_code__in=prefixes)
        )
        .exclude(jurisdiction_code="")
        .order_by("pk")
    )

    def holds(user: User, desk: Desk) -> bool:  # the query's condition, for one desk
        department, kind, code, division = desk
        return user.department == department and (
            (user.jurisdiction_kind == kind and user.jurisdiction_code == code)
            or (
                user.jurisdiction_kind == JurisdictionKind.DIVISION
                and division.startswith(user.jurisdiction_code)
            )
        )

    return {desk: [user for user in found if holds(user, desk)] for desk in wanted}


def supervisor_levels(division: str) -> list[list[User]]:
    """The active supervisors over ``division``, nearest level first: one list per distinct
    length of their division prefix (e.g. district 450703, then city 4507, then 45)."""
    return divisions_supervisor_levels([division])[division]


def divisions_supervisor_levels(divisions: Iterable[str]) -> dict[str, list[list[User]]]:
    """`supervisor_levels` of many divisions in one query (the deadline sweep's run)."""
    wanted = list(dict.fromkeys(divisions))
    if not wanted:
        return {}
    found = list(
        User.objects.filter(
            role=Role.SUPERVISOR,
            is_active=True,
            jurisdiction_kind=JurisdictionKind.DIVISION,
            jurisdiction_code__in={p for d in wanted for p in division_prefixes(d)},
        ).order_by("pk")
    )
    out = {}
    for division in wanted:
        levels: dict[int, list[User]] = {}
        for user in found:
            if division.startswith(user.jurisdiction_code):
                levels.setdefault(len(user.jurisdiction_code), []).append(user)
        out[division] = [levels[length] for length in sorted(levels, reverse=True)]
    return out


def jurisdiction_labels(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """``jurisdiction_label`` of many (kind, code) pairs in two queries, not one per pair
    (the deadlines page showed 500 rows with one query each)."""
    wanted = set(pairs)
    divisions = {code for kind, code in wanted if kind == JurisdictionKind.DIVISION}
    names = dict(Division.objects.filter(code__in=divisions).values_list("code", "name"))
    institutions = {(k, c) for k, c in wanted if k != JurisdictionKind.DIVISION}
    known = {
        (kind, code): name
        for kind, code, name in Institution.objects.filter(
            code__in={c for _, c in institutions}
        ).values_list("kind", "code", "name")
    }
    out = {}
    missing = []
    for kind, code in wanted:
        if kind == JurisdictionKind.DIVISION:
            out[(kind, code)] = f"{names[code]}（{code}）" if code in names else code
        elif (kind, code) in known:
            out[(kind, code)] = known[(kind, code)]
        else:
            missing.append((kind, code))
    if missing:  # not in the tables: the packaged names, as jurisdiction_label gives them
        reference = current_reference()
        for kind, code in missing:
            found = (
                reference.institution(cast(InstitutionKind, kind), code)
                if kind in ("hospital", "police_station", "service_center")
                else None
            )
            out[(kind, code)] = found.name if found is not None else code
    return out


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


def _unread_counted(user_id: Any) -> QuerySet[Any]:
    """The count of user ``user_id``'s unread work messages (no row where none)."""
    return (
        StaffMessage.objects.filter(user_id=user_id, read_at__isnull=True)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )


def staff_unread_count(user: User) -> Coalesce:
    """An annotation: ``user``'s unread work messages (the staff header's badge), for a
    page that reads it with its own row (``staff_unread_known``)."""
    return Coalesce(Subquery(_unread_counted(user.pk), output_field=IntegerField()), Value(0))


# The header's count where the page did not read it, compiled once per database in this
# process (session 24: building and compiling the count was ~a tenth of the search's CPU).
_STAFF_UNREAD = CompiledValues(
    StaffMessage, lambda user_id: _unread_counted(user_id).values_list("n"), -7_340_029_305
)


def staff_unread_now(user: User) -> int:
    """``user``'s unread work messages, read now (the header's badge, `staff_unread`)."""
    rows = _STAFF_UNREAD.rows(user.pk)
    return int(rows[0][0]) if rows else 0


# The unread count a page already read in this request, for the header (`staff_unread`).
STAFF_UNREAD_ATTR = "_onestop_staff_unread"


def staff_unread_known(request: Any, user: User, count: int) -> None:
    """The header's unread count of ``user``'s work messages, read by the page with its own
    statement (the queue's stamp, the task page's item): the header asks nothing more."""
    setattr(request, STAFF_UNREAD_ATTR, (user.pk, int(count)))


def staff_unread_read(request: Any, user: User) -> int | None:
    """The count `staff_unread_known` kept for ``user`` in this request (None: not read)."""
    kept = getattr(request, STAFF_UNREAD_ATTR, None)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == user.pk:
        return int(kept[1])
    return None


DEADLINE_COLUMNS = (
    "id",
    "item",
    "state",
    "department",
    "jurisdiction_kind",
    "jurisdiction_code",
    "division",
    "due_at",
    "due_provisional",
    "case",
    "case__number",
)


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
    # The columns the page shows only: a row no longer loads (and decrypts) its case's
    # document and decision, nor its own result — issue 10, part 4: 500 of each were most
    # of the page's time.
    listed = qs.select_related("case").only(*DEADLINE_COLUMNS)
    for item in listed.annotate(urge_total=urge_count()).order_by("due_at", "pk")[:limit]:
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
    now. The finished items' counts and working-day histograms come from the daily
    roll-up (whole months kept summed) and, for the days not rolled up, from the items;
    the median is taken from the summed histogram."""
    prefix = supervised_prefix(user)
    if prefix is None:
        return []
    # Whole days already rolled up: their roll-up rows (ADR 0025), each whole month's sum
    # read once and kept (``rolled_parts``, as the dashboards); the rest (today, a part
    # day at either end, a day the job has not reached) from the items, computed the same
    # way, today's past hours once (``over_cached``).
    first_day = to_beijing(start).date()
    if midnight(first_day) < start:
        first_day += timedelta(days=1)
    last_day = to_beijing(end).date()  # the first day not wholly within the period
    counts: Merged = {}
    rolled: set[date] = set()
    # The cache's name for this scope: the department is what the request asked (any text,
    # any length), so it goes in as a digest.
    named = f"{prefix}:{hashlib.blake2b(department.encode(), digest_size=8).hexdigest()}"
    if first_day < last_day:

        def read(days: set[date]) -> Merged:
            part: Merged = {}
            rows = EfficiencyDay.objects.filter(day__in=days, division__startswith=prefix)
            rows = rows.exclude(department="")
            if department:
                rows = rows.filter(department=department)
            for row in rows.values(*KEY_FIELDS, *ROLLED_COUNTS, "working_days").iterator():
                row["histogram"] = row["working_days"]
                merge(part, _key(row), row, ROLLED_COUNTS)
            return part

        rolled, parts = rolled_parts(
            "efficiency",
            named,
            first_day,
            last_day,
            now,
            efficiency_markers(),
            read,
        )
        for part in parts:
            for key, values in part.items():
                merge(counts, key, values, ROLLED_COUNTS)
    scope = within(CaseItem.objects.all(), prefix)
    if department:
        scope = scope.filter(department=department)
    for figures in unrolled_parts(
        "efficiency",
        named,
        (start, end, now),
        rolled,
        lambda a, b: CaseItem.objects.filter(finished_at__gte=a, finished_at__lt=b),
        lambda a, b: day_figures(a, b, calendar, scope),
    ):
        for (dept, _item, kind, code, _division), values in figures.items():
            merge(
                counts,
                (dept, kind, code),
                {**values, "histogram": values["working_days"]},
                ROLLED_COUNTS,
            )
    open_counts: dict[tuple[str, ...], dict[str, int]] = {}
    open_scope = CaseItem.objects.filter(division__startswith=prefix)
    if department:
        open_scope = open_scope.filter(department=department)
    for row in (
        open_scope.filter(state__in=(*OPEN_STATES, ItemState.RETURNED))
        .order_by()
        .values(*KEY_FIELDS)
        .annotate(
            n_open=Count("pk"),
            n_overdue=Count("pk", filter=Q(state__in=OPEN_STATES, due_at__lt=now)),
            n_provisional=Count("pk", filter=Q(due_provisional=True)),
        )
    ):
        open_counts[_key(row)] = row
    out = []
    for key in sorted(set(counts) | set(open_counts)):
        c = counts.get(key, {})
        o = open_counts.get(key, {})
        spent = _histogram_median(c.get("histogram", {}))
        if not (any(c.values()) or o):
            continue
        out.append(
            EfficiencyRow(
                department=key[0],
                jurisdiction_kind=key[1],
                jurisdiction_code=key[2],
                finished=int(c.get("finished", 0)),
                automatic=int(c.get("automatic", 0)),
                with_limit=int(c.get("with_limit", 0)),
                on_time=int(c.get("on_time", 0)),
                median_working_days=round(spent, 2) if spent is not None else None,
                open_overdue=int(o.get("n_overdue", 0)),
                open_total=int(o.get("n_open", 0)),
                provisional=int(c.get("provisional", 0)) + int(o.get("n_provisional", 0)),
            )
        )
    return out


ROLLED_COUNTS = ("finished", "automatic", "with_limit", "on_time", "provisional")


def _histogram_median(histogram: dict[str, int]) -> float | None:
    """The median of the values a histogram (value: count) holds."""
    total = sum(histogram.values())
    if not total:
        return None
    values = sorted((float(v), n) for v, n in histogram.items())
    wanted = [(total - 1) // 2, total // 2]
    found: list[float] = []
    seen = 0
    for value, n in values:
        while len(found) < 2 and wanted[len(found)] < seen + n:
            found.append(value)
        seen += n
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


def _key(row: dict[str, Any]) -> Key:
    return (str(row["department"]), str(row["jurisdiction_kind"]), str(row["jurisdiction_code"]))
