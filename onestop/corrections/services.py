"""Writes of corrections (更正, ADR 0042). Each public function is one transaction holding
the state change, its audit records and the events it records (their effects: timeline,
the parents' message, the notices and webhooks to later items; ``effects.py``).

Every function locks the case row first (as the workflow services do), so a correction and
an officer's work on the same case run one after the other; the "one open correction per
result and field" constraint settles two requests that race past the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from onestop.accounts.models import Role, User, actor_label
from onestop.accounts.permissions import can_view_case, can_work_item
from onestop.audit.services import audit_record
from onestop.cases.models import Case
from onestop.cases.services import case_locked
from onestop.certificates.services import current_elicence, elicence_supersede
from onestop.core.clock import to_beijing
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.core.text import text_problem
from onestop.corrections import events as ev
from onestop.corrections.models import REASON_MAX, Correction, CorrectionNotice
from onestop.workflow.domain.results import (
    RESULT_FIELDS,
    NewbornFacts,
    ResultField,
    ResultProblem,
    validate_result,
)
from onestop.workflow.models import CaseItem, ItemState


class CorrectionNotPermitted(OnestopError):
    code = "forbidden"


class CorrectionConflict(OnestopError):
    """Another correction of the same field is waiting, or this one was already decided."""

    code = "correction_conflict"


class CorrectionSamePerson(OnestopError):
    """Four eyes: whoever asked for a correction does not decide it (issue 12 gaps)."""

    code = "correction_same_person"


SAME_PERSON_MESSAGE = (
    "您是这份更正申请的申请人，不能审核自己提出的更正申请，请由签发部门的其他经办人员审核"
)


class CorrectionInvalid(OnestopError):
    code = "correction_invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str = "") -> None:
        super().__init__(message, code=code)
        self.problems = [ResultProblem(field or "value", message, self.code)]


def correctable_fields(item: str) -> tuple[ResultField, ...]:
    """The fields a correction may change: the catalogue's result fields of the item
    (onestop/catalogue/data/items.yaml)."""
    return tuple(RESULT_FIELDS.get(item, ()))


def _newborn_facts(case: Case) -> list[NewbornFacts]:
    return [
        NewbornFacts(to_beijing(baby.born_at).date() if baby.born_at else None, baby.sex)
        for baby in case.typed_document().newborns
    ]


def _new_value(case: Case, row: CaseItem, field: str, value: str, now: datetime) -> str:
    """``value`` cleaned and checked as the original result was (the catalogue's kind,
    pattern and length; a citizen ID number against the newborns), or `CorrectionInvalid`."""
    specs = {spec.name: spec for spec in correctable_fields(row.item)}
    if field not in specs:
        names = "、".join(spec.label for spec in specs.values()) or "无"
        raise CorrectionInvalid(
            f"该事项没有可更正的字段“{field[:40]}”，可更正：{names}",
            code="unknown_field",
            field="field",
        )
    current = {k: v for k, v in (row.result or {}).items() if k in specs}
    cleaned, problems = validate_result(
        row.item,
        {**current, field: value},
        newborns=_newborn_facts(case),
        today=to_beijing(now).date(),
        now=now,
    )
    mine = [p for p in problems if p.field == field]
    if mine:
        raise CorrectionInvalid(mine[0].message, code=mine[0].code, field="value")
    new = cleaned.get(field, "")
    if not new:
        raise CorrectionInvalid(
            f"请填写更正后的{specs[field].label}", code="required", field="value"
        )
    if new == str(current.get(field, "") or ""):
        raise CorrectionInvalid("更正后的内容与原内容相同", code="unchanged", field="value")
    return new


def _clean_reason(reason: str, missing: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise CorrectionInvalid(missing, code="required", field="reason")
    if (why := text_problem(text)) is not None:
        raise CorrectionInvalid(f"理由{why}", code="invalid_text", field="reason")
    if len(text) > REASON_MAX:
        raise CorrectionInvalid(
            f"理由过长：最多{REASON_MAX}个字符，当前{len(text)}个",
            code="field_too_long",
            field="reason",
        )
    return text


def _may_request(actor: User, case: Case) -> bool:
    """The case's parents, and officers who work an item of the case (the issuing
    department, or a later one that noticed the mistake)."""
    if actor.role not in (Role.PARENT, Role.OFFICER) or not actor.is_active:
        return False
    return can_view_case(actor, case)


def already_open(row: CaseItem, field: str) -> bool:
    """A correction of this result and field is waiting for its decision."""
    return Correction.objects.filter(item=row, field=field, state=Correction.State.OPEN).exists()


def _audit(
    case: Case,
    action: str,
    actor: User | None,
    now: datetime,
    object_type: str,
    object_id: str,
    detail: Mapping[str, Any],
) -> None:
    # Codes, serials and field names only: the values are personal data (encrypted on the
    # correction row), never in the audit log.
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=dict(detail),
    )


@transaction.atomic
def correction_request(
    *,
    item_id: int,
    actor: User,
    field: str,
    value: str,
    reason: str,
    now: datetime | None = None,
) -> Correction:
    """Ask the issuing department to correct ``field`` of item ``item_id``'s result."""
    now = now or timezone.now()
    case_id = CaseItem.objects.filter(pk=item_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise CorrectionNotPermitted("事项不存在或无权访问")
    case = case_locked(case_id)
    if not _may_request(actor, case):
        raise CorrectionNotPermitted("事项不存在或无权访问")
    row = CaseItem.objects.get(pk=item_id)
    licence = current_elicence(row) if row.state == ItemState.DONE else None
    if licence is None:
        raise CorrectionInvalid(
            "该事项尚未办结或没有电子证照，不能申请更正", code="not_issued", field="item"
        )
    new = _new_value(case, row, field, str(value or ""), now)
    text = _clean_reason(reason, "请填写更正理由")
    if already_open(row, field):
        raise CorrectionConflict("该字段已有一份更正申请正在审核，请等待审核结果")
    correction = Correction(
        case=case,
        item=row,
        licence=licence,
        field=field,
        old_value=str((row.result or {}).get(field, "") or ""),
        new_value=new,
        reason=text,
        requested_by=actor,
        requested_role=actor.role,
        requested_at=now,
    )
    try:
        with transaction.atomic():  # a savepoint: the constraint settles a race
            correction.save()
    except IntegrityError:
        raise CorrectionConflict("该字段已有一份更正申请正在审核，请等待审核结果") from None
    _audit(
        case,
        "correction_requested",
        actor,
        now,
        "correction",
        str(correction.pk),
        {"item": row.item, "field": field, "licence": licence.serial, "role": actor.role},
    )
    emit(ev.CorrectionRequested(case=case, correction=correction, row=row, at=now, actor=actor))
    return correction


def _decidable(correction_id: int, actor: User | None) -> tuple[Case, Correction, CaseItem]:
    case_id = Correction.objects.filter(pk=correction_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise CorrectionNotPermitted("更正申请不存在或无权访问")
    case = case_locked(case_id)
    correction = Correction.objects.select_related("item").get(pk=correction_id)
    row = correction.item
    # Only the issuing department, in the item's jurisdiction, decides.
    if actor is None or not can_work_item(actor, row):
        raise CorrectionNotPermitted("您不是该事项签发部门和辖区的经办人员，不能审核该更正")
    if correction.state != Correction.State.OPEN:
        raise CorrectionConflict(f"该更正申请已审核（{correction.get_state_display()}）")
    # Four eyes: the officer (or department system) who asked never decides their own
    # request; a parent's or another officer's request is decided by the issuing department.
    if correction.requested_by_id == actor.pk:
        raise CorrectionSamePerson(SAME_PERSON_MESSAGE)
    return case, correction, row


def _downstream(row: CaseItem) -> list[CaseItem]:
    """The later items of the case that waited for ``row`` (directly or through others)
    and have already been worked on with its result: dispatched or finished, not waiting
    or cancelled (those read the corrected licence when their turn comes)."""
    rows = list(CaseItem.objects.filter(case_id=row.case_id).order_by("position"))
    # Keyed by row (``code``, ``code-2``): twins' items wait for their own baby's (ADR 0036).
    after_of = {r.key: set(r.after or []) for r in rows}
    later: set[str] = set()
    grew = True
    while grew:
        grew = False
        for r in rows:
            if r.key not in later and after_of[r.key] & (later | {row.key}):
                later.add(r.key)
                grew = True
    return [
        r
        for r in rows
        if r.key in later and r.state not in (ItemState.WAITING, ItemState.CANCELLED)
    ]


@transaction.atomic
def correction_approve(
    *, correction_id: int, actor: User | None, now: datetime | None = None
) -> Correction:
    """Approve: the corrected e-licence (new serial, sealed) supersedes the one in force,
    the item's result holds the new value, and the later items are told."""
    now = now or timezone.now()
    case, correction, row = _decidable(correction_id, actor)
    licence = current_elicence(row)
    if licence is None:  # pragma: no cover - a done item keeps a licence in force
        raise CorrectionInvalid("该事项没有有效的电子证照", code="not_issued", field="item")
    # Checked again against the result in force (another field may have been corrected).
    new = _new_value(case, row, correction.field, correction.new_value, now)
    result = {**(row.result or {}), correction.field: new}
    corrected = elicence_supersede(licence=licence, result=result, now=now)
    row.result = result
    row.version += 1
    row.save(update_fields=["result", "version"])
    correction.state = Correction.State.APPROVED
    correction.decided_by = actor
    correction.decided_at = now
    correction.corrected_licence = corrected
    correction.save(update_fields=["state", "decided_by", "decided_at", "corrected_licence"])
    ids = {"item": row.item, "field": correction.field}
    _audit(case, "correction_approved", actor, now, "correction", str(correction.pk), ids)
    _audit(
        case,
        "elicence_issued",
        actor,
        now,
        "elicence",
        corrected.serial,
        {**ids, "replaces": licence.serial, "correction": correction.pk},
    )
    _audit(
        case,
        "elicence_superseded",
        actor,
        now,
        "elicence",
        licence.serial,
        {**ids, "superseded_by": corrected.serial, "correction": correction.pk},
    )
    emit(
        ev.ResultCorrected(
            case=case,
            correction=correction,
            row=row,
            at=now,
            actor=actor,
            old_serial=licence.serial,
            new_serial=corrected.serial,
            downstream=tuple(_downstream(row)),
        )
    )
    return correction


@transaction.atomic
def correction_refuse(
    *, correction_id: int, actor: User | None, reason: str, now: datetime | None = None
) -> Correction:
    """Refuse, with the reason the requester is told."""
    now = now or timezone.now()
    text = _clean_reason(reason, "请填写不予更正的理由")
    case, correction, row = _decidable(correction_id, actor)
    correction.state = Correction.State.REFUSED
    correction.decided_by = actor
    correction.decided_at = now
    correction.refusal_reason = text
    correction.save(update_fields=["state", "decided_by", "decided_at", "refusal_reason"])
    _audit(
        case,
        "correction_refused",
        actor,
        now,
        "correction",
        str(correction.pk),
        {"item": row.item, "field": correction.field},
    )
    emit(ev.CorrectionRefused(case=case, correction=correction, row=row, at=now, actor=actor))
    return correction


@transaction.atomic
def correction_decision_refused(
    *, correction_id: int, actor: User, action: str, code: str, now: datetime | None = None
) -> None:
    """Record a refused decision attempt (e.g. ``correction_same_person``) in the case's
    audit stream. Its own transaction (a savepoint inside an API request, which commits the
    refusal's answer): the refused service call rolled back everything it wrote."""
    now = now or timezone.now()
    case_id = Correction.objects.filter(pk=correction_id).values_list("case_id", flat=True).first()
    if case_id is None:
        return
    case = case_locked(case_id)
    correction = Correction.objects.select_related("item").get(pk=correction_id)
    _audit(
        case,
        "correction_decision_refused",
        actor,
        now,
        "correction",
        str(correction.pk),
        {
            "item": correction.item.item,
            "field": correction.field,
            "action": action[:16],
            "code": code,
        },
    )


@transaction.atomic
def correction_notice_read(*, notice_id: int, actor: User, now: datetime | None = None) -> None:
    """An officer of the later item marks the notice read (已知悉)."""
    now = now or timezone.now()
    case_id = (
        CorrectionNotice.objects.filter(pk=notice_id)
        .values_list("correction__case_id", flat=True)
        .first()
    )
    if case_id is None:
        raise CorrectionNotPermitted("通知不存在或无权访问")
    case = case_locked(case_id)
    notice = CorrectionNotice.objects.select_related("item").get(pk=notice_id)
    if not can_work_item(actor, notice.item):
        raise CorrectionNotPermitted("通知不存在或无权访问")
    if notice.read_at is not None:
        return
    notice.read_by = actor
    notice.read_at = now
    notice.save(update_fields=["read_by", "read_at"])
    _audit(
        case,
        "correction_notice_read",
        actor,
        now,
        "case_item",
        notice.item.item,
        {"correction": notice.correction_id},
    )
