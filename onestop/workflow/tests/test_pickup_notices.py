"""Pickup notices (结果送达): when an item with a physical result is done, the parents hear
where and when to collect it, or that it was posted, by SMS and in-app message; the
timeline records it."""

from __future__ import annotations

import pytest

from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.notifications.models import Notification
from onestop.reference.models import Institution
from onestop.reference.services import reference_seed
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db


def complete(case, code: str, at: str, beijing, **result):
    row = CaseItem.objects.get(case=case, item=code)
    actor = officer(row.department, row.jurisdiction_kind, row.jurisdiction_code)
    item_complete(item_id=row.pk, actor=actor, result={**RESULTS[code], **result}, now=beijing(at))
    return row


def messages(case, code: str, channel: str = "sms") -> list[str]:
    return [
        n.body
        for n in Notification.objects.filter(
            case=case, channel=channel, dedup_key__startswith=f"case:{case.number}:{code}:done"
        )
    ]


@pytest.fixture
def qinbei(example, beijing, media_root):
    reference_seed()
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def test_bmc_pickup_notice_names_the_hospital_its_address_hours_and_first_day(qinbei, beijing):
    # Completed on Friday 2026-11-20: collectable from Monday 11-23.
    complete(qinbei, "birth_certificate", "2026-11-20T10:00:00+08:00", beijing)
    [sms] = messages(qinbei, "birth_certificate")
    assert "钦北区妇幼保健院（钦州市钦北区永福西大街28号）" in sms
    assert "2026年11月23日（星期一）" in sms
    assert "工作日 8:00–12:00，14:30–17:30" in sms
    assert "新生儿母亲" in sms
    assert messages(qinbei, "birth_certificate", "in_app") == [sms]
    entry = TimelineEntry.objects.get(case=qinbei, kind="pickup_notice", item="birth_certificate")
    assert entry.visible_to_parent
    assert "钦北区妇幼保健院" in entry.message and "2026年11月23日" in entry.message


def test_household_register_by_mail_is_posted_to_the_masked_address(qinbei, beijing):
    complete(qinbei, "birth_certificate", "2026-11-20T10:00:00+08:00", beijing)
    complete(qinbei, "birth_registration", "2026-11-23T10:00:00+08:00", beijing)
    [sms] = messages(qinbei, "birth_registration")
    assert "新生儿户口登记页已交寄" in sms
    assert "钦州市钦北区新棠镇****" in sms
    assert "新棠街12号" not in sms and "13800000000" not in sms
    entry = TimelineEntry.objects.get(case=qinbei, kind="result_mailed")
    assert "新棠街12号" not in entry.message


def test_card_pickup_at_the_chosen_bank_branch_and_vaccination_at_the_birth_hospital(
    qinbei, beijing
):
    complete(qinbei, "vaccination_certificate", "2026-11-20T10:00:00+08:00", beijing)
    [vaccination] = messages(qinbei, "vaccination_certificate")
    assert "钦北区妇幼保健院" in vaccination and "《预防接种证》" in vaccination
    complete(qinbei, "birth_certificate", "2026-11-20T10:00:00+08:00", beijing)
    complete(qinbei, "birth_registration", "2026-11-23T10:00:00+08:00", beijing)
    complete(qinbei, "medical_insurance_enrolment", "2026-11-23T11:00:00+08:00", beijing)
    complete(qinbei, "social_security_card", "2026-11-27T16:00:00+08:00", beijing)
    [card] = messages(qinbei, "social_security_card")
    assert "工商银行钦州分行营业部" in card and "社会保障卡" in card
    assert "2026年11月30日（星期一）" in card  # completed on a Friday


def test_items_without_a_physical_result_send_the_plain_done_message(qinbei, beijing):
    complete(qinbei, "parenting_guidance", "2026-11-20T10:00:00+08:00", beijing)
    [sms] = messages(qinbei, "parenting_guidance")
    assert sms.endswith("科学育儿指导服务登记已办结。")
    assert not TimelineEntry.objects.filter(case=qinbei, item="parenting_guidance").filter(
        kind__in=["pickup_notice", "result_mailed"]
    )


def test_hours_entered_by_an_administrator_are_used(qinbei, beijing):
    Institution.objects.filter(kind="hospital", code="qinbei-mch").update(
        office_hours="每天 8:00–20:00", address="钦州市钦北区示范大道1号"
    )
    reference_seed()  # a restart does not overwrite the administrator's values
    complete(qinbei, "birth_certificate", "2026-11-20T10:00:00+08:00", beijing)
    [sms] = messages(qinbei, "birth_certificate")
    assert "每天 8:00–20:00" in sms and "钦州市钦北区示范大道1号" in sms


def test_father_collecting_with_authorization_is_told_too(example, beijing, media_root):
    reference_seed()
    doc = example("qinbei-accept")
    doc["delivery"]["birth_certificate"] = {"method": "pickup", "by": "father"}
    doc["authorization"] = {
        "trustee": {"name": "覃军", "id_number": "450703199001010174", "relation": "father"},
        "items": ["birth_certificate"],
        "valid_from": "2026-11-15",
        "valid_to": "2027-11-15",
        "signed_by_mother": True,
    }
    doc["materials"].append("authorization_letter")
    case = case_submit(document=doc, actor=None, now=beijing("2026-11-20T09:30:00+08:00")).case
    assert case.status == "in_progress", case.decision
    complete(case, "birth_certificate", "2026-11-20T10:00:00+08:00", beijing)
    sms = Notification.objects.filter(
        case=case, channel="sms", dedup_key__startswith=f"case:{case.number}:birth_certificate:"
    )
    assert sms.count() == 2  # the mother (applicant) and the father who collects
    assert all("新生儿父亲" in n.body and "授权委托书" in n.body for n in sms)


def test_jilin_household_register_is_printed_at_the_service_center(example, beijing, media_root):
    reference_seed()
    case = case_submit(
        document=example("jilin-accept-counter"),
        actor=None,
        now=beijing("2026-11-20T09:30:00+08:00"),
        counter=("service_center", "jilin-sc"),
    ).case
    assert case.status == "in_progress", case.decision
    complete(case, "birth_registration", "2026-11-20T10:00:00+08:00", beijing)
    sent = messages(case, "birth_registration")
    assert len(sent) == 2  # the applicant (father) and the mother
    for sms in sent:
        assert "长春市南关区政务服务中心" in sms and "一楼综合窗口" in sms
        assert "落户方户口簿" in sms
