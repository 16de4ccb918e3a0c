from __future__ import annotations

import pytest

from onestop.workflow.domain import (
    CycleError,
    GraphError,
    ItemSpec,
    PlannedItem,
    build_plan,
    missing_prerequisites,
    validate_graph,
)

from .examples import BMC, FUZHOU, MIE, MR, PG, QINBEI, REG, SSC, VACC, codes


def _after(plan: list[PlannedItem]) -> dict[str, tuple[str, ...]]:
    return {p.item: p.after for p in plan}


def test_seed_graphs_are_valid() -> None:
    validate_graph(QINBEI)
    validate_graph(FUZHOU)


def test_qinbei_full_plan() -> None:
    plan = build_plan(QINBEI, codes(QINBEI))
    assert [p.item for p in plan] == [BMC, VACC, REG, MR, MIE, SSC, PG]
    assert _after(plan) == {
        BMC: (),
        VACC: (),
        REG: (BMC,),
        MR: (REG,),
        MIE: (REG,),
        SSC: (REG, MIE),  # declared prerequisites are kept as the pack states them
        PG: (),
    }
    assert plan[3] == PlannedItem(MR, "medical_insurance", (REG,), 15)


def test_qinbei_without_insurance_enrolment_card_waits_for_registration() -> None:
    plan = build_plan(QINBEI, [BMC, REG, SSC])
    assert [p.item for p in plan] == [BMC, REG, SSC]
    assert _after(plan) == {BMC: (), REG: (BMC,), SSC: (REG,)}
    assert missing_prerequisites(QINBEI, [BMC, REG, SSC]) == {SSC: (MIE,)}


def test_fuzhou_full_plan() -> None:
    plan = build_plan(FUZHOU, codes(FUZHOU))
    assert [p.item for p in plan] == [BMC, VACC, REG, MR, MIE, SSC]
    assert _after(plan) == {
        BMC: (),
        VACC: (),
        REG: (BMC, VACC),
        MR: (REG,),
        MIE: (REG,),
        SSC: (MR, MIE),
    }


def test_fuzhou_fewer_items_end_the_chain_early() -> None:
    plan = build_plan(FUZHOU, [BMC, VACC, REG])
    assert [p.item for p in plan] == [BMC, VACC, REG]
    assert missing_prerequisites(FUZHOU, [BMC, VACC, REG]) == {}


def test_fuzhou_skipping_middle_items() -> None:
    chosen = [SSC, BMC, REG, SSC]  # order and duplicates do not matter
    plan = build_plan(FUZHOU, chosen)
    assert _after(plan) == {BMC: (), REG: (BMC,), SSC: (REG,)}
    assert missing_prerequisites(FUZHOU, chosen) == {REG: (VACC,), SSC: (MR, MIE)}


def test_brief_examples() -> None:
    offered = [ItemSpec("A", "d", ()), ItemSpec("B", "d", ("A",)), ItemSpec("C", "d", ("B", "A"))]
    assert _after(build_plan(offered, ["A", "C"])) == {"A": (), "C": ("A",)}
    assert _after(build_plan(offered, ["B", "C"])) == {"B": (), "C": ("B",)}
    assert _after(build_plan(offered, ["A", "B", "C"])) == {"A": (), "B": ("A",), "C": ("A", "B")}
    assert missing_prerequisites(offered, ["B", "C"]) == {"B": ("A",), "C": ("A",)}


def test_unknown_chosen_codes_are_ignored() -> None:
    assert [p.item for p in build_plan(QINBEI, [PG, "no_such_item"])] == [PG]
    assert build_plan(QINBEI, []) == []


def test_ties_follow_the_offered_order_among_chosen_items() -> None:
    # Y (unchosen, offered last) is A's prerequisite: A still comes first among the chosen.
    offered = [ItemSpec("A", "d", ("Y",)), ItemSpec("B", "d", ()), ItemSpec("Y", "d", ())]
    assert [p.item for p in build_plan(offered, ["B", "A"])] == ["A", "B"]
    reordered = [offered[1], offered[0], offered[2]]
    assert [p.item for p in build_plan(reordered, ["A", "B"])] == ["B", "A"]


def test_after_is_ordered_by_offered_order() -> None:
    offered = [ItemSpec("Z", "d"), ItemSpec("A", "d"), ItemSpec("M", "d", ("A", "Z"))]
    assert build_plan(offered, ["A", "Z", "M"])[2].after == ("Z", "A")


@pytest.mark.parametrize(
    ("offered", "named"),
    [
        ([ItemSpec("A", "d"), ItemSpec("A", "d")], ["A"]),
        ([ItemSpec("A", "d", ("X",))], ["A", "X"]),
        ([ItemSpec("A", "d", ("A",))], ["A"]),
        ([ItemSpec("A", "d", (), -1)], ["A"]),
        ([ItemSpec("", "d")], [""]),
    ],
)
def test_malformed_graphs(offered: list[ItemSpec], named: list[str]) -> None:
    with pytest.raises(GraphError) as caught:
        validate_graph(offered)
    assert isinstance(caught.value, ValueError)
    assert caught.value.items == tuple(named)
    for code in named:
        assert code in str(caught.value)


def test_cycle_is_named() -> None:
    offered = [
        ItemSpec("free", "d"),
        ItemSpec("a", "d", ("c",)),
        ItemSpec("b", "d", ("a",)),
        ItemSpec("c", "d", ("b",)),
    ]
    with pytest.raises(CycleError) as caught:
        validate_graph(offered)
    assert set(caught.value.items) == {"a", "b", "c"}
    assert "→" in str(caught.value)
    with pytest.raises(CycleError):
        build_plan(offered, ["free"])


def _steps(plan: list[PlannedItem]) -> list[list[str]]:
    from onestop.workflow.domain.plan import stages

    return stages([(p.item, p.after) for p in plan])


def test_qinbei_steps_as_the_parents_see_them() -> None:
    # Seed 002 (regions.md): BMC → registration → {insurance, reimbursement, SSC}; SSC also
    # waits for the insurance enrolment; vaccination and guidance alongside the first step.
    assert _steps(build_plan(QINBEI, codes(QINBEI))) == [[BMC, VACC, PG], [REG], [MR, MIE], [SSC]]


def test_fuzhou_steps_and_a_chain_ended_early() -> None:
    assert _steps(build_plan(FUZHOU, codes(FUZHOU))) == [[BMC, VACC], [REG], [MR, MIE], [SSC]]
    assert _steps(build_plan(FUZHOU, [BMC, VACC])) == [[BMC, VACC]]


def test_a_prerequisite_outside_the_case_does_not_hold_an_item_back() -> None:
    from onestop.workflow.domain.plan import stages

    # Jilin: the birth certificate was issued before; registration is the first step.
    assert stages([(REG, (BMC,)), (MIE, (REG,)), (SSC, (REG,))]) == [[REG], [MIE, SSC]]
    assert stages([]) == []
