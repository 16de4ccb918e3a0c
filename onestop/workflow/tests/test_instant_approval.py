"""秒批: Fuzhou's birth certificate is approved by the platform when the hospital's delivery
record verifies the application (seed 003: "自动调取产妇分娩信息进行核对。核对一致的，生成
《出生医学证明》"); otherwise it stays with the hospital's officer, with a note why."""

from __future__ import annotations

import re

import pytest

from onestop.audit.models import AuditRecord
from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.hospitals.services import delivery_record_upsert
from onestop.policy.loader import default_packs
from onestop.testing.preview import preview_sign
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

SUBMITTED = "2026-11-19T11:05:00+08:00"


def record_for(document, **changes):
    baby, mother = document["newborns"][0], document["mother"]
    data = {"born_at": baby["born_at"], "sex": baby["sex"], "weight_g": baby["weight_g"]}
    data.update(changes)
    delivery_record_upsert(
        hospital=baby["hospital"],
        record_number=baby["record_number"],
        mother_id_number=mother["id_number"],
        data=data,
    )


def submit(document, beijing):
    case = case_submit(document=document, actor=None, now=beijing(SUBMITTED)).case
    assert case.status == "in_progress", case.decision
    # the BMC waits for the applicant's signature on the previews (ADR 0035); twins: each
    # baby's BMC waits, and the one signature releases them all (ADR 0036)
    bmcs = CaseItem.objects.filter(case=case, item="birth_certificate")
    assert {(r.state, r.awaiting_confirmation) for r in bmcs} == {("waiting", "preview")}
    preview_sign(case, now=beijing(SUBMITTED))
    return case, {i.key: i for i in CaseItem.objects.filter(case=case)}


def test_the_fuzhou_pack_cites_the_seed_for_instant_approval():
    pack = default_packs().current("fuzhou")
    assert pack is not None
    entry = pack.item("birth_certificate")
    assert entry is not None and entry.instant_approval is not None
    assert entry.instant_approval.when == "delivery_record_matches"
    assert "自动调取产妇分娩信息进行核对" in entry.instant_approval.cite
    assert all(e.instant_approval is None for e in pack.items if e.item != "birth_certificate")


def test_a_matching_delivery_record_completes_the_bmc_without_a_human(example, beijing, media_root):
    document = example("fuzhou-accept")
    # the hospital's system records the time to the second; the form to the minute
    record_for(document, born_at="2026-10-02T13:30:20+08:00")
    case, items = submit(document, beijing)
    bmc = items["birth_certificate"]
    assert bmc.state == "done"
    assert bmc.automatic and bmc.claimed_by is None
    assert bmc.finished_at == beijing(SUBMITTED)
    assert re.fullmatch(r"[A-Z]\d{9}", bmc.result["bmc_number"])
    assert bmc.result["bmc_number"] == f"F{case.pk:09d}"
    assert bmc.elicences.get().kind == "birth_certificate"
    # the vaccination certificate is still the hospital's work, so registration waits
    assert items["vaccination_certificate"].state == "ready"
    assert items["birth_registration"].state == "waiting"
    reason = TimelineEntry.objects.get(case=case, kind="automatic", item="birth_certificate")
    assert reason.visible_to_parent
    assert reason.message.startswith("《出生医学证明》办理（首签）秒批：")
    assert "核对一致，自动签发" in reason.message
    assert bmc.result["bmc_number"] in reason.message
    assert AuditRecord.objects.filter(
        stream=case.number, action="item_completed_instantly", object_id="birth_certificate"
    ).exists()
    assert not TimelineEntry.objects.filter(case=case, kind="instant_declined").exists()


def test_without_a_delivery_record_the_officer_does_it_and_staff_see_why(
    example, beijing, media_root
):
    case, items = submit(example("fuzhou-accept"), beijing)
    bmc = items["birth_certificate"]
    assert bmc.state == "ready" and not bmc.automatic
    note = TimelineEntry.objects.get(case=case, kind="instant_declined")
    assert not note.visible_to_parent
    assert "未能秒批" in note.message and "未找到" in note.message and "人工办理" in note.message
    assert not TimelineEntry.objects.filter(case=case, kind="automatic").exists()


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"sex": "1"}, "性别"),
        ({"born_at": "2026-10-02T15:30:00+08:00"}, "出生时间"),
    ],
)
def test_a_record_that_disagrees_leaves_it_to_the_officer(
    example, beijing, media_root, changes, why
):
    document = example("fuzhou-accept")
    record_for(document, **changes)
    case, items = submit(document, beijing)
    assert items["birth_certificate"].state == "ready"
    note = TimelineEntry.objects.get(case=case, kind="instant_declined")
    assert why in note.message


def test_a_record_of_another_mother_does_not_verify(example, beijing, media_root):
    document = example("fuzhou-accept")
    record_for(document)
    document["mother"]["id_number"] = "350102199001010016"
    document["applicant"]["id_number"] = "350102199001010016"
    case = case_submit(document=document, actor=None, now=beijing(SUBMITTED)).case
    assert case.status == "in_progress", case.decision
    preview_sign(case, now=beijing(SUBMITTED))
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    assert bmc.state == "ready"


def test_packs_without_instant_approval_are_unchanged(example, beijing, media_root):
    document = example("qinbei-accept")
    record_for(document)
    case = case_submit(document=document, actor=None, now=beijing("2026-11-20T09:30:00+08:00")).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    assert bmc.state == "ready" and not bmc.automatic
    assert not TimelineEntry.objects.filter(case=case, kind="instant_declined").exists()


def test_instant_approval_is_defined_for_the_birth_certificate_only():
    from pydantic import ValidationError

    from onestop.policy.schema import ItemEntry

    with pytest.raises(ValidationError, match="birth_certificate only"):
        ItemEntry.model_validate(
            {
                "item": "vaccination_certificate",
                "department": "hospital",
                "time_limit": {"days": 1},
                "instant_approval": {"when": "delivery_record_matches", "cite": "自动调取"},
                "ordinary_channel": "到接种单位办理",
                "cite": "在规定时限内办理",
            }
        )


def test_twins_each_certificate_is_checked_against_its_own_delivery_record(
    example, beijing, media_root
):
    """多胞胎 (ADR 0036): each baby's certificate is checked against that baby's record;
    one that does not verify stays with the officer, the other is issued."""
    import copy

    document = example("fuzhou-accept")
    second = copy.deepcopy(document["newborns"][0])
    second.update(name="林二", record_number=second["record_number"] + "B")
    document["newborns"].append(second)
    document.setdefault("maternity", {})
    if isinstance(document["maternity"], dict):
        document["maternity"]["plurality"] = 2
    record_for(document)  # the first baby's record only
    case, _ = submit(document, beijing)
    first, twin = CaseItem.objects.filter(case=case, item="birth_certificate").order_by("newborn")
    assert first.state == "done" and first.automatic
    assert twin.state == "ready" and not twin.automatic
    note = TimelineEntry.objects.get(case=case, kind="instant_declined").message
    assert "第二个孩子" in note
    assert re.fullmatch(r"[A-Z]\d{9}", first.result["bmc_number"])


def test_twins_both_verified_get_two_different_numbers(example, beijing, media_root):
    import copy

    document = example("fuzhou-accept")
    second = copy.deepcopy(document["newborns"][0])
    second.update(name="林二", record_number=second["record_number"] + "B")
    document["newborns"].append(second)
    record_for(document)
    delivery_record_upsert(
        hospital=second["hospital"],
        record_number=second["record_number"],
        mother_id_number=document["mother"]["id_number"],
        data={"born_at": second["born_at"], "sex": second["sex"]},
    )
    case, _ = submit(document, beijing)
    rows = list(CaseItem.objects.filter(case=case, item="birth_certificate").order_by("newborn"))
    assert [r.state for r in rows] == ["done", "done"]
    numbers = [r.result["bmc_number"] for r in rows]
    assert len(set(numbers)) == 2
    assert all(re.fullmatch(r"[A-Z]\d{9}", n) for n in numbers)
