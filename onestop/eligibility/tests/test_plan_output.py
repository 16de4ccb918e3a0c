"""The item plan in the decision: chosen ∩ offered items, dependency order, time limits, JSON.

Sources: spec/regions.md "Dependency order" and "Time limits"; spec/interfaces.md (`plan`
lists the chosen items the pack offers, each with the items it waits for and its time limit).
Semantics of a skipped middle item: onestop/workflow/domain/plan.py `build_plan` (a chosen item
waits for its nearest chosen ancestors).
"""

from __future__ import annotations

import json

import pytest

from onestop.eligibility.prereview import Decision

from .support import (
    ACCEPT,
    BMC,
    MIE,
    MR,
    PAY,
    PG,
    REG,
    REGIONS,
    REJECT,
    SSC,
    SUPPLEMENT,
    VACC,
    accepted,
    check,
    example,
    plan_map,
)

# item → (department, after, time_limit_days, unit), per regions.md.
Row = tuple[str, tuple[str, ...], int | None, str]

FULL_PLANS: dict[str, dict[str, Row]] = {
    # "需先办理出生医学证明,才可办理出生登记,然后并行办理城乡居民参保登记、社会保障卡申领"
    # "在1 个工作日内办结对应事项"
    "lanzhou": {
        BMC: ("hospital", (), 1, "working_days"),
        VACC: ("hospital", (), 1, "working_days"),
        REG: ("police", (BMC,), 1, "working_days"),
        SSC: ("hrss", (REG,), 1, "working_days"),
        MIE: ("medical_insurance", (REG,), 1, "working_days"),
        MR: ("medical_insurance", (), 1, "working_days"),
        PG: ("health", (), 1, "working_days"),
    },
    # "依次推送落户、医保登记、医保缴费等申请信息"; "须在90天内完成参保缴费"
    "yuanling": {
        BMC: ("hospital", (), 0, "working_days"),  # "当场办理并发放《出生医学证明》"
        REG: ("police", (BMC,), 3, "working_days"),  # "原则上不超过 3 个工作日"
        MIE: ("medical_insurance", (REG,), 3, "working_days"),
        PAY: ("tax", (MIE,), 90, "calendar_days"),
    },
    # "将办理结果推送至税务、人力资源社会保障部门": the card also waits for insurance enrolment.
    # "出生登记办结时限为2个工作日", "生育医疗费用报销办结时限为15个工作日",
    # "社会保障卡申领办结时限为30个工作日"
    "qinbei": {
        BMC: ("hospital", (), 1, "working_days"),
        VACC: ("cdc", (), 1, "working_days"),
        REG: ("police", (BMC,), 2, "working_days"),
        MR: ("medical_insurance", (REG,), 15, "working_days"),
        MIE: ("medical_insurance", (REG,), 1, "working_days"),
        SSC: ("hrss", (REG, MIE), 30, "working_days"),
        PG: ("health", (), None, "working_days"),
    },
    # BMC + vaccination → birth registration → {maternity, enrolment} → card;
    # "应在申请人选择新生儿社保卡合作银行后３个工作日内办理"
    "fuzhou": {
        BMC: ("hospital", (), 1, "working_days"),
        VACC: ("hospital", (), 1, "working_days"),
        REG: ("police", (BMC, VACC), 1, "working_days"),
        MR: ("medical_insurance", (REG,), 1, "working_days"),
        MIE: ("medical_insurance", (REG,), 1, "working_days"),
        SSC: ("hrss", (MR, MIE), 3, "working_days"),
    },
    # "公安窗口现场办理户口登记"; no BMC item (issued beforehand)
    "jilin": {
        REG: ("police", (), 0, "working_days"),
        MIE: ("medical_insurance", (REG,), None, "working_days"),
        PAY: ("tax", (MIE,), None, "working_days"),
        SSC: ("hrss", (REG,), None, "working_days"),
    },
}


def rows(decision: Decision) -> dict[str, Row]:
    body = decision.as_json()
    return {
        p["item"]: (p["department"], tuple(p["after"]), p["time_limit_days"], p["time_limit_unit"])
        for p in body["plan"]
    }


def assert_dependency_order(decision: Decision) -> None:
    """Every item comes after the items it waits for; no item twice."""
    seen: set[str] = set()
    for planned in decision.plan:
        assert planned.item not in seen
        assert set(planned.after) <= seen, f"{planned.item} before {planned.after}"
        seen.add(planned.item)


def choose(region: str, items: list[str], *, with_bmc: bool = False) -> Decision:
    raw = accepted(region)
    raw["items"] = items
    if with_bmc:
        raw["materials"].append("birth_certificate")
    if raw.get("authorization"):
        raw["authorization"]["items"] = items
    return check(raw)


@pytest.mark.parametrize("region", REGIONS)
def test_full_plan_of_each_region(region: str) -> None:
    decision = check(accepted(region))
    assert rows(decision) == FULL_PLANS[region]
    assert_dependency_order(decision)


def test_plan_follows_the_pack_order_where_dependencies_allow() -> None:
    decision = check(accepted("qinbei"))
    assert [p.item for p in decision.plan] == [BMC, VACC, REG, MR, MIE, SSC, PG]


def test_jilin_automatic_items_when_chosen() -> None:
    """Seed: "预防接种证办理、生育医疗费用报销在助产机构实行“免申即享”"."""
    raw = accepted("jilin")
    raw["items"] += [VACC, MR, PG]
    decision = check(raw)
    assert decision.outcome is ACCEPT
    plan = rows(decision)
    for item in (VACC, MR, PG):
        assert plan[item][1:3] == ((), 0)


def test_only_chosen_and_offered_items_are_planned() -> None:
    raw = accepted("lanzhou")
    raw["items"] = [BMC, REG, PAY]  # lanzhou offers no insurance payment item
    decision = check(raw)
    assert [p.item for p in decision.plan] == [BMC, REG]
    assert any("城乡居民医保缴费" in note for note in decision.notes)


def test_repeated_items_collapse() -> None:
    raw = accepted("lanzhou")
    raw["items"] = [BMC, REG, BMC, REG]
    assert [p.item for p in check(raw).plan] == [BMC, REG]


def test_unchosen_items_are_not_planned() -> None:
    decision = choose("qinbei", [VACC, PG])
    assert plan_map(decision) == {VACC: (), PG: ()}


# --- skipped middle items: the nearest chosen ancestors ------------------------------------------


@pytest.mark.parametrize(
    ("region", "items", "with_bmc", "expected"),
    [
        # qinbei: the card waits for registration and enrolment.
        (
            "qinbei",
            [BMC, REG, MIE, SSC],
            False,
            {BMC: (), REG: (BMC,), MIE: (REG,), SSC: (REG, MIE)},
        ),
        # Enrolment not chosen: the card still waits for registration.
        ("qinbei", [BMC, REG, SSC], False, {BMC: (), REG: (BMC,), SSC: (REG,)}),
        # Registration not chosen: enrolment waits for the BMC, the card for enrolment only
        # (the BMC is already before enrolment).
        ("qinbei", [BMC, MIE, SSC], False, {BMC: (), MIE: (BMC,), SSC: (MIE,)}),
        # Nothing chosen before the card: it waits for no one.
        ("qinbei", [SSC], False, {SSC: ()}),
        ("qinbei", [REG, MIE, SSC], True, {REG: (), MIE: (REG,), SSC: (REG, MIE)}),
        # lanzhou: registration skipped, the card waits for the BMC.
        ("lanzhou", [BMC, SSC, MIE], False, {BMC: (), SSC: (BMC,), MIE: (BMC,)}),
        # yuanling: the chain BMC → registration → enrolment → payment.
        ("yuanling", [BMC, REG], False, {BMC: (), REG: (BMC,)}),
        ("yuanling", [BMC, PAY], False, {BMC: (), PAY: (BMC,)}),
        # jilin: the card and the enrolment each wait for registration only.
        ("jilin", [REG, SSC], False, {REG: (), SSC: (REG,)}),
        ("jilin", [MIE, PAY], False, {MIE: (), PAY: (MIE,)}),
        # fuzhou: registration waits for BMC and vaccination; a short chain ends early.
        ("fuzhou", [BMC, VACC, REG], False, {BMC: (), VACC: (), REG: (BMC, VACC)}),
        (
            "fuzhou",
            [BMC, VACC, REG, MIE],
            False,
            {BMC: (), VACC: (), REG: (BMC, VACC), MIE: (REG,)},
        ),
    ],
)
def test_nearest_chosen_ancestors(
    region: str, items: list[str], with_bmc: bool, expected: dict[str, tuple[str, ...]]
) -> None:
    decision = choose(region, items, with_bmc=with_bmc)
    assert plan_map(decision) == expected
    assert_dependency_order(decision)


def test_fuzhou_broken_chain_is_supplement_but_the_plan_still_shows_the_order() -> None:
    """Fuzhou's complete chain: the card without the insurance step is a field to fix."""
    decision = choose("fuzhou", [BMC, VACC, REG, SSC])
    assert decision.outcome is SUPPLEMENT
    assert plan_map(decision) == {BMC: (), VACC: (), REG: (BMC, VACC), SSC: (REG,)}


# --- plan for supplement and reject ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "outcome", "region"),
    [
        ("qinbei-reject-hk-father-late-applicant", REJECT, "qinbei"),
        ("qinbei-supplement-missing-materials", SUPPLEMENT, "qinbei"),
        ("lanzhou-reject-registration-after-one-month", REJECT, "lanzhou"),
        ("yuanling-reject-unnamed-divorced", REJECT, "yuanling"),
        ("jilin-reject-no-bmc-unit-collective", REJECT, "jilin"),
        ("fuzhou-reject-outside-city-invalid-id", REJECT, "fuzhou"),
    ],
)
def test_refused_cases_still_show_the_plan_of_the_chosen_items(
    name: str, outcome: object, region: str
) -> None:
    """interfaces.md: "`plan` lists the chosen items the pack offers" — for any decision.

    Nothing is dispatched for supplement or reject (decisions.md); the plan shows the
    applicant which items and order the bundle would run.
    """
    decision = check(example(name))
    assert decision.outcome is outcome
    assert rows(decision) == rows(check(accepted(region)))


# --- JSON shape -----------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_json_shape(region: str) -> None:
    body = check(accepted(region)).as_json()
    assert {"decision", "reasons", "plan", "region", "pack_version"} <= set(body)
    assert body["region"] == region
    for entry in body["plan"]:
        assert set(entry) == {"item", "department", "after", "time_limit_days", "time_limit_unit"}
        assert isinstance(entry["after"], list)
    json.dumps(body, ensure_ascii=False)


def test_reject_json_has_reasons_and_ordinary_channels() -> None:
    body = check(example("jilin-reject-no-bmc-unit-collective")).as_json()
    assert body["decision"] == "reject"
    assert [r["code"] for r in body["reasons"]] == ["bmc_missing", "collective_hukou_not_supported"]
    assert all(set(r) == {"code", "message", "detail"} for r in body["reasons"])
    assert len(body["ordinary_channels"]) == 4
    json.dumps(body, ensure_ascii=False)
