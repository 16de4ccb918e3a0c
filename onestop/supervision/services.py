"""Time-limit supervision writes: the deadline sweep, the parents' urges (催办), staff messages.

The sweep (``deadlines_sweep``, run by the worker from ``onestop.ops.schedule``):

1. sets every open item's light (``CaseItem.urgency``) with a few SQL updates, from the
   thresholds the pure ``onestop.workflow.domain.urgency`` computes for *now*; returned
   items (clock paused) have no light;
2. records each transition once — warning, overdue, and the escalations after
   ``ESCALATE_AFTER`` working days overdue — as a ``DeadlineEvent`` keyed by (item, kind,
   due time), with a staff-only timeline entry, an audit record and in-app messages to the
   department's officers and the supervisors, all in one transaction with the case row
   locked — a batch of transitions of one kind in one transaction holding their cases'
   rows (a fixed number of statements a batch: issue 10, session 24). A second run finds
   the events and changes and sends nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import can_view_case
from onestop.audit.services import audit_entry, audit_record, audit_records
from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import calendar_end_warning, current_calendar
from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import case_locked, cases_locked
from onestop.core.clock import to_beijing
from onestop.core.errors import CalendarNotCovered, OnestopError
from onestop.core.events import effects, emit
from onestop.core.written import written
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.supervision.events import ItemDeadlineReached, ItemUrged
from onestop.supervision.models import DeadlineEvent, ItemUrge, StaffMessage
from onestop.supervision.selectors import (
    OPEN_STATES,
    Desk,
    desk_of,
    desks_officers,
    divisions_supervisor_levels,
    jurisdiction_labels,
)
from onestop.workflow.domain import urgency
from onestop.workflow.domain.newborns import split_key
from onestop.workflow.models import CaseItem, ItemState, Urgency
from onestop.workflow.services import provisional_dues_recompute

log = logging.getLogger(__name__)

SYSTEM = "系统"


# --- staff messages ---------------------------------------------------------------------


def staff_message_send(
    *,
    users: Iterable[User],
    key: str,
    kind: str,
    body: str,
    at: datetime,
    case: Case | None = None,
    item: CaseItem | None = None,
) -> int:
    """Queue an in-app message to each user (inside the caller's transaction); the same key
    never reaches a user twice. Returns how many were new."""
    return len(_messages_write(_message_rows(users, key, kind, body, at, case, item)))


def staff_message_hold(
    *,
    users: Iterable[User],
    key: str,
    kind: str,
    body: str,
    at: datetime,
    queued: list[int],
    case: Case | None = None,
    item: CaseItem | None = None,
) -> None:
    """`staff_message_send` for an event's handler: inside an event dispatch the rows are
    held and written when the dispatch ends, with every other message held in it — one
    read of their keys and one INSERT for a batch of state changes (the deadline sweep's:
    issue 10, session 24) — and then ``queued`` gets how many were new; outside a dispatch
    they are written at once."""
    rows = _message_rows(users, key, kind, body, at, case, item)
    if not effects.dispatching():
        queued.append(len(_messages_write(rows)))
        return
    held: list[tuple[list[StaffMessage], list[int]]] | None = getattr(_held, "messages", None)
    if held is None:
        held = _held.messages = []
    held.append((rows, queued))


_held = threading.local()


def _messages_flush() -> None:
    held: list[tuple[list[StaffMessage], list[int]]] = getattr(_held, "messages", None) or []
    _held.messages = None
    if not held:
        return
    fresh = {id(row) for row in _messages_write([row for rows, _ in held for row in rows])}
    for rows, queued in held:
        queued.append(sum(id(row) in fresh for row in rows))


def _messages_discard() -> None:
    _held.messages = None


effects.on_dispatched(_messages_flush, on_error=_messages_discard)


def _message_rows(
    users: Iterable[User],
    key: str,
    kind: str,
    body: str,
    at: datetime,
    case: Case | None,
    item: CaseItem | None,
) -> list[StaffMessage]:
    return [
        StaffMessage(
            user=user,
            dedup_key=f"{key}:{user.pk}",
            kind=kind,
            case=case,
            item=item,
            body=body,
            created_at=at,
        )
        for user in dict.fromkeys(users)
    ]


def _messages_write(rows: list[StaffMessage]) -> list[StaffMessage]:
    """Write the rows whose key is new (two statements); returns those."""
    if not rows:
        return []
    keys = [row.dedup_key for row in rows]
    existing = set(
        StaffMessage.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True)
    )
    fresh = []
    for row in rows:  # a key twice in one batch is one message, as a second call would find
        if row.dedup_key not in existing:
            existing.add(row.dedup_key)
            fresh.append(row)
    StaffMessage.objects.bulk_create(fresh, ignore_conflicts=True)
    return fresh


def staff_messages_mark_read(*, user: User, ids: Iterable[int], now: datetime | None = None) -> int:
    now = now or timezone.now()
    return StaffMessage.objects.filter(user=user, pk__in=list(ids), read_at__isnull=True).update(
        read_at=now
    )


# --- the deadline sweep -----------------------------------------------------------------


@dataclass
class SweepReport:
    lights: dict[str, int] = field(default_factory=dict)  # rows whose light changed, per light
    events: dict[str, int] = field(default_factory=dict)  # transitions recorded, per kind
    messages: int = 0
    calendar_missing: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "lights": dict(self.lights),
            "events": dict(self.events),
            "messages": self.messages,
            "calendar_missing": self.calendar_missing,
        }


def due_words(moment: datetime, provisional: bool = False) -> str:
    mark = "（暂按双休日计算）" if provisional else ""
    return f"{written(moment)}{mark}"  # 2027年1月7日 23:59, as people write it


def _relight(qs: QuerySet[CaseItem], light: str, batch_size: int) -> int:
    """Set ``light`` on the rows of ``qs`` that have another one, in batches. The update
    repeats the selection's conditions, so a row that changed meanwhile is left alone."""
    ids = list(qs.exclude(urgency=light).values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        # The rows locked in id order, as a batch of transitions locks them (`_record`):
        # two statements each taking its rows in its own order could deadlock.
        with transaction.atomic():
            locked = list(
                qs.filter(pk__in=batch)
                .exclude(urgency=light)
                .select_for_update()
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if locked:
                changed += CaseItem.objects.filter(pk__in=locked).update(urgency=light)
    return changed


def _unrecorded(qs: QuerySet[CaseItem], kind: str) -> QuerySet[CaseItem]:
    """The rows of ``qs`` whose ``kind`` transition is not marked for their due time. The
    marks (``CaseItem.deadline_marks``) are kept with the ledger: set in the transaction
    that records the event, cleared by the database when ``due_at`` changes. An item whose
    last escalation is marked is not in the partial index the selection reads
    (``caseitem_open_unescalated``), so a run does not walk every overdue item there is."""
    bit = urgency.DEADLINE_MARKS[kind]
    # "The bit is not set" as the list of the values without it, not ``marks & bit = 0``:
    # PostgreSQL estimates an IN list from the column's statistics, but an expression at a
    # fixed 0.5 %, and with that guess it read every open item by state and sorted them
    # rather than walk the partial index in due order (28 ms → 0.1–6 ms at 100 k).
    unmarked = [marks for marks in range(urgency.LAST_MARK) if not marks & bit]
    return qs.filter(deadline_marks__lt=urgency.LAST_MARK, deadline_marks__in=unmarked)


def _mark(kind: str, dues: Iterable[tuple[int, datetime]]) -> None:
    """Mark ``kind`` recorded for each (item, due time), on the items that still have that
    due time: one UPDATE."""
    which = Q()
    for item_id, due in dues:
        which |= Q(pk=item_id, due_at=due)
    if which:
        CaseItem.objects.filter(which).update(
            deadline_marks=F("deadline_marks").bitor(urgency.DEADLINE_MARKS[kind])
        )


class _Recipients:
    """Officers and supervisors per jurisdiction, and the places' names, looked up once
    per sweep, for a batch of items at a time (`load`: three or four queries)."""

    def __init__(self) -> None:
        self._officers: dict[Desk, list[User]] = {}
        self._supervisors: dict[str, list[list[User]]] = {}
        self._places: dict[tuple[str, str], str] = {}

    def load(self, items: Iterable[CaseItem]) -> None:
        """Look up what ``items`` need and the run does not know yet."""
        rows = list(items)
        self._officers.update(
            desks_officers(d for d in map(desk_of, rows) if d not in self._officers)
        )
        self._supervisors.update(
            divisions_supervisor_levels(
                i.division for i in rows if i.division not in self._supervisors
            )
        )
        places = {(i.jurisdiction_kind, i.jurisdiction_code) for i in rows} - set(self._places)
        if places:  # reference data: the same for the whole run
            self._places.update(jurisdiction_labels(places))

    def place(self, item: CaseItem) -> str:
        """The jurisdiction's name."""
        self.load([item])
        return self._places[(item.jurisdiction_kind, item.jurisdiction_code)]

    def officers(self, item: CaseItem) -> list[User]:
        self.load([item])
        return self._officers[desk_of(item)]

    def supervisors(self, item: CaseItem) -> list[list[User]]:
        self.load([item])
        return self._supervisors[item.division]


MESSAGE_KINDS = {
    DeadlineEvent.Kind.WARNING: StaffMessage.Kind.WARNING,
    DeadlineEvent.Kind.OVERDUE: StaffMessage.Kind.OVERDUE,
    DeadlineEvent.Kind.ESCALATED_1: StaffMessage.Kind.ESCALATED,
    DeadlineEvent.Kind.ESCALATED_2: StaffMessage.Kind.ESCALATED,
}
ESCALATION_KINDS = (DeadlineEvent.Kind.ESCALATED_1, DeadlineEvent.Kind.ESCALATED_2)


def _transition(
    kind: str, item: CaseItem, case: Case, recipients: _Recipients
) -> tuple[list[User], str, str]:
    """(who hears, the staff message, the timeline line) for one transition."""
    name = ITEM_NAMES.get(item.item, item.item)
    department = DEPARTMENT_NAMES.get(item.department, item.department)
    assert item.due_at is not None
    due = due_words(item.due_at, item.due_provisional)
    officers = recipients.officers(item)
    levels = recipients.supervisors(item)
    nearest = levels[0] if levels else []
    where = f"{recipients.place(item)}{department}"
    subject = f"办件{case.number}的{name}（{where}）"
    if kind == DeadlineEvent.Kind.WARNING:
        return (
            officers,
            f"【即将到期】{subject}将于{due}到期，剩余不足1个工作日，请抓紧办理。",
            f"{name}即将到期（办理期限 {due}，剩余不足1个工作日），已提醒{department}",
        )
    if kind == DeadlineEvent.Kind.OVERDUE:
        return (
            [*officers, *nearest],
            f"【已超期】{subject}已超过办理期限（{due}），请立即办理。",
            f"{name}已超过办理期限（{due}），已通知{department}和监管人员",
        )
    days = urgency.ESCALATE_AFTER[ESCALATION_KINDS.index(kind)]
    if kind == DeadlineEvent.Kind.ESCALATED_1:
        return (
            [*officers, *nearest],
            f"【超期督办】{subject}超期已满{days}个工作日仍未办结（办理期限 {due}），请督促办理。",
            f"{name}超期已满{days}个工作日仍未办结，已向监管人员督办",
        )
    upper = levels[1] if len(levels) > 1 else nearest
    return (
        [*upper, *nearest],
        f"【超期上报】{subject}超期已满{days}个工作日仍未办结（办理期限 {due}），已上报上级监管。",
        f"{name}超期已满{days}个工作日仍未办结，已上报上级监管人员",
    )


# What a transition reads of its item: what it writes and says, not the encrypted result
# (a deferred field still loads if an effect asks for it). Its case is read by the one case
# lock (`cases_locked`), whose encrypted columns are decrypted only when read (none here).
RECORD_ITEM_COLUMNS = (
    "id",
    "case_id",
    "item",
    "state",
    "due_at",
    "due_provisional",
    "department",
    "jurisdiction_kind",
    "jurisdiction_code",
    "division",
)


@dataclass(frozen=True)
class _Due:
    """An item selected for a transition: its case and the due time it was selected for."""

    item_id: int
    case_id: int
    due: datetime


# How many transitions one transaction records at most: each locks its cases until it
# commits, so a clerk acting on one of them waits for the batch, not for the run.
TRANSACTION_TRANSITIONS = 100


@dataclass
class _Recorded:
    transitions: int = 0
    messages: int = 0

    def __iadd__(self, other: _Recorded) -> _Recorded:
        self.transitions += other.transitions
        self.messages += other.messages
        return self


def _record_all(kind: str, dues: list[_Due], now: datetime, recipients: _Recipients) -> _Recorded:
    """Record ``kind`` for the selected items, batch by batch (`_record`). A batch that fails
    is recorded again one transition at a time, so a failure still costs only the
    transition that fails (it raises, as before), never another's record."""
    total = _Recorded()
    for start in range(0, len(dues), TRANSACTION_TRANSITIONS):
        batch = dues[start : start + TRANSACTION_TRANSITIONS]
        try:
            total += _record(kind, batch, now, recipients)
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("deadline sweep: a batch of %s failed; one at a time", kind, exc_info=True)
            for due in batch:
                total += _record(kind, [due], now, recipients)
    return total


def _record(kind: str, dues: list[_Due], now: datetime, recipients: _Recipients) -> _Recorded:
    """Record each transition of ``dues`` once, in one transaction with their cases locked
    (`cases_locked`: every writer of a DeadlineEvent holds its case row, and each case's
    audit chain is written under its own lock). A transition already recorded, or that no
    longer holds (the item finished, its due time moved), is skipped.

    A batch costs a constant number of statements (issue 10, session 24): the cases' lock,
    the items, the ledger's check, the events, the marks, the audit records (the streams'
    last records, INSERT), the timeline lines and the messages (read of their keys,
    INSERT). What a run shares across batches is read-only: the recipients and the place
    names (``_Recipients``)."""
    with transaction.atomic():
        cases = cases_locked(d.case_id for d in dues)
        # The items locked in id order (the marks' UPDATE below and `_relight` write them
        # without the cases' lock: one order, no deadlock between them).
        items = {
            item.pk: item
            for item in CaseItem.objects.only(*RECORD_ITEM_COLUMNS)
            .filter(pk__in=[d.item_id for d in dues])
            .select_for_update()
            .order_by("pk")
        }
        holding = []
        for due in dues:
            case, item = cases.get(due.case_id), items.get(due.item_id)
            if case is None or item is None or item.case_id != case.pk:
                continue
            if item.state in OPEN_STATES and item.due_at == due.due:
                holding.append((due, item, case))
        if not holding:
            return _Recorded()
        # Every writer of a DeadlineEvent holds its case row (above), so this check cannot
        # race another sweep; the unique (item, kind, due_at) constraint still stands behind.
        recorded = set(
            DeadlineEvent.objects.filter(
                kind=kind, item_id__in=[item.pk for _, item, _ in holding]
            ).values_list("item_id", "due_at")
        )
        fresh = [(d, item, case) for d, item, case in holding if (item.pk, d.due) not in recorded]
        # (recorded, not marked: a row written before 0014 is marked, not recorded again)
        _mark(kind, ((item.pk, d.due) for d, item, _ in holding))
        if not fresh:
            return _Recorded()
        DeadlineEvent.objects.bulk_create(
            [DeadlineEvent(item=i, case=c, kind=kind, due_at=d.due, at=now) for d, i, c in fresh]
        )
        recipients.load(item for _, item, _ in fresh)
        reached, records = [], []
        for due, item, case in fresh:
            users, body, line = _transition(kind, item, case, recipients)
            records.append(
                audit_entry(
                    stream=case.number,
                    at=now,
                    actor=None,
                    actor_label=SYSTEM,
                    action=f"item_deadline_{kind}",
                    object_type="case_item",
                    object_id=item.item,
                    detail={
                        "due_at": due.due.isoformat(),
                        "recipients": sorted(u.pk for u in users),
                    },
                )
            )
            reached.append(
                ItemDeadlineReached(
                    case=case,
                    at=now,
                    row=item,
                    kind=kind,
                    due_at=due.due,
                    recipients=tuple(users),
                    body=body,
                    line=line,
                )
            )
        audit_records(records)
        emit(*reached)  # the staff-only timeline lines and the work messages
        return _Recorded(len(fresh), sum(sum(event.queued) for event in reached))


def deadlines_sweep(now: datetime | None = None, *, batch_size: int = 500) -> SweepReport:
    """Mark warnings and overdue items, notify, escalate. Idempotent (see the module doc).

    Each kind of transition records at most ``batch_size`` items per run; the rest follow
    in the next run."""
    now = now or timezone.now()
    table = current_calendar()
    # Beyond the table, weekends only: provisional due times (暂按双休日计算) get their
    # amber and red lights and escalations too (issue 8, defect 4).
    calendar = weekends_beyond(table)
    report = SweepReport()
    open_items = CaseItem.objects.filter(state__in=OPEN_STATES, due_at__isnull=False)
    if not table.covers(to_beijing(now).date()):
        report.calendar_missing = True
        log.warning(
            "deadline sweep: the working-day table ends with %s; counting weekends only",
            table.last_year,
        )
    cutoff: datetime | None = urgency.warning_cutoff(calendar, now)

    # 1. Lights, in SQL.
    paused = CaseItem.objects.filter(state=ItemState.RETURNED)
    report.lights["paused"] = _relight(paused, Urgency.NORMAL, batch_size)
    report.lights[Urgency.OVERDUE] = _relight(
        open_items.filter(due_at__lt=now), Urgency.OVERDUE, batch_size
    )
    if cutoff is not None:
        warning = open_items.filter(due_at__gte=now, due_at__lt=cutoff)
        report.lights[Urgency.WARNING] = _relight(warning, Urgency.WARNING, batch_size)
        normal = open_items.filter(due_at__gte=cutoff)
        report.lights[Urgency.NORMAL] = _relight(normal, Urgency.NORMAL, batch_size)

    # 2. Transitions, each recorded once.
    recipients = _Recipients()
    pending: list[tuple[str, QuerySet[CaseItem]]] = []
    if cutoff is not None:
        pending.append(
            (DeadlineEvent.Kind.WARNING, open_items.filter(due_at__gte=now, due_at__lt=cutoff))
        )
    pending.append((DeadlineEvent.Kind.OVERDUE, open_items.filter(due_at__lt=now)))
    for escalation, days in zip(ESCALATION_KINDS, urgency.ESCALATE_AFTER, strict=True):
        # Working time never exceeds calendar time: a cheap necessary condition in SQL.
        pending.append((escalation, open_items.filter(due_at__lt=now - timedelta(days=days))))
    for kind, qs in pending:
        selected = _unrecorded(qs, kind).order_by("due_at", "pk")
        dues = [
            _Due(item_id, case_id, due)
            for item_id, due, case_id in selected.values_list("pk", "due_at", "case_id")[
                :batch_size
            ]
            if due is not None
            and (kind not in ESCALATION_KINDS or _escalation_reached(calendar, kind, due, now))
        ]
        recorded = _record_all(kind, dues, now, recipients)
        report.events[kind] = recorded.transitions
        report.messages += recorded.messages
    return report


def _escalation_reached(calendar: WorkingCalendar, kind: str, due: datetime, now: datetime) -> bool:
    level = ESCALATION_KINDS.index(kind) + 1
    try:
        return urgency.escalation_level(calendar, due, now) >= level
    except CalendarNotCovered:
        return False


# --- urging (催办) ------------------------------------------------------------------------


class UrgeRefused(OnestopError):
    """The urge is not accepted; ``code`` says why (stable for machines)."""

    code = "urge_refused"


def _urge_day(calendar: WorkingCalendar, now: datetime) -> tuple[date, date | None]:
    """(the working day an urge at ``now`` counts for, the one after it): an urge on a rest
    day counts for the next working day, when the department sees it. Outside the calendar
    table the calendar date is used (the once-a-day limit then counts calendar days)."""
    day = to_beijing(now).date()
    try:
        bucket = calendar.working_day_on_or_after(day)
        return bucket, calendar.next_working_day(bucket)
    except CalendarNotCovered:
        return day, None


@transaction.atomic
def item_urge(
    *, case: Case, item: CaseItem | str, parent: User, now: datetime | None = None
) -> ItemUrge:
    """A parent urges an overdue item of their own case, at most once per working day. The
    department's officers get a message; the timeline shows it to both sides."""
    now = now or timezone.now()
    # The case's one lock (`case_locked`): its row and its audit stream's last record in
    # one statement, as every other change of a case locks it.
    locked = case_locked(case.pk)
    if parent.role != Role.PARENT or not can_view_case(parent, locked):
        raise UrgeRefused("只能催办本人的办件", code="urge_forbidden")
    code, newborn = split_key(item) if isinstance(item, str) else (item.item, item.newborn)
    row = CaseItem.objects.filter(case=locked, item=code, newborn=newborn).first()
    if row is None:
        raise UrgeRefused("办件中没有该事项", code="urge_item_unknown")
    if locked.status != CaseStatus.IN_PROGRESS or row.state not in OPEN_STATES:
        if row.state == ItemState.RETURNED:
            raise UrgeRefused("该事项正等待您补正，办理时限暂停计算，请先补正", code="urge_paused")
        raise UrgeRefused("该事项不在办理中，无需催办", code="urge_not_open")
    if row.due_at is None or now <= row.due_at:
        raise UrgeRefused("该事项尚未超过办理期限，超期后才可催办", code="urge_not_overdue")
    calendar = current_calendar()
    bucket, following = _urge_day(calendar, now)
    if ItemUrge.objects.filter(item=row, working_day=bucket).exists():
        raise _too_soon(following)
    try:
        with transaction.atomic():
            urge = ItemUrge.objects.create(
                item=row, case=locked, parent=parent, at=now, working_day=bucket
            )
    except IntegrityError:
        raise _too_soon(following) from None
    count = ItemUrge.objects.filter(item=row).count()
    audit_record(
        stream=locked.number,
        at=now,
        actor=parent,
        actor_label="申请人",
        action="item_urged",
        object_type="case_item",
        object_id=row.key,
        detail={"count": count, "working_day": bucket.isoformat()},
    )
    # The timeline line both sides see and the officers' work message.
    emit(ItemUrged(case=locked, at=now, row=row, parent=parent, count=count, urge_id=urge.pk))
    return urge


def _too_soon(following: date | None) -> UrgeRefused:
    when = f"（{following:%Y-%m-%d}）" if following is not None else ""
    return UrgeRefused(
        f"今天已催办过该事项，每个工作日只能催办一次，请下一个工作日{when}再催办",
        code="urge_too_soon",
    )


# --- the end of the working-day table -----------------------------------------------------


@dataclass
class CalendarWatchReport:
    warned: int = 0  # new work messages about the table's end
    recomputed: int = 0  # provisional due times the table now covers, recomputed

    def as_dict(self) -> dict[str, int]:
        return {"warned": self.warned, "recomputed": self.recomputed}


def calendar_watch(now: datetime | None = None) -> CalendarWatchReport:
    """The periodic check of the working-day table (issue 8, defect 4):

    - from 60 days before the table runs out, administrators and supervisors get one work
      message (keyed by the table's last year: once per user, however often this runs);
    - provisional due times (暂按双休日计算) the table now covers are recomputed, for a year
      published other than through the admin (the admin recomputes at once)."""
    now = now or timezone.now()
    report = CalendarWatchReport()
    table = current_calendar()
    with transaction.atomic():
        report.recomputed = provisional_dues_recompute(
            now=now, actor=None, calendar=table, covered_only=True
        )
    text = calendar_end_warning(now)
    if text is None:
        return report
    staff = User.objects.filter(is_active=True).filter(
        Q(role__in=(Role.ADMIN, Role.SUPERVISOR)) | Q(is_superuser=True)
    )
    with transaction.atomic():
        report.warned = staff_message_send(
            users=staff.order_by("pk"),
            key=f"calendar_end:{table.last_year}",
            kind=StaffMessage.Kind.CALENDAR,
            body=f"【工作日历】{text}",
            at=now,
        )
    return report
