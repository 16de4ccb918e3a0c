"""A case for twins (多胞胎, issue 11 promise 8, ADR 0036) on a real database: one item set
per newborn, dependencies per baby, one e-licence per baby naming it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

PER_NEWBORN = [
    "birth_certificate",
    "vaccination_certificate",
    "birth_registration",
    "social_security_card",
    "medical_insurance_enrolment",
]


def twins(document: dict[str, Any]) -> dict[str, Any]:
    """The example's baby and a twin sister born twelve minutes later."""
    first = document["newborns"][0]
    second = copy.deepcopy(first)
    second.update(
        name="覃沐晴", sex="2", born_at="2026-11-10T08:32:00+08:00", record_number="ZY2026-11-0043"
    )
    document["newborns"] = [first, second]
    document["maternity"]["plurality"] = 2
    return document


def officer_for(item: CaseItem):
    return officer(item.department, item.jurisdiction_kind, item.jurisdiction_code)


def states(case: Case) -> dict[tuple[str, int], str]:
    return {(i.item, i.newborn): i.state for i in CaseItem.objects.filter(case=case)}


def submit(example, beijing) -> Case:
    submitted = case_submit(
        document=twins(example("qinbei-accept")),
        actor=None,
        now=beijing("2026-11-20T09:30:00+08:00"),
    )
    assert submitted.case.status == CaseStatus.IN_PROGRESS
    return submitted.case


def test_twins_case_creates_one_item_set_per_newborn(example, beijing, media_root):
    case = submit(example, beijing)
    found = states(case)
    for code in PER_NEWBORN:
        assert (code, 0) in found and (code, 1) in found
    # The mother's reimbursement and the parenting guidance: once for the case.
    assert [k for k in found if k[0] == "maternity_reimbursement"] == [
        ("maternity_reimbursement", 0)
    ]
    assert [k for k in found if k[0] == "parenting_guidance"] == [("parenting_guidance", 0)]
    assert len(found) == 2 * len(PER_NEWBORN) + 2
    assert found[("birth_certificate", 1)] == ItemState.READY
    assert found[("birth_registration", 1)] == ItemState.WAITING


def test_baby_two_registration_waits_for_baby_two_certificate(example, beijing, media_root):
    case = submit(example, beijing)
    now = beijing("2026-11-20T10:00:00+08:00")
    second = CaseItem.objects.get(case=case, item="birth_certificate", newborn=1)
    item_complete(
        item_id=second.pk, actor=officer_for(second), result=RESULTS["birth_certificate"], now=now
    )
    found = states(case)
    assert found[("birth_registration", 1)] == ItemState.READY
    assert found[("birth_registration", 0)] == ItemState.WAITING
    # The timeline names the baby, never a key or an index.
    lines = list(case.timeline.values_list("message", flat=True))
    assert any("出生医学证明" in m and "第二个孩子" in m for m in lines)
    assert not any("birth_certificate" in m or "newborn" in m for m in lines)


def test_twins_run_to_completion_with_one_elicence_per_newborn(example, beijing, media_root):
    case = submit(example, beijing)
    now = beijing("2026-11-20T10:00:00+08:00")
    bmc_numbers = iter(["Q000000011", "Q000000012"])
    for _ in range(12):
        ready = list(CaseItem.objects.filter(case=case, state=ItemState.READY))
        if not ready:
            break
        for item in ready:
            result = dict(RESULTS[item.item])
            if item.item == "birth_certificate":
                result["bmc_number"] = next(bmc_numbers)
            item_complete(item_id=item.pk, actor=officer_for(item), result=result, now=now)
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert set(states(case).values()) == {"done"}
    assert case.elicences.count() == 2 * len(PER_NEWBORN) + 2
    certificates = ELicence.objects.filter(case=case, kind="birth_certificate").order_by(
        "item__newborn"
    )
    assert [len(c.payload["subject"]["newborns"]) for c in certificates] == [1, 1]
    assert [c.payload["subject"]["newborns"][0]["name"] for c in certificates] == [
        "覃沐阳",
        "覃沐晴",
    ]
    assert certificates[0].serial != certificates[1].serial
    # The mother's reimbursement names both babies.
    reimbursement = ELicence.objects.get(case=case, kind="maternity_reimbursement")
    assert len(reimbursement.payload["subject"]["newborns"]) == 2


def test_each_twin_is_claimed_so_neither_can_be_filed_again(example, beijing, media_root):
    """ADR 0015 (one newborn, one active case) for each baby of the case."""
    from onestop.cases.claims import DuplicateNewborn
    from onestop.cases.models import NewbornClaim

    case = submit(example, beijing)
    assert set(NewbornClaim.objects.filter(case=case).values_list("position", flat=True)) == {0, 1}
    again = example("qinbei-accept")
    sister = twins(copy.deepcopy(again))["newborns"][1]
    again["newborns"] = [sister]  # the second twin alone, as another application
    with pytest.raises(DuplicateNewborn):
        case_submit(document=again, actor=None, now=beijing("2026-11-21T09:30:00+08:00"))
    assert Case.objects.count() == 1
