"""当场办理 and 当场交付: results in the same visit at the counter (issue 11, promise 2;
ADR 0032).

Which items a counter finishes while the parents wait is pack data (``same_visit`` of the
pack's counter channel, cited): 沅陵's hospital window issues the 《出生医学证明》 itself
(``by: counter``); at 吉林's service center the police desk registers the birth in its own
workbench (``by: department``) and the clerk prints the household register page. Who may
do what, checked on every request and again inside each transaction:

- a clerk completes an item only where the pack says the counter does, only for a case
  entered at her own window, and only an item whose office is her own institution (the
  clerk at 沅陵县人民医院's window is that hospital's staff; a clerk of another hospital, or
  of a service center, cannot);
- a clerk hands over a result only of a same-visit item of a case entered at her window,
  once the item is done, once (printing again is allowed; a second handover is not), to a
  person the case names (mother, father where allowed, the authorized trustee) whose name
  and ID number match the case.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import Role, User, actor_label
from onestop.audit.services import audit_record
from onestop.cases.models import Case
from onestop.core.clock import to_beijing
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.policy import schema as ps
from onestop.policy.loader import default_packs
from onestop.reference.selectors import institution_name
from onestop.workflow import events as ev
from onestop.workflow.domain import delivery
from onestop.workflow.domain.recipients import Recipient, recipient_matching, recipients
from onestop.workflow.models import CaseItem, ItemState, ResultHandover
from onestop.workflow.services import (
    NotPermitted,
    TaskConflict,
    _check,
    _lock,
    item_complete_locked,
)


class HandoverRefused(OnestopError):
    code = "recipient_mismatch"


def case_pack(case: Case) -> ps.PolicyPack | None:
    packs = default_packs()
    return packs.version(case.region, case.pack_version) or packs.current(case.region)


def same_visit_rule(case: Case, item: str) -> ps.SameVisit | None:
    """How the counter that took ``case`` finishes ``item`` in the same visit, or None."""
    if case.channel != "counter" or not case.counter_code:
        return None
    pack = case_pack(case)
    return pack.same_visit(item) if pack is not None else None


def clerk_of_counter(user: User, case: Case) -> bool:
    """The user is an active clerk of the window the case was entered at."""
    return (
        user.is_active
        and user.role == Role.CLERK
        and bool(user.jurisdiction_code)
        and user.jurisdiction_kind == case.counter_kind
        and user.jurisdiction_code == case.counter_code
    )


def counter_may_complete(user: User, case: Case, row: CaseItem) -> bool:
    """当场办理 by the clerk: the pack says the counter itself does it, the case is her
    window's, and the item's office is her own institution."""
    rule = same_visit_rule(case, row.item)
    return (
        rule is not None
        and rule.by == "counter"
        and clerk_of_counter(user, case)
        and row.jurisdiction_kind == user.jurisdiction_kind
        and row.jurisdiction_code == user.jurisdiction_code
    )


def counter_may_hand_over(user: User, case: Case, row: CaseItem) -> bool:
    """当场交付: a same-visit item of a case entered at the clerk's window, with a result
    the parents take away."""
    return (
        same_visit_rule(case, row.item) is not None
        and delivery.result_of(row.item) is not None
        and clerk_of_counter(user, case)
    )


def handover_recipients(case: Case, row: CaseItem, *, today: datetime) -> list[Recipient]:
    """The people who may receive ``row``'s result today (``recipients``, with the pack's
    rule for who collects it)."""
    pack = case_pack(case)
    result = delivery.result_of(row.item)
    option = pack.delivery.get(result) if pack is not None and result else None  # type: ignore[call-overload]
    return recipients(
        case.typed_document(),
        row.item,
        today=to_beijing(today).date(),
        pickup_by=option.pickup_by if option is not None else None,
        authorization_for=option.authorization_for if option is not None else (),
    )


@transaction.atomic
def item_complete_at_counter(
    *,
    item_id: int,
    actor: User,
    result: dict[str, object],
    now: datetime | None = None,
    expected_version: int | None = None,
) -> CaseItem:
    """当场办理: the clerk completes the item at her window, with the same result fields
    and validation as the officer's task page; the sealed e-licence is issued in the same
    transaction."""
    now = now or timezone.now()
    case, rows, row = _lock(item_id)
    if not counter_may_complete(actor, case, row):
        raise NotPermitted("本窗口不能当场办理该事项")
    _check(
        actor,
        row,
        [ItemState.READY, ItemState.IN_PROGRESS],
        "办结",
        expected_version,
        may_work=lambda user, item: counter_may_complete(user, case, item),
    )
    item_complete_locked(case, rows, row, actor=actor, result=result, now=now, same_visit=True)
    return row


def handover_of(row: CaseItem) -> ResultHandover | None:
    return ResultHandover.objects.filter(item=row).select_related("handed_by").first()


@transaction.atomic
def result_hand_over(
    *,
    item_id: int,
    actor: User,
    role: str,
    name: str,
    id_number: str,
    now: datetime | None = None,
) -> ResultHandover:
    """当场交付: the printed result handed to a person the case names, once, with the
    audit record, the timeline line and the parents' message in the same transaction."""
    now = now or timezone.now()
    case, _rows, row = _lock(item_id)
    if not counter_may_hand_over(actor, case, row):
        raise NotPermitted("本窗口不能交付该事项的结果")
    result = delivery.result_of(row.item)
    assert result is not None
    result_name = delivery.RESULT_NAMES.get(result, result)
    if row.state != ItemState.DONE:
        raise TaskConflict(f"{result_name}尚未办结，不能交付")
    earlier = handover_of(row)
    if earlier is not None:
        at = to_beijing(earlier.handed_at).strftime("%Y-%m-%d %H:%M")
        raise TaskConflict(f"{result_name}已于{at}交付，不能重复交付")
    allowed = handover_recipients(case, row, today=now)
    person = recipient_matching(allowed, role, name, id_number)
    if person is None:
        who = "、".join(dict.fromkeys(p.label() for p in allowed)) or "无"
        raise HandoverRefused(
            f"领取人的身份、姓名或身份证号与办件登记的不一致，不能交付（可领取人：{who}）"
        )
    counter = institution_name(case.counter_kind, case.counter_code)
    handover = ResultHandover.objects.create(
        case=case,
        item=row,
        result=result,
        recipient_role=person.role,
        recipient={"name": person.name, "id_number": person.id_number},
        handed_by=actor,
        counter_kind=case.counter_kind,
        counter_code=case.counter_code,
        handed_at=now,
    )
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="result_handed_over",
        object_type="case_item",
        object_id=row.item,
        detail={"result": result, "recipient_role": person.role, "counter": case.counter_code},
    )
    emit(
        ev.ResultHandedOver(
            case=case,
            row=row,
            rows={row.key: row},
            at=now,
            state=row.state,
            version=row.version,
            actor=actor,
            result_name=result_name,
            recipient_label=person.label(),
            counter_name=counter,
        )
    )
    return handover
