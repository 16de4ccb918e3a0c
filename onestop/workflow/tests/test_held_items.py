"""Items held for the other parent's confirmation (父母双方签字, ADR 0029): pure core."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from onestop.workflow.domain import (
    CaseItems,
    IllegalTransition,
    ItemBecameReady,
    ItemCancelled,
    ItemRefused,
    ItemReleased,
    ItemState,
    build_plan,
)

from .examples import BMC, MIE, PG, QINBEI, REG, SSC, T0, VACC, codes

S = ItemState


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _held() -> CaseItems:
    case, _ = CaseItems.start(build_plan(QINBEI, codes(QINBEI)), T0, held={REG})
    return case


def test_a_held_item_is_not_dispatched_when_its_prerequisite_is_done() -> None:
    case = _held()
    assert case.status_of(REG).held
    case, events = case.complete(BMC, _t(1), {"bmc_number": "R1"})
    assert ItemBecameReady(REG, _t(1)) not in events
    assert case.state_of(REG) is S.WAITING


def test_release_after_the_prerequisite_dispatches_at_once() -> None:
    case, _ = _held().complete(BMC, _t(1), {"bmc_number": "R1"})
    case, events = case.release(REG, _t(5))
    assert events == [ItemReleased(REG, _t(5)), ItemBecameReady(REG, _t(5))]
    assert case.state_of(REG) is S.READY and not case.status_of(REG).held


def test_release_before_the_prerequisite_waits_for_it() -> None:
    case, events = _held().release(REG, _t(1))
    assert events == [ItemReleased(REG, _t(1))]
    assert case.state_of(REG) is S.WAITING
    case, events = case.complete(BMC, _t(2), {"bmc_number": "R1"})
    assert ItemBecameReady(REG, _t(2)) in events


def test_a_held_item_may_be_refused_while_waiting_and_its_dependents_stop() -> None:
    case, events = _held().refuse(REG, _t(1), ["父亲不同意"])
    assert events[0] == ItemRefused(REG, _t(1), ("父亲不同意",))
    assert ItemCancelled(MIE, _t(1), REG) in events and ItemCancelled(SSC, _t(1), REG) in events
    assert case.state_of(REG) is S.REFUSED
    assert case.state_of(BMC) is S.READY  # the rest of the bundle goes on
    assert {case.state_of(VACC), case.state_of(PG)} == {S.READY}


def test_an_item_not_held_may_not_be_refused_while_waiting_nor_released() -> None:
    case, _ = CaseItems.start(build_plan(QINBEI, codes(QINBEI)), T0)
    with pytest.raises(IllegalTransition):
        case.refuse(REG, _t(1), ["x"])
    with pytest.raises(IllegalTransition):
        case.release(REG, _t(1))


def test_a_held_item_cannot_be_readied_directly() -> None:
    case, _ = _held().complete(BMC, _t(1), {"bmc_number": "R1"})
    with pytest.raises(IllegalTransition, match="等待另一方父母确认"):
        case.apply([ItemBecameReady(REG, _t(2))])


def test_a_held_item_without_prerequisites_is_not_started() -> None:
    case, events = CaseItems.start(build_plan(QINBEI, codes(QINBEI)), T0, held={BMC})
    assert ItemBecameReady(BMC, T0) not in events
    assert case.state_of(BMC) is S.WAITING


def test_events_rebuild_the_states() -> None:
    plan = build_plan(QINBEI, codes(QINBEI))
    case, log = CaseItems.start(plan, T0, held={REG})
    case, ev = case.complete(BMC, _t(1), {"bmc_number": "R1"})
    log += ev
    case, ev = case.release(REG, _t(2))
    log += ev
    assert CaseItems.initial(plan, held={REG}).apply(log) == case
