"""The medical-insurance payment notice (issue 11 promise 3; docs/adr/0031).

When a case's payment item (``medical_insurance_payment``) reaches the tax department, the
parents get the notice the region's pack describes (``payment`` of the pack): the channels
named as people read them (the one they chose on the form first), the amount (reference
data an administrator sets per region and year, shown with its source) and the deadline
(the item's due time). A periodic job reminds them before the deadline, each reminder
once, and marks an unpaid notice overdue once the deadline passes. The tax system confirms
the payment by completing the item (API or workbench) with the reference, the amount paid
and the time paid; a wrong amount is refused. Where the pack names a step after payment
(Jilin: 激活医保码), the parents are told and mark it done on their progress page.

Each write is one transaction holding the change, its audit record and its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import User, actor_label
from onestop.audit.services import audit_record
from onestop.cases.models import Case
from onestop.cases.services import case_locked
from onestop.common.compiled import CompiledFirst, CompiledInsert, CompiledUpdate
from onestop.core.clock import parse_time, to_beijing
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.core.written import written
from onestop.policy.loader import default_packs
from onestop.policy.schema import PAYMENT_ITEM, PaymentPlan
from onestop.reference.models import InsurancePremium
from onestop.workflow import events as ev
from onestop.workflow.domain.payment import (
    amount_problem,
    amount_text,
    parse_amount,
    reminder_due,
)
from onestop.workflow.domain.results import ResultProblem
from onestop.workflow.models import CaseItem, ItemState, PaymentNotice, PaymentStatus

# The longest reminder a pack may schedule (schema: 1–60 days before the deadline).
REMINDER_HORIZON = timedelta(days=60)
# The payment notice's INSERT (every payment item's dispatch), built once per process
# (issue 10); ``save_new`` writes what ``objects.create`` wrote.
_NOTICE_INSERT: CompiledInsert[PaymentNotice] = CompiledInsert(PaymentNotice)
# The item's notice and the region's premium for a year, read by statements compiled once
# per process, and the notice's paid columns written by one (issue 10, session 28,
# h-elicence: a payment item's dispatch and completion had Django build each anew).
_NOTICE_OF: CompiledFirst[PaymentNotice] = CompiledFirst(
    PaymentNotice, lambda item_id: PaymentNotice.objects.filter(item_id=item_id), -7_340_029_517
)
_PREMIUM_OF: CompiledFirst[InsurancePremium] = CompiledFirst(
    InsurancePremium,
    lambda region, year: InsurancePremium.objects.filter(region=region, year=year),
    "onestop-stand-in-premium-region",
    32_109,  # (a year no notice is for; a smallint: an out-of-range one compiles to nothing)
)
_NOTICE_UPDATE: CompiledUpdate[PaymentNotice] = CompiledUpdate(PaymentNotice)
# The notice a completion's confirmation check read, kept on the completed row for the
# completion's `notice_paid` (the same transaction, the case locked, nothing written to it
# between them): it was read twice.
_NOTICE_READ = "_onestop_payment_notice_read"


class PaymentStepRefused(OnestopError):
    code = "payment_step_refused"


def payment_plan(case: Case) -> PaymentPlan | None:
    """The payment notice the case's pack (the version it was submitted under) describes."""
    pack = default_packs().version(case.region, case.pack_version)
    return pack.payment if pack is not None else None


def insurance_year(case: Case, at: datetime) -> int:
    """The insurance year paid for: the form's 参保年度 (当年 / 次年) from ``at``."""
    section = case.typed_document().medical_insurance
    year = to_beijing(at).year
    return year + 1 if section is not None and section.year == "next" else year


def premium_of(region: str, year: int) -> InsurancePremium | None:
    return _PREMIUM_OF.first(region, year)


def _channels(case: Case, plan: PaymentPlan) -> list[dict[str, object]]:
    section = case.typed_document().medical_insurance
    chosen = section.payment_channel if section is not None else None
    listed = [
        {
            "code": c.code,
            "name": c.name,
            "note": c.note,
            "chosen": chosen is not None and c.form_choice == chosen,
        }
        for c in plan.channels
    ]
    return sorted(listed, key=lambda c: not c["chosen"])  # the parent's choice first


def notice_words(notice: PaymentNotice) -> dict[str, str]:
    """The notice as its messages and pages say it: ``amount`` ("400元" or that the tax
    department sets it), ``source`` of the amount, ``deadline`` (a date as people write it,
    or the pack's note), ``channels`` (、-joined, the parent's choice marked) and the step
    after payment (``activation``, ``where``; "" where there is none)."""
    amount = (
        f"{amount_text(notice.amount_yuan)}元"
        if notice.amount_yuan is not None
        else "（金额以税务部门核定为准）"
    )
    channels = []
    for c in notice.channels:
        name = str(c.get("name", ""))
        if c.get("note"):
            name += f"（{c['note']}）" if str(c["note"]) not in name else ""
        if c.get("chosen"):
            name += "（您选择的方式）"
        channels.append(name)
    deadline = written(notice.deadline, date_only=True) if notice.deadline else notice.deadline_note
    return {
        "year": str(notice.year),
        "amount": amount,
        "source": notice.amount_source,
        "deadline": deadline,
        "deadline_date": written(notice.deadline, date_only=True) if notice.deadline else "",
        "channels": "、".join(channels),
        "activation": notice.activation_name,
        "where": notice.activation_where,
        "paid_amount": f"{amount_text(notice.amount_paid)}元" if notice.amount_paid else "",
        "paid_at": written(notice.paid_at) if notice.paid_at else "",
        "reference": notice.payment_reference,
    }


def _event_fields(
    case: Case, row: CaseItem, now: datetime, actor: User | None
) -> dict[str, object]:
    return {
        "case": case,
        "row": row,
        "rows": {row.key: row},
        "at": now,
        "state": row.state,
        "version": row.version,
        "actor": actor,
    }


def _audit(
    case: Case, action: str, actor: User | None, now: datetime, detail: Mapping[str, object]
) -> None:
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type="payment_notice",
        object_id=PAYMENT_ITEM,
        detail=dict(detail),
    )


def notice_issue(case: Case, row: CaseItem, *, now: datetime) -> PaymentNotice | None:
    """The payment notice of a just-dispatched payment item (in the dispatching change's
    transaction). None where the pack describes no notice; an existing notice is kept."""
    plan = payment_plan(case)
    if plan is None or row.item != PAYMENT_ITEM:
        return None
    existing = _NOTICE_OF.first(row.pk)
    if existing is not None:
        return existing
    year = insurance_year(case, now)
    premium = premium_of(case.region, year)
    notice = PaymentNotice(
        case=case,
        item=row,
        region=case.region,
        year=year,
        amount_yuan=premium.amount_yuan if premium else None,
        amount_source=premium.source if premium else "",
        channels=_channels(case, plan),
        deadline=row.due_at,
        deadline_note=plan.deadline_note,
        reminder_schedule=sorted(set(plan.reminders_days_before), reverse=True),
        notified_at=now,
        activation_name=plan.activation.name if plan.activation else "",
        activation_where=plan.activation.where if plan.activation else "",
    )
    _NOTICE_INSERT.save_new(notice)
    _audit(
        case,
        "payment_notice_issued",
        None,
        now,
        {
            "year": year,
            "amount_yuan": str(notice.amount_yuan) if notice.amount_yuan is not None else None,
            "deadline": row.due_at.isoformat() if row.due_at else None,
        },
    )
    emit(ev.PaymentNoticeIssued(**_event_fields(case, row, now, None), notice=notice))  # type: ignore[arg-type]
    return notice


def confirmation_problems(row: CaseItem, result: Mapping[str, str]) -> list[ResultProblem]:
    """Why the tax system's confirmation cannot be this notice's payment: the amount paid
    differs from the notice's amount (code ``payment_amount_mismatch``)."""
    if row.item != PAYMENT_ITEM:
        return []
    notice = _NOTICE_OF.first(row.pk)
    setattr(row, _NOTICE_READ, (row.version, notice))  # for `notice_paid`, if it comes
    if notice is None:
        return []
    problem = amount_problem(notice.amount_yuan, result.get("amount_yuan", ""))
    return [] if problem is None else [ResultProblem(problem.field, problem.message, problem.code)]


def completed_notice(row: CaseItem) -> PaymentNotice | None:
    """The notice of the payment item ``row`` that a completion just completed, as the
    completion's confirmation check read it (`confirmation_problems`: the row's version
    then was the one before), else read."""
    kept: tuple[int, PaymentNotice | None] | None = row.__dict__.get(_NOTICE_READ)
    if kept is not None and kept[0] == row.version - 1:
        return kept[1]
    return _NOTICE_OF.first(row.pk)


def notice_paid(case: Case, row: CaseItem, *, now: datetime, actor: User | None) -> None:
    """The payment item was completed: the notice is paid (in the completing transaction)."""
    notice = completed_notice(row)
    if notice is None or notice.status == PaymentStatus.PAID:
        return
    result = row.result or {}
    paid_at = str(result.get("paid_at") or "")
    notice.paid_at = parse_time(paid_at) if paid_at else now
    notice.payment_reference = str(result.get("payment_reference") or "")[:40]
    notice.amount_paid = parse_amount(str(result.get("amount_yuan") or ""))
    notice.status = PaymentStatus.PAID
    _NOTICE_UPDATE.update([notice], ["paid_at", "payment_reference", "amount_paid", "status"])
    _audit(
        case,
        "payment_confirmed",
        actor,
        now,
        {"reference": notice.payment_reference, "amount_paid": str(notice.amount_paid)},
    )
    emit(ev.PaymentConfirmed(**_event_fields(case, row, now, actor), notice=notice))  # type: ignore[arg-type]


def notice_cancel(row: CaseItem) -> None:
    """The payment item was refused or cancelled: no more reminders."""
    PaymentNotice.objects.filter(
        item=row, status__in=[PaymentStatus.UNPAID, PaymentStatus.OVERDUE]
    ).update(status=PaymentStatus.CANCELLED)


@dataclass
class ReminderReport:
    reminded: int = 0
    overdue: int = 0
    by_days: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"reminded": self.reminded, "overdue": self.overdue, "by_days": self.by_days}


def payment_reminders_sweep(
    now: datetime | None = None, *, batch_size: int = 500
) -> ReminderReport:
    """Remind the parents of unpaid notices before their deadline (each scheduled reminder
    once) and mark those past it overdue (once). Touches only unpaid notices whose deadline
    is within the longest reminder; each case in its own transaction, under its lock, so
    two workers running at once send nothing twice."""
    now = now or timezone.now()
    report = ReminderReport()
    candidates = list(
        PaymentNotice.objects.filter(
            status=PaymentStatus.UNPAID,
            deadline__isnull=False,
            deadline__lte=now + REMINDER_HORIZON,
        )
        .order_by("deadline", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    for pk in candidates:
        outcome = _remind_one(pk, now)
        if outcome == "overdue":
            report.overdue += 1
        elif isinstance(outcome, int):
            report.reminded += 1
            report.by_days[outcome] = report.by_days.get(outcome, 0) + 1
    return report


@transaction.atomic
def _remind_one(pk: int, now: datetime) -> int | str | None:
    case_id = PaymentNotice.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    if case_id is None:
        return None
    case = case_locked(case_id)
    notice = PaymentNotice.objects.select_related("item").get(pk=pk)
    row = notice.item
    if notice.status != PaymentStatus.UNPAID or notice.deadline is None:
        return None
    if row.state not in (ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED):
        return None
    if now >= notice.deadline:
        notice.status = PaymentStatus.OVERDUE
        notice.save(update_fields=["status"])
        _audit(case, "payment_overdue", None, now, {"deadline": notice.deadline.isoformat()})
        emit(ev.PaymentOverdue(**_event_fields(case, row, now, None), notice=notice))  # type: ignore[arg-type]
        return "overdue"
    due = reminder_due(notice.deadline, notice.reminder_schedule, notice.reminders_sent, now)
    if due is None:
        return None
    notice.reminders_sent = sorted({*notice.reminders_sent, *due.covers}, reverse=True)
    notice.save(update_fields=["reminders_sent"])
    _audit(case, "payment_reminded", None, now, {"days_before": due.days_before})
    emit(
        ev.PaymentReminded(
            **_event_fields(case, row, now, None),  # type: ignore[arg-type]
            notice=notice,
            days_before=due.days_before,
        )
    )
    return due.days_before


@transaction.atomic
def insurance_code_activate(
    *,
    case: Case,
    actor: User | None,
    now: datetime | None = None,
    by: str = "parent",
    newborn: int = 0,
) -> PaymentNotice:
    """Record the step after payment (Jilin: 激活医保码) as done. Only once the payment is
    confirmed; a second call changes nothing. ``newborn``: whose payment, for twins (each
    baby has its own, ADR 0036)."""
    now = now or timezone.now()
    case = case_locked(case.pk)
    notice = (
        PaymentNotice.objects.select_related("item")
        .filter(case=case, item__newborn=newborn)
        .order_by("pk")
        .first()
    )
    if notice is None or not notice.activation_name:
        raise PaymentStepRefused("本办件没有需要激活医保码的步骤")
    if notice.status != PaymentStatus.PAID:
        raise PaymentStepRefused("缴费到账后才能激活医保码，请先完成医保缴费")
    if notice.activated_at is not None:
        return notice
    notice.activated_at = now
    notice.activated_by = by
    notice.save(update_fields=["activated_at", "activated_by"])
    _audit(case, "insurance_code_activated", actor, now, {"by": by})
    emit(
        ev.InsuranceCodeActivated(**_event_fields(case, notice.item, now, actor), notice=notice)  # type: ignore[arg-type]
    )
    return notice
