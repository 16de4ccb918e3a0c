"""The item lifecycle on a real database: dispatch order, clocks, returns, refusals, races."""

from __future__ import annotations

import pytest

from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import case_submit
from onestop.notifications.models import Notification
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import (
    NotPermitted,
    TaskConflict,
    item_claim,
    item_complete,
    item_refuse,
    item_return,
)

pytestmark = pytest.mark.django_db


def states(case: Case) -> dict[str, str]:
    return {i.item: i.state for i in CaseItem.objects.filter(case=case)}


def officer_for(item: CaseItem):
    return officer(item.department, item.jurisdiction_kind, item.jurisdiction_code)


def test_accepted_qinbei_case_dispatches_items_without_prerequisites(example, beijing, media_root):
    submitted = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    )
    case = submitted.case
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.number == "QINBEI-20261120-0001"
    assert states(case) == {
        "birth_certificate": "ready",
        "vaccination_certificate": "ready",
        "birth_registration": "waiting",
        "maternity_reimbursement": "waiting",
        "medical_insurance_enrolment": "waiting",
        "social_security_card": "waiting",
        "parenting_guidance": "ready",
    }
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    # 出生医学证明签发办结时限为1个工作日: Friday 2026-11-20 → end of Monday 11-23.
    assert bmc.due_at == beijing("2026-11-23T23:59:59+08:00")
    assert bmc.jurisdiction_code == "qinbei-mch"
    assert Notification.objects.filter(case=case).count() == 2  # SMS + in-app to the mother


def test_accepted_items_are_written_as_they_start(example, beijing, media_root):
    # Session 28 (h-submit): the plan's rows are inserted as they start — the readied ones
    # ready (one version on from a new row's 1), received now and due — in plan order,
    # where they were inserted waiting and the readied ones then updated: the same rows.
    now = beijing("2026-11-20T09:30:00+08:00")
    case = case_submit(document=example("qinbei-accept"), actor=None, now=now).case
    rows = list(CaseItem.objects.filter(case=case).order_by("pk"))
    assert [r.position for r in rows] == list(range(len(rows)))
    assert rows[0].item == "birth_certificate" and rows[0].due_at is not None
    for row in rows:
        readied = row.state == ItemState.READY
        assert row.version == (2 if readied else 1), row.item
        assert row.received_at == (now if readied else None), row.item
        if not readied:  # (a ready item without a time limit has no due time: 育儿指导)
            assert row.due_at is None, row.item
        assert not row.due_provisional and row.claimed_at is None and row.finished_at is None


def test_whole_qinbei_case_runs_to_completion(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    now = beijing("2026-11-20T10:00:00+08:00")
    for _ in range(10):
        ready = list(CaseItem.objects.filter(case=case, state=ItemState.READY))
        if not ready:
            break
        for item in ready:
            item_complete(
                item_id=item.pk, actor=officer_for(item), result=RESULTS[item.item], now=now
            )
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert set(states(case).values()) == {"done"}
    assert case.elicences.count() == 7


def test_refusal_cancels_exactly_the_dependents(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    now = beijing("2026-11-20T10:00:00+08:00")
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=bmc.pk, actor=officer_for(bmc), result=RESULTS["birth_certificate"], now=now
    )
    reg = CaseItem.objects.get(case=case, item="birth_registration")
    item_refuse(item_id=reg.pk, actor=officer_for(reg), reasons=["户籍信息核验不一致"], now=now)
    assert states(case) == {
        "birth_certificate": "done",
        "vaccination_certificate": "ready",
        "birth_registration": "refused",
        "maternity_reimbursement": "cancelled",
        "medical_insurance_enrolment": "cancelled",
        "social_security_card": "cancelled",
        "parenting_guidance": "ready",
    }
    last = Notification.objects.filter(case=case, channel="sms").order_by("-pk").first()
    assert last is not None
    body = last.body
    assert "不予办理" in body and "原渠道" in body


def test_return_pauses_and_supplement_resumes_the_clock(example, beijing, media_root):
    from onestop.cases.services import case_supplement

    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    assert bmc.due_at == beijing("2026-11-23T23:59:59+08:00")
    item_return(
        item_id=bmc.pk,
        actor=officer_for(bmc),
        reasons=["产时记录页不清晰"],
        now=beijing("2026-11-20T11:00:00+08:00"),
    )
    bmc.refresh_from_db()
    assert bmc.state == ItemState.RETURNED
    # The applicant answers the following Wednesday: three working days (Mon–Wed) passed.
    case_supplement(case_id=case.pk, actor=None, now=beijing("2026-11-25T15:00:00+08:00"))
    bmc.refresh_from_db()
    assert bmc.state == ItemState.READY
    assert bmc.due_at == beijing("2026-11-26T23:59:59+08:00")
    assert len(bmc.pauses) == 1


def test_two_officers_one_task_exactly_one_wins(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    first, second = officer_for(bmc), officer_for(bmc)
    item_claim(item_id=bmc.pk, actor=first, expected_version=bmc.version)
    with pytest.raises(TaskConflict) as lost:
        item_claim(item_id=bmc.pk, actor=second, expected_version=bmc.version)
    assert "刷新" in lost.value.message or "领取" in lost.value.message
    with pytest.raises(TaskConflict):
        item_complete(item_id=bmc.pk, actor=second, result=RESULTS["birth_certificate"])


def test_officer_of_another_station_cannot_act(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    stranger = officer("hospital", "hospital", "qinbei-people")
    with pytest.raises(NotPermitted):
        item_complete(item_id=bmc.pk, actor=stranger, result=RESULTS["birth_certificate"])
