"""Writes to a case's items. Each public function is one transaction holding the state
change, its audit record and the events it records (``workflow/events.py``), whose effects
— timeline entries, messages and webhooks to send after commit, e-licences, automatic
steps, the case's completion — are the handlers of the one table (``onestop.core.events``).

Two officers acting on one item at once: both lock the case row first, so they run one
after the other; the second finds the item no longer in the state it expected and gets a
`TaskConflict` that says who did what and when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from onestop.accounts.models import User, actor_label
from onestop.accounts.permissions import can_work_item
from onestop.audit.services import audit_record
from onestop.calendar.clock_rules import (
    ClockRule,
    due_time_marked,
    extend_for_pause_marked,
)
from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import current_calendar, due_text
from onestop.cases.events import Office
from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import case_locked
from onestop.catalogue import catalogue
from onestop.common.compiled import (
    CompiledAll,
    CompiledAllOfIds,
    CompiledInsert,
    CompiledUpdate,
)
from onestop.common.fields import read_sealed, unseal
from onestop.core.clock import BEIJING, end_of_day, parse_time, to_beijing
from onestop.core.errors import CalendarNotCovered, OnestopError
from onestop.core.events import Event, emit
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import DEPARTMENT_NAMES
from onestop.policy.loader import default_packs
from onestop.reference.selectors import bank_branch, bank_name, institution_contact
from onestop.workflow import domain
from onestop.workflow import events as ev
from onestop.workflow.domain import delivery
from onestop.workflow.domain.outcome import NotDone, case_outcome, outcome_notice
from onestop.workflow.domain.results import (
    NewbornFacts,
    ResultProblem,
    clean_reasons,
    problems_code,
    validate_result,
)
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.payment import confirmation_problems
from onestop.workflow.selectors import (
    MULTIPLE,
    multiple_birth,
    multiple_birth_known,
    ordinary_channels_of,
    row_name,
    why_not_done,
)


class TaskConflict(OnestopError):
    code = "task_conflict"


class NotPermitted(OnestopError):
    code = "forbidden"


class ResultInvalid(OnestopError):
    """A result or reason refused; ``code`` is the problems' common code (e.g.
    ``invalid_id_number``), else ``result_invalid``."""

    code = "result_invalid"

    def __init__(self, problems: Sequence[ResultProblem]) -> None:
        super().__init__("；".join(p.message for p in problems), code=problems_code(problems))
        self.problems = list(problems)


# The state names people read: one definition, in the domain core (the model's choices
# carry the same words for translation; a test keeps them equal).
STATE_WORDS = {state.value: label for state, label in domain.STATE_LABELS_ZH.items()}


# --- rows <-> domain --------------------------------------------------------------------


def _statuses(rows: Sequence[CaseItem]) -> domain.CaseItems:
    return domain.CaseItems(
        tuple(
            domain.ItemStatus(
                item=row.key,
                department=row.department,
                after=tuple(row.after),
                time_limit_days=row.time_limit_days,
                state=domain.ItemState(row.state),
                state_before_return=(
                    domain.ItemState(row.state_before_return) if row.state_before_return else None
                ),
                officer=str(row.claimed_by_id) if row.claimed_by_id else None,
                reasons=tuple(row.reasons),
                cancelled_because=row.cancelled_because or None,
                ready_at=row.received_at,
                held=bool(row.awaiting_confirmation),
            )
            for row in rows
        )
    )


def compute_due(
    row: CaseItem,
    received: datetime,
    calendar: WorkingCalendar,
    *,
    clock_started: bool = True,
    born_on: date | None = None,
) -> tuple[datetime | None, bool]:
    """When ``row`` is due if its department received it at ``received`` (None: no limit),
    and whether that is provisional: the working-day table ends before it, so the days
    beyond were counted on weekends only (暂按双休日计算). A clock that starts on the
    birth date (Yuanling's payment: 须在90天内完成参保缴费) counts from ``born_on``."""
    if row.time_limit_days is None or not clock_started:
        return None, False
    if row.time_limit_unit == "calendar_days":
        start = to_beijing(received).date()
        if row.clock_start == "on_birth" and born_on is not None:
            start = born_on
        due = end_of_day(start + timedelta(days=row.time_limit_days))
        return due, False
    return due_time_marked(calendar, ClockRule(row.clock_rule), received, row.time_limit_days)


def _born_on(case: Case) -> date | None:
    """The (first) newborn's birth date, Beijing time, where the case gives it."""
    babies = case.typed_document().newborns
    born = babies[0].born_at if babies else None
    return to_beijing(born).date() if born is not None else None


def _clock_started(case: Case, row: CaseItem) -> bool:
    if row.clock_start != "on_bank_choice":
        return True
    card = case.typed_document().social_security_card
    return bool(card is not None and card.bank)


def _apply(
    case: Case,
    rows: dict[str, CaseItem],
    changes: Iterable[domain.Event],
    *,
    now: datetime,
    actor: User | None,
    calendar: WorkingCalendar | None = None,
    automatic_reason: str = "",
    same_visit: bool = False,
    unsaved: list[CaseItem] | None = None,
) -> list[Event]:
    """Write the domain's changes onto the rows; return the events that happened, for the
    caller to `emit` once it has written its audit record (their effects: `handlers_table`).
    ``unsaved``: the changed rows are put there for the caller to write, not saved here.
    ``calendar``: the working calendar in force, else read (`current_calendar`) only if a
    change needs it — an item becoming ready or resuming with a due time; a claim, a
    completion that readies nothing, a return or a refusal read none (issue 10, session
    22: the reference stamp's statement of every claim)."""
    changes = list(changes)
    happened: list[Event] = []
    for change in changes:
        row = rows[change.item]
        notes: list[Event] = []  # staff-only lines that precede the event's own line
        match change:
            case domain.ItemBecameReady():
                if calendar is None:
                    calendar = current_calendar()
                row.state = ItemState.READY
                row.received_at = now
                row.due_at, row.due_provisional = compute_due(
                    row,
                    now,
                    calendar,
                    clock_started=_clock_started(case, row),
                    born_on=_born_on(case) if row.clock_start == "on_birth" else None,
                )
                if row.due_provisional:
                    notes.append(_calendar_missing(case, rows, row, now, calendar))
            case domain.ItemClaimed():
                row.state = ItemState.IN_PROGRESS
                row.claimed_by = actor
                row.claimed_at = now
            case domain.ItemCompleted(result=result):
                row.state = ItemState.DONE
                row.finished_at = now
                row.result = dict(result)
            case domain.ItemReturned(reasons=reasons):
                row.state_before_return = row.state
                row.state = ItemState.RETURNED
                row.paused_at = now
                row.reasons = list(reasons)
            case domain.ItemResumed():
                row.state = row.state_before_return or ItemState.READY
                row.state_before_return = ""
                if row.paused_at is not None:
                    if row.due_at is not None:
                        if calendar is None:
                            calendar = current_calendar()
                        row.due_at, provisional = extend_for_pause_marked(
                            calendar, row.due_at, row.paused_at, now
                        )
                        if provisional and not row.due_provisional:
                            row.due_provisional = True
                            notes.append(_calendar_missing(case, rows, row, now, calendar))
                    row.pauses = [*row.pauses, [row.paused_at.isoformat(), now.isoformat()]]
                row.paused_at = None
                row.reasons = []
            case domain.ItemReleased():
                row.awaiting_confirmation = ""
            case domain.ItemRefused(reasons=reasons):
                row.state = ItemState.REFUSED
                row.awaiting_confirmation = ""
                row.finished_at = now
                row.reasons = list(reasons)
                row.paused_at = None
            case domain.ItemCancelled(because=because):
                row.state = ItemState.CANCELLED
                row.cancelled_because = because
                row.finished_at = now
                row.paused_at = None
        row.version += 1
        if unsaved is None:
            row.save()
        elif row not in unsaved:
            unsaved.append(row)
        common: dict[str, Any] = {
            "case": case,
            "row": row,
            "rows": rows,
            "at": now,
            "state": row.state,
            "version": row.version,
            "actor": actor,
        }
        happened.extend(notes)
        match change:
            case domain.ItemBecameReady():
                happened.append(ev.ItemBecameReady(**common))
            case domain.ItemClaimed():
                happened.append(ev.ItemClaimed(**common))
            case domain.ItemCompleted():
                happened.append(
                    ev.ItemCompleted(
                        **common, automatic_reason=automatic_reason, same_visit=same_visit
                    )
                )
            case domain.ItemReturned(reasons=reasons):
                happened.append(ev.ItemReturned(**common, reasons=tuple(reasons)))
            case domain.ItemResumed():
                happened.append(ev.ItemResumed(**common))
            case domain.ItemRefused(reasons=reasons):
                cancelled = tuple(
                    dict.fromkeys(
                        rows[c.item].item for c in changes if isinstance(c, domain.ItemCancelled)
                    )
                )
                happened.append(
                    ev.ItemRefused(**common, reasons=tuple(reasons), cancelled=cancelled)
                )
            case domain.ItemCancelled(because=because):
                happened.append(ev.ItemCancelled(**common, because=because))
    return happened


def _calendar_missing(
    case: Case, rows: dict[str, CaseItem], row: CaseItem, now: datetime, calendar: WorkingCalendar
) -> ev.ItemDueProvisional:
    """The table ends before the due time, which is provisional until an administrator
    publishes the next year (spec/regions.md: an error staff see)."""
    return ev.ItemDueProvisional(
        case=case,
        row=row,
        rows=rows,
        at=now,
        state=row.state,
        version=row.version,
        first_year=calendar.first_year,
        last_year=calendar.last_year,
    )


# --- result delivery (结果送达) ------------------------------------------------------


def _section(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _institution_place(kind: str, code: str) -> delivery.Place | None:
    if not code:
        return None
    found = institution_contact(kind, code)
    if found is None:
        return None
    name, address, hours = found
    return delivery.Place(name, address, hours or delivery.DEFAULT_OFFICE_HOURS)


def _birth_hospital(doc: Mapping[str, Any]) -> str:
    newborns = doc.get("newborns")
    if isinstance(newborns, list) and newborns and isinstance(newborns[0], dict):
        return _text(newborns[0].get("hospital"))
    return ""


def pickup_place(case: Case, row: CaseItem, result: str) -> delivery.Place:
    """Where the parents collect ``row``'s result, by the catalogue's pickup rule
    (``delivery.pickup`` of the item, onestop/catalogue/data/items.yaml).

    issuing_hospital: the hospital that issued it; birth_hospital: the newborn's birth
    hospital; service_center_or_police_station: the service center of a household register
    entered there (Jilin prints it on the spot), otherwise the registering police station;
    bank_branch: the chosen bank branch for the card; else the department's window.
    """
    doc = case.document
    rule = delivery.PICKUP.get(result, "department_window")
    place: delivery.Place | None = None
    if rule == "issuing_hospital":
        code = row.jurisdiction_code if row.jurisdiction_kind == "hospital" else ""
        place = _institution_place("hospital", code or _birth_hospital(doc))
    elif rule == "birth_hospital":
        place = _institution_place("hospital", _birth_hospital(doc))
    elif rule == "service_center_or_police_station":
        if case.counter_kind == "service_center":
            place = _institution_place("service_center", case.counter_code)
        if place is None:
            code = row.jurisdiction_code if row.jurisdiction_kind == "police_station" else ""
            station = code or _text(_section(doc, "birth_registration").get("police_station"))
            place = _institution_place("police_station", station)
    elif rule == "bank_branch":
        section = _section(doc, "social_security_card")
        # 领卡网点 from the reference data (name, address, opening hours; docs/adr/0037)
        chosen = bank_branch(_text(section.get("branch")))
        override = _text((row.result or {}).get("pickup_place"))
        if chosen is not None and override in ("", chosen.name):
            return delivery.Place(
                chosen.name, chosen.address, chosen.office_hours or delivery.BANK_OFFICE_HOURS
            )
        bank_code = _text(section.get("bank"))
        bank = bank_name(bank_code)
        branch = (
            _text((row.result or {}).get("pickup_place"))
            or _text(section.get("branch"))
            or (f"{bank}网点" if bank is not None else "")
        )
        if branch:
            place = delivery.Place(branch, "", delivery.BANK_OFFICE_HOURS)
    if place is None:
        department = DEPARTMENT_NAMES.get(row.department, row.department)
        place = delivery.Place(f"{department}办理窗口", "", delivery.DEFAULT_OFFICE_HOURS)
    return place


def first_pickup_day(calendar: WorkingCalendar, now: datetime) -> date | None:
    try:
        return calendar.next_working_day(to_beijing(now).date())
    except CalendarNotCovered:
        return None


# A case's items, in their order, compiled once per database (by the case's id only;
# `CompiledAll`); their results read as stored and decrypted only where the change reads
# them (issue 10, session 23: a claim decrypted every done item's result).
_CASE_ITEMS = CompiledAll(
    CaseItem,
    lambda case_id: read_sealed(
        CaseItem.objects.filter(case_id=case_id).order_by("position"), "result"
    ),
    -7_340_029_125,
)


def _case_items(case_id: int) -> list[CaseItem]:
    return [unseal(row, "result") for row in _CASE_ITEMS.all(case_id)]


# The items of several cases (up to 64) in one statement compiled once
# (`CompiledAllOfIds`), each case's in their order, as `_CASE_ITEMS` reads one case's. An
# API batch reads the items of its tasks' cases at once, after it locked them (issue 10,
# session 28: one statement per task).
_CASES_ITEMS = CompiledAllOfIds(
    CaseItem,
    lambda *case_ids: read_sealed(
        CaseItem.objects.filter(case_id__in=case_ids).order_by("case_id", "position"),
        "result",
    ),
    -7_340_029_125,
)


def cases_items(case_ids: Sequence[int]) -> dict[int, list[CaseItem]]:
    """The items of each of ``case_ids`` (cases the caller locked in this transaction), in
    their order, by case id, for `item_claim`'s and `item_complete`'s ``items``."""
    ids = sorted(set(case_ids))
    found: dict[int, list[CaseItem]] = {case_id: [] for case_id in ids}
    rows = _CASES_ITEMS.all(ids)
    if rows is None:
        return {case_id: _case_items(case_id) for case_id in ids}
    for row in rows:
        found[row.case_id].append(unseal(row, "result"))
    return found


def _lock(
    item_id: int,
    *,
    case_id: int | None = None,
    locked: Case | None = None,
    items: list[CaseItem] | None = None,
) -> tuple[Case, dict[str, CaseItem], CaseItem]:
    """Lock the item's case and read its items. ``locked``: the item's case as the caller
    locked it in this transaction and nothing has changed since — the API's access check
    that is the lock (`cases.services.case_locked_of`: issue 10, session 26, one statement
    less per action), or an API batch's first task of each case (`cases_locked`) — not
    locked and read again. ``case_id``: the item's case, where the caller has read it but
    the case may have changed since it was locked (a batch's later task of the case): it
    is locked (again) and read; ``locked`` is used only where it is that case. ``items``:
    ``locked``'s items as the caller read them after locking it (`cases_items`), nothing
    changed since — not read again (used only with ``locked``)."""
    if locked is not None and (case_id is None or locked.pk == case_id):
        rows = items if items is not None else _case_items(locked.pk)
        return _locked_rows(item_id, locked, {r.key: r for r in rows})
    if case_id is None:
        case_id = (
            CaseItem.objects.filter(pk=item_id)
            .order_by("pk")  # no join for the items' default order (by their case's time)
            .values_list("case_id", flat=True)
            .first()
        )
    if case_id is None:
        raise NotPermitted("事项不存在或无权访问")
    case = case_locked(case_id)  # (an item's case is never deleted before it)
    return _locked_rows(item_id, case, {r.key: r for r in _case_items(case.pk)})


def _locked_rows(
    item_id: int, case: Case, rows: dict[str, CaseItem]
) -> tuple[Case, dict[str, CaseItem], CaseItem]:
    target = next((r for r in rows.values() if r.pk == item_id), None)
    if target is None:  # not the case's item (an item's case never changes)
        raise NotPermitted("事项不存在或无权访问")
    # The acted-on row holds its locked case and, where its case's rows tell, whether the
    # case is for twins: the API answers an action from the row it returns instead of
    # reading the task again (issue 10 part 2; `integration.selectors.task_after`).
    target.case = case
    multiple = multiple_birth_known(list(rows.values()))
    if multiple is not None:
        setattr(target, MULTIPLE, multiple)
    return case, rows, target


def _check(
    actor: User | None,
    row: CaseItem,
    expected: Iterable[str],
    action: str,
    expected_version: int | None,
    *,
    may_work: Callable[[User, CaseItem], bool] = can_work_item,
) -> None:
    if actor is not None and not may_work(actor, row):
        raise NotPermitted("您不是该事项所属部门和辖区的经办人员，不能办理")
    if expected_version is not None and row.version != expected_version:
        who = row.claimed_by.label() if row.claimed_by else "其他人员"
        raise TaskConflict(
            f"该事项已被{who}更新（当前状态：{STATE_WORDS.get(row.state, row.state)}），"
            f"请刷新后再{action}"
        )
    if row.state not in expected:
        detail = ""
        if row.state == ItemState.IN_PROGRESS and row.claimed_by is not None:
            at = to_beijing(row.claimed_at).strftime("%H:%M") if row.claimed_at else ""
            detail = f"，已由{row.claimed_by.label()}于{at}领取"
        raise TaskConflict(
            f"该事项当前状态为“{STATE_WORDS.get(row.state, row.state)}”{detail}，不能{action}"
        )


# The case's closing columns, written by a statement made once per process (issue 10,
# session 28, h-elicence: ``save(update_fields=…)`` had Django build it for every case).
_CASE_UPDATE: CompiledUpdate[Case] = CompiledUpdate(Case)


def case_finish_if_done(case: Case, rows: Mapping[str, CaseItem], now: datetime) -> None:
    """Close the case once every item is finished, and tell the parents what came of it:
    all done, partly refused or nothing done, and where to go for what was not done
    (issue 8, defect 5: a refused bundle must not read "已全部办结")."""
    outcome = case_outcome(r.state for r in rows.values())
    if outcome is None or case.status != CaseStatus.IN_PROGRESS:
        return
    case.status = CaseStatus.COMPLETED
    case.completed_at = now
    case.version += 1
    _CASE_UPDATE.update([case], ["status", "completed_at", "version"])
    ordered = sorted(rows.values(), key=lambda r: r.position)
    not_done = [r for r in ordered if r.state != ItemState.DONE]
    multiple = multiple_birth(case, ordered)
    notice = outcome_notice(
        case_number=case.number,
        outcome=outcome,
        done=[row_name(r, multiple) for r in ordered if r.state == ItemState.DONE],
        not_done=[NotDone(row_name(r, multiple), why_not_done(r, multiple)) for r in not_done],
        channels=ordinary_channels_of(case, list(dict.fromkeys(r.item for r in not_done))),
    )
    emit(ev.CaseCompleted(case=case, at=now, outcome=outcome, notice=notice))


def _audit(
    case: Case,
    row: CaseItem,
    action: str,
    actor: User | None,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type="case_item",
        object_id=row.key,
        detail={"state": row.state, **(detail or {})},
    )


def items_create(
    case: Case,
    decision: Decision,
    offices: Mapping[str, Office],
    *,
    now: datetime,
    write: bool = True,
) -> dict[str, CaseItem]:
    """The item rows of a just-accepted case, from its plan and the office of each item
    (caller's transaction): a per-newborn item once per newborn of a multiple birth (多胞胎,
    ADR 0036), keyed ``code-2`` for the second; a single birth's rows are keyed by code.
    ``write=False``: the rows are built, not written (`items_start` with ``insert`` writes
    them as they start)."""
    pack = default_packs().version(decision.region, decision.pack_version)
    assert pack is not None
    rows: dict[str, CaseItem] = {}
    per_newborn = {p.item for p in decision.plan if catalogue().per_newborn(p.item)}
    count = len(case.typed_document().newborns)
    for position, (newborn, planned) in enumerate(
        domain.plan_per_newborn(decision.plan, per_newborn, count)
    ):
        code = domain.item_code(planned.item)
        entry = pack.item(code)
        assert entry is not None
        office = offices[code]
        rows[planned.item] = _ITEMS_INSERT.new(
            case=case,
            item=code,
            newborn=newborn,
            position=position,
            department=planned.department,
            jurisdiction_kind=office.kind,
            jurisdiction_code=office.code,
            division=office.division,
            after=list(planned.after),
            state=ItemState.WAITING,
            time_limit_days=planned.time_limit_days,
            time_limit_unit=entry.time_limit.unit,
            clock_rule=pack.clock_rule,
            clock_start=entry.time_limit.starts,
            automatic=entry.automatic,
        )
    # One INSERT for the plan's rows, in plan order (their ids too), not one per item; the
    # statement built once (session 22: Django built it for every submission).
    if write:
        items_insert(rows)
    return rows


_ITEMS_INSERT = CompiledInsert(CaseItem)


def items_insert(rows: Mapping[str, CaseItem]) -> None:
    """The rows `items_create` built with ``write=False``, written in one INSERT in plan
    order (their ids too)."""
    _ITEMS_INSERT.insert(list(rows.values()))


def items_start(
    case: Case,
    rows: dict[str, CaseItem],
    *,
    now: datetime,
    actor: User | None,
    insert: bool = False,
) -> None:
    """Dispatch the items without prerequisites of a just-accepted case (caller's transaction).
    ``insert``: the rows are not written yet (`items_create` with ``write=False``): they are
    inserted whole as they start, the readied ones ready — one INSERT where the plan's
    INSERT and the readied rows' UPDATE were two (issue 10, session 28, helper h-submit;
    the rows as written are the same)."""
    statuses = _statuses(list(rows.values()))
    held = {row.key for row in rows.values() if row.awaiting_confirmation}
    _, changes = domain.CaseItems.start(statuses.plan, now, held)
    # The items readied (the only change a start makes) are written in one UPDATE of the
    # columns readying sets, not a full-row UPDATE each (issue 10 part 2: three statements
    # of a submission were these, right after the plan's one INSERT).
    assert all(isinstance(change, domain.ItemBecameReady) for change in changes)
    readied: list[CaseItem] = []
    happened = _apply(
        case, rows, changes, now=now, actor=actor, calendar=current_calendar(), unsaved=readied
    )
    if insert:
        items_insert(rows)  # whole, the readied ones ready
    else:
        _write(readied, READIED_FIELDS)
    emit(*happened)


# Item rows are written in the columns a change sets (the constants below), not whole:
# one UPDATE for one row, one for many, each statement made once (`CompiledUpdate`; issue
# 10 part 2: CPU, and a column another writer changed without the case's lock — the
# sweep's lights — is kept).
_ITEMS_UPDATE = CompiledUpdate(CaseItem)
_write = _ITEMS_UPDATE.update


# What `_apply` changes on an item that becomes ready.
READIED_FIELDS = ["state", "received_at", "due_at", "due_provisional", "version"]
# What `_apply` changes on an item that is claimed.
CLAIMED_FIELDS = ["state", "claimed_by", "claimed_at", "version"]
# What `_apply` changes on an item that is completed (and what its caller may: automatic).
COMPLETED_FIELDS = ["state", "finished_at", "result", "version", "automatic"]
# Both: the completed row and the rows it readies written in one UPDATE.
COMPLETED_READIED_FIELDS = list(dict.fromkeys([*COMPLETED_FIELDS, *READIED_FIELDS]))


def _completed_write(row: CaseItem, readied: list[CaseItem]) -> None:
    """Write a completion's rows: ``row`` in the columns a completion sets, ``readied`` in
    those readying sets. Where it readies some, all in one UPDATE of both sets of columns
    (issue 10, session 28, h-elicence: were two statements), each row's other columns of
    the two written as the lock read them (the case locked, none changed since) — unless
    a readied row holds a result or has it unread (never: a waiting item has none, and
    the lock reads it; then as before, its stored ciphertext not rewritten) or the
    database takes no ``UPDATE … FROM`` (then two statements, as before)."""
    if readied and all(r.__dict__.get("result", row) is None for r in readied):
        if _ITEMS_UPDATE.update_from(connections[router.db_for_write(CaseItem)]):
            _write([row, *readied], COMPLETED_READIED_FIELDS)
            return
    _write([row], COMPLETED_FIELDS)
    _write(readied, READIED_FIELDS)


@transaction.atomic
def item_claim(
    *,
    item_id: int,
    actor: User,
    now: datetime | None = None,
    expected_version: int | None = None,
    case_id: int | None = None,
    locked: Case | None = None,
    items: list[CaseItem] | None = None,
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id, case_id=case_id, locked=locked, items=items)
    _check(actor, row, [ItemState.READY], "领取", expected_version)
    _, changes = _statuses(list(rows.values())).claim(row.key, now, str(actor.pk))
    # A claim changes the claimed row only, in the columns a claim sets: written in one
    # UPDATE of those, not the whole row (issue 10 part 2: CPU; and a column another
    # writer changed meanwhile without the case's lock — the sweep's lights — is kept).
    assert all(isinstance(change, domain.ItemClaimed) for change in changes)
    claimed: list[CaseItem] = []
    happened = _apply(case, rows, changes, now=now, actor=actor, unsaved=claimed)
    _write(claimed, CLAIMED_FIELDS)
    _audit(case, row, "item_claimed", actor, now)
    emit(*happened)
    return row


@transaction.atomic
def item_complete(
    *,
    item_id: int,
    actor: User | None,
    result: Mapping[str, object],
    now: datetime | None = None,
    expected_version: int | None = None,
    automatic_reason: str = "",
    case_id: int | None = None,
    locked: Case | None = None,
    items: list[CaseItem] | None = None,
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id, case_id=case_id, locked=locked, items=items)
    _check(actor, row, [ItemState.READY, ItemState.IN_PROGRESS], "办结", expected_version)
    item_complete_locked(
        case, rows, row, actor=actor, result=result, now=now, automatic_reason=automatic_reason
    )
    return row


def item_complete_locked(
    case: Case,
    rows: dict[str, CaseItem],
    row: CaseItem,
    *,
    actor: User | None,
    result: Mapping[str, object],
    now: datetime,
    automatic_reason: str = "",
    same_visit: bool = False,
) -> None:
    """Complete ``row`` once the caller locked the case and checked who acts (in the
    caller's transaction): the result validated as the catalogue says, the state change,
    its audit record and its events (e-licence, notices, webhooks, the next items)."""
    if (
        actor is not None
        and row.state == ItemState.IN_PROGRESS
        and row.claimed_by_id
        and row.claimed_by_id != actor.pk
    ):
        holder = row.claimed_by.label() if row.claimed_by else "其他人员"
        raise TaskConflict(f"该事项已由{holder}领取办理，不能由您办结")
    cleaned, problems = validate_result(
        row.item, result, newborns=_newborn_facts(case), today=to_beijing(now).date(), now=now
    )
    if not problems:  # the payment confirmed must be the notice's (docs/adr/0031)
        problems = confirmation_problems(row, cleaned)
    if problems:
        raise ResultInvalid(problems)
    _, changes = _statuses(list(rows.values())).complete(row.key, now, cleaned)
    if automatic_reason:
        row.automatic = True
    # The completed row and the items it readies are written in the columns each change
    # sets, not whole (issue 10 part 2, as a claim: CPU, and the sweep's lights are kept).
    assert all(isinstance(c, domain.ItemCompleted | domain.ItemBecameReady) for c in changes)
    written: list[CaseItem] = []
    happened = _apply(
        case,
        rows,
        changes,
        now=now,
        actor=actor,
        automatic_reason=automatic_reason,
        same_visit=same_visit,
        unsaved=written,
    )
    _completed_write(row, [changed for changed in written if changed is not row])
    detail: dict[str, Any] = {"fields": sorted(cleaned)}
    if same_visit:
        detail["same_visit"] = True
    _audit(case, row, "item_completed", actor, now, detail)
    emit(*happened)  # e-licence, notices, webhooks, automatic steps, the case's completion


def _newborn_facts(case: Case) -> list[NewbornFacts]:
    """Birth date (Beijing) and sex of each newborn of the case document, as far as known."""
    return [
        NewbornFacts(to_beijing(baby.born_at).date() if baby.born_at else None, baby.sex)
        for baby in case.typed_document().newborns
    ]


def item_complete_automatically(
    case: Case,
    rows: dict[str, CaseItem],
    row: CaseItem,
    *,
    now: datetime,
    result: Mapping[str, object],
    reason: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """An automatic step (免申即享, 秒批) completes a just-dispatched item without a person,
    with ``reason`` on the timeline (in the transaction of the change that dispatched it)."""
    row.automatic = True
    _, changes = _statuses(list(rows.values())).complete(row.key, now, result)
    happened = _apply(case, rows, changes, now=now, actor=None, automatic_reason=reason)
    _audit(case, row, action, None, now, detail)
    emit(*happened)


def instant_declined(
    case: Case, rows: dict[str, CaseItem], row: CaseItem, *, now: datetime, reason: str
) -> None:
    """秒批 did not verify a just-dispatched item: a staff-only line says why."""
    emit(
        ev.ItemInstantDeclined(
            case=case,
            row=row,
            rows=rows,
            at=now,
            state=row.state,
            version=row.version,
            reason=reason,
        )
    )


def _clean_reasons(reasons: Sequence[str], missing: str) -> list[str]:
    cleaned, problems = clean_reasons(reasons, missing)
    if problems:
        raise ResultInvalid(problems)
    return cleaned


@transaction.atomic
def item_return(
    *,
    item_id: int,
    actor: User,
    reasons: Sequence[str],
    now: datetime | None = None,
    expected_version: int | None = None,
    locked: Case | None = None,
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id, locked=locked)
    _check(actor, row, [ItemState.READY, ItemState.IN_PROGRESS], "退回补正", expected_version)
    cleaned = _clean_reasons(reasons, "请填写需要补正的内容")
    _, changes = _statuses(list(rows.values())).return_for_supplement(row.key, now, cleaned)
    happened = _apply(case, rows, changes, now=now, actor=actor)
    _audit(case, row, "item_returned", actor, now)
    emit(*happened)
    return row


@transaction.atomic
def item_refuse(
    *,
    item_id: int,
    actor: User,
    reasons: Sequence[str],
    now: datetime | None = None,
    expected_version: int | None = None,
    locked: Case | None = None,
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id, locked=locked)
    _check(
        actor,
        row,
        [ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED],
        "不予办理",
        expected_version,
    )
    cleaned = _clean_reasons(reasons, "请填写不予办理的原因")
    _, changes = _statuses(list(rows.values())).refuse(row.key, now, cleaned)
    happened = _apply(case, rows, changes, now=now, actor=actor)
    cancelled = [e.item for e in changes if isinstance(e, domain.ItemCancelled)]
    _audit(case, row, "item_refused", actor, now, {"cancelled": cancelled})
    emit(*happened)  # the parents' message, webhooks, the case's completion
    return row


def items_resume(case: Case, *, actor: User | None, now: datetime) -> list[str]:
    """The applicant supplemented: every returned item resumes.

    Runs in the caller's transaction, with the case row locked."""
    rows = {r.key: r for r in _case_items(case.pk)}
    returned = [key for key, r in rows.items() if r.state == ItemState.RETURNED]
    statuses = _statuses(list(rows.values()))
    # The working calendar only where a resumption moves a due time (a paused item with
    # one, as `_apply` reads it), read once for all: none returned, or none with a due
    # time, reads none (issue 10, session 23).
    moves = any(rows[c].due_at is not None and rows[c].paused_at is not None for c in returned)
    calendar = current_calendar() if moves else None
    for code in returned:
        statuses, changes = statuses.resume(code, now)
        happened = _apply(case, rows, changes, now=now, actor=actor, calendar=calendar)
        _audit(case, rows[code], "item_resumed", actor, now)
        emit(*happened)
    return returned


# --- provisional due times, recomputed once the year is published -----------------------


def _due_again(row: CaseItem, calendar: WorkingCalendar) -> tuple[datetime | None, bool]:
    """The item's due time as the calendar now says: from its receipt, moved by each
    supplement pause it went through (an open pause moves it when it ends)."""
    assert row.received_at is not None
    due, provisional = compute_due(row, row.received_at, calendar)
    for pair in row.pauses or []:
        if due is None:
            break
        paused, resumed = parse_time(str(pair[0])), parse_time(str(pair[1]))
        due, moved = extend_for_pause_marked(calendar, due, paused, resumed)
        provisional = provisional or moved
    return due, provisional


def provisional_dues_recompute(
    *,
    now: datetime,
    actor: User | None,
    calendar: WorkingCalendar | None = None,
    covered_only: bool = False,
) -> int:
    """Recompute every provisional due time (暂按双休日计算) with the calendar in force, in
    the caller's transaction: each changed item gets a timeline line the parents see and
    an audit record; the mark goes once the table covers the due time. Returns how many
    items changed. ``covered_only``: only items whose due time the table now reaches (the
    cheap check the periodic job makes)."""
    calendar = calendar or current_calendar()
    candidates = CaseItem.objects.filter(due_provisional=True, received_at__isnull=False)
    if covered_only:
        horizon = datetime.combine(date(calendar.last_year + 1, 1, 1), time(0), BEIJING)
        candidates = candidates.filter(due_at__lt=horizon)
    case_ids = sorted(set(candidates.values_list("case_id", flat=True)))
    changed = 0
    for case_id in case_ids:
        case = case_locked(case_id)
        for row in CaseItem.objects.filter(case=case, due_provisional=True).order_by("position"):
            if row.received_at is None:
                continue
            before = row.due_at
            due, provisional = _due_again(row, calendar)
            if due == before and provisional:
                continue
            row.due_at, row.due_provisional = due, provisional
            row.save(update_fields=["due_at", "due_provisional"])
            changed += 1
            emit(
                ev.ItemDueRecomputed(
                    case=case,
                    row=row,
                    rows={row.key: row},
                    at=now,
                    state=row.state,
                    version=row.version,
                    actor=actor,
                    due_text=due_text(due, provisional),
                    provisional=provisional,
                )
            )
            _audit(
                case,
                row,
                "item_due_recomputed",
                actor,
                now,
                {
                    "due_before": before.isoformat() if before else None,
                    "due_at": due.isoformat() if due else None,
                    "provisional": provisional,
                    "calendar_last_year": calendar.last_year,
                },
            )
    return changed
