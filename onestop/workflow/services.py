"""Writes to a case's items. Each public function is one transaction holding the state
change, its audit record, its timeline entries and the messages to send after commit.

Two officers acting on one item at once: both lock the case row first, so they run one
after the other; the second finds the item no longer in the state it expected and gets a
`TaskConflict` that says who did what and when.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import User
from onestop.accounts.permissions import can_work_item
from onestop.audit.services import audit_record
from onestop.calendar.clock_rules import (
    ClockRule,
    due_time_marked,
    extend_for_pause_marked,
)
from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import Case, CaseStatus, TimelineEntry
from onestop.certificates.models import ELicence
from onestop.core.clock import BEIJING, end_of_day, parse_time, to_beijing
from onestop.core.errors import CalendarNotCovered, OnestopError
from onestop.core.written import written
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.integration.events import case_event
from onestop.notifications.services import notification_queue
from onestop.workflow import domain
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
from onestop.workflow.selectors import why_not_done


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


def actor_label(user: User | None) -> str:
    if user is None:
        return "系统"
    return user.label()


# --- rows <-> domain --------------------------------------------------------------------


def _statuses(rows: Sequence[CaseItem]) -> domain.CaseItems:
    return domain.CaseItems(
        tuple(
            domain.ItemStatus(
                item=row.item,
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
            )
            for row in rows
        )
    )


def compute_due(
    row: CaseItem, received: datetime, calendar: WorkingCalendar, *, clock_started: bool = True
) -> tuple[datetime | None, bool]:
    """When ``row`` is due if its department received it at ``received`` (None: no limit),
    and whether that is provisional: the working-day table ends before it, so the days
    beyond were counted on weekends only (暂按双休日计算)."""
    if row.time_limit_days is None or not clock_started:
        return None, False
    if row.time_limit_unit == "calendar_days":
        due = end_of_day(to_beijing(received).date() + timedelta(days=row.time_limit_days))
        return due, False
    return due_time_marked(calendar, ClockRule(row.clock_rule), received, row.time_limit_days)


PROVISIONAL_MARK = "暂按双休日计算"


def due_text(due: datetime | None, provisional: bool) -> str:
    """A due time as people read it, with the provisional mark ("—" when there is none)."""
    if due is None:
        return "—"
    mark = f"（{PROVISIONAL_MARK}）" if provisional else ""
    return f"{written(due)}{mark}"  # 2027年1月7日 23:59, as people write it


def _clock_started(case: Case, row: CaseItem) -> bool:
    if row.clock_start != "on_bank_choice":
        return True
    section = case.document.get("social_security_card") or {}
    return bool(isinstance(section, dict) and section.get("bank"))


def timeline_add(
    case: Case,
    at: datetime,
    kind: str,
    message: str,
    *,
    item: str = "",
    actor: User | None = None,
    parent: bool = True,
) -> None:
    TimelineEntry.objects.create(
        case=case,
        at=at,
        kind=kind,
        item=item,
        message=message,
        actor_label=actor_label(actor),
        visible_to_parent=parent,
    )


def parent_phones(case: Case) -> list[str]:
    """Who hears about the case: the applicant, and the mother if she is not the applicant."""
    doc = case.document
    phones: list[str] = []
    for section in ("applicant", "mother"):
        value = doc.get(section)
        if isinstance(value, dict) and isinstance(value.get("phone"), str):
            phones.append(value["phone"])
    return phones


def _apply(
    case: Case,
    rows: dict[str, CaseItem],
    events: Iterable[domain.Event],
    *,
    now: datetime,
    actor: User | None,
    calendar: WorkingCalendar,
) -> None:
    """Write the domain events onto the rows, with timeline entries and messages."""
    for event in events:
        row = rows[event.item]
        name = ITEM_NAMES.get(row.item, row.item)
        department = DEPARTMENT_NAMES.get(row.department, row.department)
        match event:
            case domain.ItemBecameReady():
                row.state = ItemState.READY
                row.received_at = now
                row.due_at, row.due_provisional = compute_due(
                    row, now, calendar, clock_started=_clock_started(case, row)
                )
                if row.due_provisional:
                    _calendar_missing_note(case, row, now, calendar)
                due = (
                    f"，办理期限 {due_text(row.due_at, row.due_provisional)}" if row.due_at else ""
                )
                timeline_add(
                    case, now, "item_ready", f"{name}已推送至{department}办理{due}", item=row.item
                )
            case domain.ItemClaimed():
                row.state = ItemState.IN_PROGRESS
                row.claimed_by = actor
                row.claimed_at = now
                timeline_add(
                    case,
                    now,
                    "item_claimed",
                    f"{department}已开始办理{name}",
                    item=row.item,
                    actor=actor,
                )
            case domain.ItemCompleted(result=result):
                row.state = ItemState.DONE
                row.finished_at = now
                row.result = dict(result)
                timeline_add(case, now, "item_done", f"{name}已办结", item=row.item, actor=actor)
                _result_notice(case, row, now=now, calendar=calendar)
            case domain.ItemReturned(reasons=reasons):
                row.state_before_return = row.state
                row.state = ItemState.RETURNED
                row.paused_at = now
                row.reasons = list(reasons)
                text = "；".join(reasons)
                timeline_add(
                    case,
                    now,
                    "item_returned",
                    f"{name}需要补正：{text}",
                    item=row.item,
                    actor=actor,
                )
                notification_queue(
                    key=f"case:{case.number}:{row.item}:returned:{row.version}",
                    phones=parent_phones(case),
                    body=f"【出生一件事】您的办件{case.number}：{name}需要补正（{text}），请登录补正，办理时限暂停计算。",
                    at=now,
                    case=case,
                )
            case domain.ItemResumed():
                row.state = row.state_before_return or ItemState.READY
                row.state_before_return = ""
                if row.paused_at is not None:
                    if row.due_at is not None:
                        row.due_at, provisional = extend_for_pause_marked(
                            calendar, row.due_at, row.paused_at, now
                        )
                        if provisional and not row.due_provisional:
                            row.due_provisional = True
                            _calendar_missing_note(case, row, now, calendar)
                    row.pauses = [*row.pauses, [row.paused_at.isoformat(), now.isoformat()]]
                row.paused_at = None
                row.reasons = []
                timeline_add(
                    case, now, "item_resumed", f"已补正，{name}恢复办理", item=row.item, actor=actor
                )
            case domain.ItemRefused(reasons=reasons):
                row.state = ItemState.REFUSED
                row.finished_at = now
                row.reasons = list(reasons)
                row.paused_at = None
                text = "；".join(reasons)
                timeline_add(
                    case, now, "item_refused", f"{name}不予办理：{text}", item=row.item, actor=actor
                )
            case domain.ItemCancelled(because=because):
                row.state = ItemState.CANCELLED
                row.cancelled_because = because
                row.finished_at = now
                row.paused_at = None
                cause = ITEM_NAMES.get(because, because)
                timeline_add(
                    case, now, "item_cancelled", f"因{cause}不予办理，{name}已取消", item=row.item
                )
        row.version += 1
        row.save()
        case_event(
            case=case,
            kind=event.kind,
            at=now,
            item=row.item,
            department=row.department,
            jurisdiction=(row.jurisdiction_kind, row.jurisdiction_code),
            data={"state": row.state, "version": row.version},
        )


def _calendar_missing_note(
    case: Case, row: CaseItem, now: datetime, calendar: WorkingCalendar
) -> None:
    """A staff-only line: the table ends before the due time, which is provisional until an
    administrator publishes the next year (spec/regions.md: an error staff see)."""
    missing = CalendarNotCovered(calendar.last_year + 1, calendar.first_year, calendar.last_year)
    timeline_add(
        case,
        now,
        "calendar_missing",
        f"{missing.message}；办理期限{PROVISIONAL_MARK}，发布后自动重新计算",
        item=row.item,
        parent=False,
    )


# --- result delivery (结果送达) ------------------------------------------------------


def _section(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _institution_place(kind: str, code: str) -> delivery.Place | None:
    from onestop.reference.selectors import institution_contact

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
        from onestop.reference.models import Bank

        section = _section(doc, "social_security_card")
        bank_code = _text(section.get("bank"))
        bank = Bank.objects.filter(code=bank_code).only("name").first() if bank_code else None
        branch = (
            _text((row.result or {}).get("pickup_place"))
            or _text(section.get("branch"))
            or (f"{bank.name}网点" if bank else "")
        )
        if branch:
            place = delivery.Place(branch, "", delivery.BANK_OFFICE_HOURS)
    if place is None:
        department = DEPARTMENT_NAMES.get(row.department, row.department)
        place = delivery.Place(f"{department}办理窗口", "", delivery.DEFAULT_OFFICE_HOURS)
    return place


def _first_pickup_day(calendar: WorkingCalendar, now: datetime) -> date | None:
    try:
        return calendar.next_working_day(to_beijing(now).date())
    except CalendarNotCovered:
        return None


def _result_notice(case: Case, row: CaseItem, *, now: datetime, calendar: WorkingCalendar) -> None:
    """Tell the parents the item is done; for a physical result, where and when to collect
    it (or that it was posted), by SMS and in-app message, and on the timeline."""
    name = ITEM_NAMES.get(row.item, row.item)
    key = f"case:{case.number}:{row.item}:done"
    phones = parent_phones(case)
    result = delivery.result_of(row.item)
    if result is None:
        notification_queue(
            key=key,
            phones=phones,
            body=f"【出生一件事】您的办件{case.number}：{name}已办结。",
            at=now,
            case=case,
        )
        return
    section = _section(case.document, "delivery")
    choice = section.get(result)
    if delivery.method_of(choice) == "mail":
        address = section.get("address")
        notice = delivery.mail_notice(
            case_number=case.number,
            item_name=name,
            result=result,
            address=address if isinstance(address, dict) else None,
        )
        kind = "result_mailed"
    else:
        by = _text(choice.get("by")) if isinstance(choice, dict) else ""
        notice = delivery.pickup_notice(
            case_number=case.number,
            item_name=name,
            result=result,
            place=pickup_place(case, row, result),
            from_day=_first_pickup_day(calendar, now),
            by=by or None,
        )
        kind = "pickup_notice"
        if by == "father":
            father = _text(_section(case.document, "father").get("phone"))
            phones = [*phones, father] if father else phones
    timeline_add(case, now, kind, notice.timeline, item=row.item)
    notification_queue(key=key, phones=phones, body=notice.sms, at=now, case=case)


def _lock(item_id: int) -> tuple[Case, dict[str, CaseItem], CaseItem]:
    case_id = CaseItem.objects.filter(pk=item_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotPermitted("事项不存在或无权访问")
    case = Case.objects.select_for_update().get(pk=case_id)
    rows = {r.item: r for r in CaseItem.objects.filter(case=case).order_by("position")}
    target = next(r for r in rows.values() if r.pk == item_id)
    return case, rows, target


def _check(
    actor: User | None,
    row: CaseItem,
    expected: Iterable[str],
    action: str,
    expected_version: int | None,
) -> None:
    if actor is not None and not can_work_item(actor, row):
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


def _finish_case_if_done(case: Case, rows: Mapping[str, CaseItem], now: datetime) -> None:
    """Close the case once every item is finished, and tell the parents what came of it:
    all done, partly refused or nothing done, and where to go for what was not done
    (issue 8, defect 5: a refused bundle must not read "已全部办结")."""
    outcome = case_outcome(r.state for r in rows.values())
    if outcome is None or case.status != CaseStatus.IN_PROGRESS:
        return
    case.status = CaseStatus.COMPLETED
    case.completed_at = now
    case.version += 1
    case.save(update_fields=["status", "completed_at", "version"])
    ordered = sorted(rows.values(), key=lambda r: r.position)
    not_done = [r for r in ordered if r.state != ItemState.DONE]
    notice = outcome_notice(
        case_number=case.number,
        outcome=outcome,
        done=[ITEM_NAMES.get(r.item, r.item) for r in ordered if r.state == ItemState.DONE],
        not_done=[NotDone(ITEM_NAMES.get(r.item, r.item), why_not_done(r)) for r in not_done],
        channels=_ordinary_channels(case, [r.item for r in not_done]),
    )
    timeline_add(case, now, "case_completed", notice.timeline)
    case_event(
        case=case,
        kind="case_completed",
        at=now,
        data={"status": case.status, "outcome": outcome},
    )
    notification_queue(
        key=f"case:{case.number}:completed",
        phones=parent_phones(case),
        body=notice.sms,
        at=now,
        case=case,
    )


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
        object_id=row.item,
        detail={"state": row.state, **(detail or {})},
    )


def items_start(
    case: Case, rows: dict[str, CaseItem], *, now: datetime, actor: User | None
) -> None:
    """Dispatch the items without prerequisites of a just-accepted case (caller's transaction)."""
    statuses = _statuses(list(rows.values()))
    _, events = domain.CaseItems.start(statuses.plan, now)
    calendar = current_calendar()
    _apply(case, rows, events, now=now, actor=actor, calendar=calendar)
    _complete_automatic(case, rows, now=now, calendar=calendar)
    _finish_case_if_done(case, rows, now)


@transaction.atomic
def item_claim(
    *, item_id: int, actor: User, now: datetime | None = None, expected_version: int | None = None
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id)
    _check(actor, row, [ItemState.READY], "领取", expected_version)
    _, events = _statuses(list(rows.values())).claim(row.item, now, str(actor.pk))
    _apply(case, rows, events, now=now, actor=actor, calendar=current_calendar())
    _audit(case, row, "item_claimed", actor, now)
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
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id)
    _check(actor, row, [ItemState.READY, ItemState.IN_PROGRESS], "办结", expected_version)
    if (
        actor is not None
        and row.state == ItemState.IN_PROGRESS
        and row.claimed_by_id
        and row.claimed_by_id != actor.pk
    ):
        holder = row.claimed_by.label() if row.claimed_by else "其他人员"
        raise TaskConflict(f"该事项已由{holder}领取办理，不能由您办结")
    cleaned, problems = validate_result(
        row.item, result, newborns=_newborn_facts(case), today=to_beijing(now).date()
    )
    if problems:
        raise ResultInvalid(problems)
    _, events = _statuses(list(rows.values())).complete(row.item, now, cleaned)
    if automatic_reason:
        row.automatic = True
        timeline_add(case, now, "automatic", automatic_reason, item=row.item)
    calendar = current_calendar()
    _apply(case, rows, events, now=now, actor=actor, calendar=calendar)
    _issue_elicence(case, row, now)
    _audit(case, row, "item_completed", actor, now, {"fields": sorted(cleaned)})
    _complete_automatic(case, rows, now=now, calendar=calendar)
    _finish_case_if_done(case, rows, now)
    return row


def _newborn_facts(case: Case) -> list[NewbornFacts]:
    """Birth date (Beijing) and sex of each newborn of the case document, as far as known."""
    newborns = case.document.get("newborns") if isinstance(case.document, dict) else None
    facts = []
    for baby in newborns if isinstance(newborns, list) else []:
        if not isinstance(baby, dict):
            continue
        born_on = None
        with contextlib.suppress(ValueError, TypeError, OverflowError):
            born_on = to_beijing(parse_time(str(baby.get("born_at")))).date()
        sex = baby.get("sex")
        facts.append(NewbornFacts(born_on, str(sex) if sex is not None else None))
    return facts


def _issue_elicence(case: Case, row: CaseItem, now: datetime) -> ELicence:
    from onestop.certificates.services import elicence_issue

    return elicence_issue(case=case, item=row, now=now)


def _complete_automatic(
    case: Case, rows: dict[str, CaseItem], *, now: datetime, calendar: WorkingCalendar
) -> None:
    """免申即享: ready items that the pack grants without application complete at once, from
    the data already shared (the hospital's delivery data), with the reason on the timeline.

    秒批: an item the pack approves straight through (``instant_approval``) is checked once,
    when it has just been dispatched; it completes without a human when the shared data
    verifies it, otherwise a staff-only note says why it stays with the officer."""
    checked: set[str] = set()
    while True:
        ready = [r for r in rows.values() if r.state == ItemState.READY and r.automatic]
        fresh = [
            r
            for r in rows.values()
            if r.state == ItemState.READY and r.received_at == now and r.item not in checked
        ]
        checked.update(r.item for r in fresh)
        approved = [r for r in fresh if _complete_instant(case, rows, r, now, calendar)]
        if not ready and not approved:
            return
        for row in ready:
            name = ITEM_NAMES.get(row.item, row.item)
            result = {"granted": "免申即享", "basis": "助产机构分娩数据共享核验"}
            _, events = _statuses(list(rows.values())).complete(row.item, now, result)
            timeline_add(
                case,
                now,
                "automatic",
                f"{name}免申即享：依据助产机构分娩数据自动办结，无需申请",
                item=row.item,
            )
            _apply(case, rows, events, now=now, actor=None, calendar=calendar)
            _issue_elicence(case, row, now)
            _audit(case, row, "item_completed_automatically", None, now)


def _complete_instant(
    case: Case, rows: dict[str, CaseItem], row: CaseItem, now: datetime, calendar: WorkingCalendar
) -> bool:
    """秒批 of one just-dispatched item, if its pack allows it; whether it completed."""
    from onestop.workflow.instant import instant_check, instant_rule

    rule = None if row.automatic else instant_rule(case, row.item)
    if rule is None:
        return False
    name = ITEM_NAMES.get(row.item, row.item)
    verdict = instant_check(case, row.item, rule)
    if not verdict.approved:
        department = DEPARTMENT_NAMES.get(row.department, row.department)
        note = f"{name}未能秒批：{verdict.reason}，转{department}人工办理"
        timeline_add(case, now, "instant_declined", note, item=row.item, parent=False)
        return False
    row.automatic = True
    _, events = _statuses(list(rows.values())).complete(row.item, now, verdict.result)
    issued = "、".join(verdict.result.values())
    note = f"{name}秒批：{verdict.reason}，自动签发（编号 {issued}）"
    timeline_add(case, now, "automatic", note, item=row.item)
    _apply(case, rows, events, now=now, actor=None, calendar=calendar)
    _issue_elicence(case, row, now)
    _audit(case, row, "item_completed_instantly", None, now, {"basis": rule.when})
    return True


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
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id)
    _check(actor, row, [ItemState.READY, ItemState.IN_PROGRESS], "退回补正", expected_version)
    cleaned = _clean_reasons(reasons, "请填写需要补正的内容")
    _, events = _statuses(list(rows.values())).return_for_supplement(row.item, now, cleaned)
    _apply(case, rows, events, now=now, actor=actor, calendar=current_calendar())
    _audit(case, row, "item_returned", actor, now)
    return row


@transaction.atomic
def item_refuse(
    *,
    item_id: int,
    actor: User,
    reasons: Sequence[str],
    now: datetime | None = None,
    expected_version: int | None = None,
) -> CaseItem:
    now = now or timezone.now()
    case, rows, row = _lock(item_id)
    _check(
        actor,
        row,
        [ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED],
        "不予办理",
        expected_version,
    )
    cleaned = _clean_reasons(reasons, "请填写不予办理的原因")
    _, events = _statuses(list(rows.values())).refuse(row.item, now, cleaned)
    _apply(case, rows, events, now=now, actor=actor, calendar=current_calendar())
    cancelled = [e.item for e in events if isinstance(e, domain.ItemCancelled)]
    channels = _ordinary_channels(case, [row.item, *cancelled])
    name = ITEM_NAMES.get(row.item, row.item)
    notification_queue(
        key=f"case:{case.number}:{row.item}:refused",
        phones=parent_phones(case),
        body=(
            f"【出生一件事】您的办件{case.number}：{name}不予办理（{'；'.join(cleaned)}）。"
            f"可通过原渠道办理：{'；'.join(channels)}"
        ),
        at=now,
        case=case,
    )
    _audit(case, row, "item_refused", actor, now, {"cancelled": cancelled})
    _finish_case_if_done(case, rows, now)
    return row


def _ordinary_channels(case: Case, items: Sequence[str]) -> list[str]:
    from onestop.eligibility.prereview import ordinary_channels
    from onestop.policy.loader import default_packs

    pack = default_packs().version(case.region, case.pack_version)
    return ordinary_channels(pack, items) if pack is not None else []


def items_resume(case: Case, *, actor: User | None, now: datetime) -> list[str]:
    """The applicant supplemented: every returned item resumes.

    Runs in the caller's transaction, with the case row locked."""
    rows = {r.item: r for r in CaseItem.objects.filter(case=case).order_by("position")}
    returned = [r.item for r in rows.values() if r.state == ItemState.RETURNED]
    statuses = _statuses(list(rows.values()))
    calendar = current_calendar()
    for code in returned:
        statuses, events = statuses.resume(code, now)
        _apply(case, rows, events, now=now, actor=actor, calendar=calendar)
        _audit(case, rows[code], "item_resumed", actor, now)
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
        case = Case.objects.select_for_update().get(pk=case_id)
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
            name = ITEM_NAMES.get(row.item, row.item)
            if provisional:
                line = f"{name}办理期限已重新计算为 {due_text(due, provisional)}"
            else:
                line = f"{name}办理期限已按正式节假日安排确定为 {due_text(due, False)}"
            timeline_add(case, now, "due_recomputed", line, item=row.item, actor=actor)
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
