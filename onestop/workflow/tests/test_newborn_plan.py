"""Multiple births (多胞胎, ADR 0036) in the pure core: one item set per newborn, the
prerequisites held per newborn, a single birth unchanged."""

from __future__ import annotations

from onestop.workflow.domain import (
    CaseItems,
    ItemState,
    build_plan,
    item_code,
    item_key,
    newborn_ordinal,
    plan_per_newborn,
    split_key,
)

from .examples import BMC, MIE, MR, PG, QINBEI, REG, SSC, T0, VACC, codes

PER_NEWBORN = {BMC, VACC, REG, MIE, SSC}


def test_keys_round_trip_and_the_first_newborn_keeps_the_code():
    assert item_key(BMC, 0) == BMC
    assert item_key(BMC, 1) == "birth_certificate-2"
    assert split_key("birth_certificate-3") == (BMC, 2)
    assert split_key(BMC) == (BMC, 0)
    assert item_code("social_security_card-2") == SSC
    assert newborn_ordinal(1) == "第二个孩子"
    assert newborn_ordinal(2) == "第三个孩子"


def test_single_birth_plan_is_unchanged():
    plan = build_plan(QINBEI, codes(QINBEI))
    assert plan_per_newborn(plan, PER_NEWBORN, 1) == [(0, p) for p in plan]
    assert plan_per_newborn(plan, PER_NEWBORN, 0) == [(0, p) for p in plan]


def test_twins_get_one_set_of_per_newborn_items_each():
    plan = build_plan(QINBEI, codes(QINBEI))
    expanded = plan_per_newborn(plan, PER_NEWBORN, 2)
    keys = [p.item for _, p in expanded]
    assert len(keys) == 2 * len(PER_NEWBORN) + 2  # maternity and guidance once
    assert keys.count(MR) == 1 and keys.count(PG) == 1
    assert {"birth_certificate-2", "birth_registration-2", "social_security_card-2"} <= set(keys)
    after = {p.item: p.after for _, p in expanded}
    newborn = {p.item: n for n, p in expanded}
    # Baby 2's registration waits for baby 2's certificate, not baby 1's.
    assert after["birth_registration-2"] == ("birth_certificate-2",)
    assert after[REG] == (BMC,)
    assert newborn["birth_registration-2"] == 1 and newborn[REG] == 0
    # The mother's reimbursement waits for both registrations.
    assert set(after[MR]) == {REG, "birth_registration-2"}
    assert newborn[MR] == 0


def test_baby_two_registration_goes_when_baby_two_certificate_is_done():
    plan = [p for _, p in plan_per_newborn(build_plan(QINBEI, codes(QINBEI)), PER_NEWBORN, 3)]
    items, events = CaseItems.start(plan, T0)
    assert {e.item for e in events} >= {BMC, "birth_certificate-2", "birth_certificate-3"}
    items, _ = items.complete("birth_certificate-2", T0, {"bmc_number": "Q000000002"})
    assert items.state_of("birth_registration-2") is ItemState.READY
    assert items.state_of(REG) is ItemState.WAITING
    assert items.state_of("birth_registration-3") is ItemState.WAITING
    # Refusing baby 3's registration cancels only what depends on it.
    items, _ = items.complete("birth_certificate-3", T0, {"bmc_number": "Q000000003"})
    items, _ = items.refuse("birth_registration-3", T0, ["户籍信息核验不一致"])
    assert items.state_of("social_security_card-3") is ItemState.CANCELLED
    assert items.state_of("medical_insurance_enrolment-3") is ItemState.CANCELLED
    assert items.state_of(MR) is ItemState.CANCELLED  # it needed every baby's registration
    assert items.state_of("social_security_card-2") is ItemState.WAITING
    assert items.state_of(MIE) is ItemState.WAITING
