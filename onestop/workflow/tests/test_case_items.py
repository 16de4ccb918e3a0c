from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

import pytest

from onestop.workflow.domain import (
    EVENT_TYPES,
    WITHDRAWN,
    CaseItems,
    Event,
    IllegalTransition,
    ItemBecameReady,
    ItemCancelled,
    ItemClaimed,
    ItemCompleted,
    ItemRefused,
    ItemResumed,
    ItemReturned,
    ItemState,
    PlannedItem,
    UnknownItem,
    build_plan,
)

from .examples import BMC, FUZHOU, MIE, MR, PG, QINBEI, REG, SSC, T0, VACC, codes

S = ItemState


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _states(case: CaseItems) -> dict[str, ItemState]:
    return {s.item: s.state for s in case.items}


def _qinbei() -> tuple[CaseItems, list[Event]]:
    return CaseItems.start(build_plan(QINBEI, codes(QINBEI)), T0)


def test_start_readies_items_without_prerequisites() -> None:
    case, events = _qinbei()
    assert events == [ItemBecameReady(BMC, T0), ItemBecameReady(VACC, T0), ItemBecameReady(PG, T0)]
    assert case.ready_items() == (BMC, VACC, PG)
    assert case.state_of(REG) is S.WAITING
    assert case.status_of(BMC).ready_at == T0
    assert not case.is_finished()


def test_qinbei_runs_to_the_end() -> None:
    case, log = _qinbei()
    case, ev = case.claim(BMC, _t(1), "doctor-li")
    log += ev
    case, ev = case.complete(BMC, _t(2), {"bmc_number": "R450000001"})
    log += ev
    assert ev == [
        ItemCompleted(BMC, _t(2), {"bmc_number": "R450000001"}),
        ItemBecameReady(REG, _t(2)),
    ]
    case, ev = case.complete(REG, _t(3), {"citizen_id": "450702202603020011"})
    log += ev
    assert [e.item for e in ev if isinstance(e, ItemBecameReady)] == [MR, MIE]
    assert case.state_of(SSC) is S.WAITING  # also waits for insurance enrolment
    case, ev = case.complete(MIE, _t(4), {})
    log += ev
    assert ev[-1] == ItemBecameReady(SSC, _t(4))
    for step, item in enumerate([VACC, PG, MR, SSC]):
        case, ev = case.complete(item, _t(10 + step), {"ok": True})
        log += ev
    assert case.is_finished()
    assert set(_states(case).values()) == {S.DONE}
    assert CaseItems.initial(case.plan).apply(log) == case


def test_fuzhou_registration_waits_for_both_hospital_items() -> None:
    case, _ = CaseItems.start(build_plan(FUZHOU, codes(FUZHOU)), T0)
    case, ev = case.complete(BMC, _t(1), {})
    assert ev == [ItemCompleted(BMC, _t(1), {})]
    case, ev = case.complete(VACC, _t(2), {})
    assert ev[-1] == ItemBecameReady(REG, _t(2))


def test_refusing_birth_registration_cancels_exactly_its_dependents() -> None:
    case, _ = _qinbei()
    case, _ = case.complete(BMC, _t(1), {})
    case, _ = case.claim(VACC, _t(2), "nurse-wang")
    before = case
    case, events = case.refuse(REG, _t(3), ["户籍地不在钦北区"])
    assert events == [
        ItemRefused(REG, _t(3), ("户籍地不在钦北区",)),
        ItemCancelled(MR, _t(3), REG),
        ItemCancelled(MIE, _t(3), REG),
        ItemCancelled(SSC, _t(3), REG),
    ]
    assert case.dependents_of(REG) == (MR, MIE, SSC)
    assert _states(case) == {
        BMC: S.DONE,
        VACC: S.IN_PROGRESS,
        REG: S.REFUSED,
        MR: S.CANCELLED,
        MIE: S.CANCELLED,
        SSC: S.CANCELLED,
        PG: S.READY,
    }
    assert case.status_of(BMC) == before.status_of(BMC)
    assert case.status_of(SSC).cancelled_because == REG
    assert case.status_of(REG).reasons == ("户籍地不在钦北区",)
    assert not case.is_finished()


def test_supplement_returns_and_resumes_with_the_same_officer() -> None:
    case, _ = _qinbei()
    case, _ = case.claim(BMC, _t(1), "doctor-li")
    case, ev = case.return_for_supplement(BMC, _t(2), ["缺少结婚证", "身份证照片不清晰"])
    assert ev == [ItemReturned(BMC, _t(2), ("缺少结婚证", "身份证照片不清晰"))]
    status = case.status_of(BMC)
    assert (status.state, status.state_before_return) == (S.RETURNED, S.IN_PROGRESS)
    case, ev = case.resume(BMC, _t(3))
    assert ev == [ItemResumed(BMC, _t(3))]
    status = case.status_of(BMC)
    assert (status.state, status.state_before_return, status.officer) == (
        S.IN_PROGRESS,
        None,
        "doctor-li",
    )
    assert status.reasons == ()


def test_unclaimed_item_resumes_as_ready() -> None:
    case, _ = _qinbei()
    case, _ = case.return_for_supplement(VACC, _t(1), ["缺少接种记录"])
    case, _ = case.resume(VACC, _t(2))
    assert case.state_of(VACC) is S.READY
    assert case.status_of(VACC).ready_at == T0  # dispatch time is kept


def test_returned_item_may_be_refused() -> None:
    case, _ = _qinbei()
    case, _ = case.return_for_supplement(BMC, _t(1), ["材料不全"])
    case, ev = case.refuse(BMC, _t(2), ["逾期未补正"])
    assert [type(e) for e in ev] == [ItemRefused] + [ItemCancelled] * 4
    assert case.status_of(BMC).state_before_return is None


def test_withdraw_cancels_everything_not_finished() -> None:
    case, _ = _qinbei()
    case, _ = case.complete(BMC, _t(1), {})
    case, _ = case.claim(REG, _t(2), "officer-zhao")
    case, ev = case.withdraw(_t(3))
    assert [e.item for e in ev] == [VACC, REG, MR, MIE, SSC, PG]
    assert all(isinstance(e, ItemCancelled) and e.because == WITHDRAWN for e in ev)
    assert case.state_of(BMC) is S.DONE
    assert case.is_finished()
    assert case.withdraw(_t(4)) == (case, [])


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda c: c.claim(MR, _t(9), "x"),
            "事项 maternity_reimbursement 当前状态为“等待前置事项”，不能认领办理",
        ),
        (lambda c: c.complete(MR, _t(9), {}), "“等待前置事项”，不能办结"),
        (lambda c: c.refuse(MR, _t(9), ["r"]), "“等待前置事项”，不能不予办理"),
        (lambda c: c.return_for_supplement(BMC, _t(9), ["r"]), "“已办结”，不能退回补正"),
        (lambda c: c.complete(BMC, _t(9), {}), "“已办结”，不能办结"),
        (lambda c: c.claim(VACC, _t(9), "y"), "“办理中”，不能认领办理"),
        (lambda c: c.resume(VACC, _t(9)), "“办理中”，不能补正后恢复办理"),
        (lambda c: c.resume(PG, _t(9)), "“待办理”，不能补正后恢复办理"),
    ],
)
def test_illegal_transitions_raise(action, message) -> None:
    case, _ = _qinbei()
    case, _ = case.complete(BMC, _t(1), {})
    case, _ = case.claim(VACC, _t(2), "nurse-wang")
    with pytest.raises(IllegalTransition) as caught:
        action(case)
    assert caught.value.code == "illegal_transition"
    assert message in caught.value.message


def test_terminal_items_refuse_every_action() -> None:
    case, _ = _qinbei()
    case, _ = case.refuse(BMC, _t(1), ["非首次签发"])
    for item in (BMC, REG):
        with pytest.raises(IllegalTransition):
            case.claim(item, _t(2), "x")
        with pytest.raises(IllegalTransition):
            case.complete(item, _t(2), {})
        with pytest.raises(IllegalTransition):
            case.refuse(item, _t(2), ["again"])


def test_unknown_item_is_a_key_error() -> None:
    case, _ = _qinbei()
    with pytest.raises(KeyError) as caught:
        case.claim("medical_insurance_payment", _t(1), "x")
    assert isinstance(caught.value, UnknownItem)
    assert "medical_insurance_payment" in str(caught.value)
    with pytest.raises(UnknownItem):
        case.dependents_of("nothing")


def test_argument_checks() -> None:
    case, _ = _qinbei()
    with pytest.raises(ValueError, match="time zone"):
        case.claim(BMC, datetime(2026, 3, 2, 10, 0), "x")
    with pytest.raises(ValueError, match="reasons"):
        case.return_for_supplement(BMC, _t(1), [])
    with pytest.raises(ValueError, match="reasons"):
        case.refuse(BMC, _t(1), [""])
    with pytest.raises(ValueError, match="officer"):
        case.claim(BMC, _t(1), "")
    with pytest.raises(ValueError):
        CaseItems.start([], T0)


def test_plan_must_list_prerequisites_first() -> None:
    with pytest.raises(ValueError, match="之前"):
        CaseItems.initial([PlannedItem("b", "d", ("a",), None), PlannedItem("a", "d", (), None)])
    with pytest.raises(ValueError, match="重复"):
        CaseItems.initial([PlannedItem("a", "d", (), None), PlannedItem("a", "d", (), None)])


def test_apply_rejects_inconsistent_events() -> None:
    case = CaseItems.initial(build_plan(QINBEI, codes(QINBEI)))
    with pytest.raises(IllegalTransition, match="birth_certificate 尚未办结"):
        case.apply([ItemBecameReady(REG, T0)])
    with pytest.raises(IllegalTransition):
        case.apply([ItemCancelled(SSC, T0, BMC)])  # BMC was not refused
    started, _ = _qinbei()
    refused, _ = started.refuse(BMC, _t(1), ["x"])
    with pytest.raises(IllegalTransition):
        refused.apply([ItemCancelled(VACC, _t(2), BMC)])  # not a dependent of BMC
    with pytest.raises(UnknownItem):
        case.apply([ItemClaimed("nothing", T0, "x")])


def test_result_is_copied_and_events_serialise() -> None:
    case, _ = _qinbei()
    result: dict[str, object] = {"bmc_number": "R1"}
    case, events = case.complete(BMC, _t(1), result)
    result["bmc_number"] = "changed"
    assert case.status_of(BMC).result == {"bmc_number": "R1"}
    rows = [(e.kind, asdict(e)) for e in events]
    assert rows[0] == ("item_completed", {"item": BMC, "at": _t(1), "result": {"bmc_number": "R1"}})
    rebuilt = [EVENT_TYPES[kind](**fields) for kind, fields in rows]
    assert rebuilt == events


def test_queries() -> None:
    case, _ = _qinbei()
    assert case.dependents_of(BMC) == (REG, MR, MIE, SSC)
    assert case.dependents_of(PG) == ()
    assert case.ancestors_of(SSC) == (BMC, REG, MIE)
    assert REG in case and "nothing" not in case
    assert case.plan == tuple(build_plan(QINBEI, codes(QINBEI)))
