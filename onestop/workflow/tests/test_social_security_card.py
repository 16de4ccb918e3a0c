"""The social security card (issue 11 promise 4, docs/adr/0037), through HTTP: the branch
chosen from the region's co-operating branches, the HR department's production statuses
(API and workbench), the pickup notice naming the branch, what to bring and the activation
reminder, post where the pack offers it, and one application per newborn (seed 002 (五):
未在其他渠道或省市申领社会保障卡的新生儿), with the database checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case, NewbornClaim, SscApplication, TimelineEntry
from onestop.cases.services import case_submit
from onestop.common.fields import index_of
from onestop.eligibility.tests.support import check, pairs
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.notifications.models import Notification
from onestop.reference.domain import default_reference
from onestop.reference.services import reference_seed
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer, parent
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CardProduction, CardStatus, CaseItem, ItemState
from onestop.workflow.services import item_complete, item_refuse

pytestmark = pytest.mark.django_db

SSC = "social_security_card"
BRING = "代领人本人身份证原件和新生儿户口簿原件"
ACTIVATION = "金融功能需到发卡银行网点激活"


def accepted(document: dict[str, Any]) -> Case:
    reference_seed()
    case = case_submit(document=current(document), actor=None).case
    assert case.status == "in_progress", case.decision
    return case


def work_until(case: Case, target: str) -> CaseItem:
    """The departments finish every other ready item until ``target`` is ready."""
    while True:
        row = CaseItem.objects.filter(case=case, item=target).first()
        assert row is not None
        if row.state == ItemState.READY:
            return row
        other = (
            CaseItem.objects.filter(case=case, state=ItemState.READY).exclude(item=target).first()
        )
        assert other is not None, "nothing left to work before the target"
        who = officer(other.department, other.jurisdiction_kind, other.jurisdiction_code)
        item_complete(item_id=other.pk, actor=who, result=RESULTS[other.item])


def sms_to_applicant(case: Case, words: str) -> list[str]:
    applicant = case.typed_document().applicant
    assert applicant is not None and applicant.phone
    phone = index_of(str(applicant.phone), purpose="phone")
    sent = Notification.objects.filter(case=case, channel="sms", phone_index=phone)
    return [n.body for n in sent if words in n.body]


def parent_page(case: Case) -> str:
    applicant = case.typed_document().applicant
    assert applicant is not None and applicant.phone
    client = Client()
    client.force_login(parent(str(applicant.phone)))
    response = client.get(f"/my/cases/{case.number}/")
    assert response.status_code == 200
    return response.content.decode()


def hrss_api(row: CaseItem) -> Api:
    return Api(issue("hrss", row.jurisdiction_kind, row.jurisdiction_code).token)


@pytest.fixture
def qinbei(example: Any) -> tuple[Case, CaseItem]:
    case = accepted(example("qinbei-accept"))
    return case, work_until(case, SSC)


def test_the_card_record_starts_with_the_chosen_bank_and_branch(qinbei: Any) -> None:
    _case, row = qinbei
    card = CardProduction.objects.get(item=row)
    assert card.status == CardStatus.APPLIED and card.method == "pickup"
    assert card.bank == "icbc" and card.branch_code == "qinbei-icbc-main"
    assert card.branch_name == "中国工商银行钦州分行营业部"
    detail = hrss_api(row).get(f"/tasks/{row.pk}").json()
    assert detail["card"]["branch_name"] == "中国工商银行钦州分行营业部"
    assert detail["card"]["status"] == "applied"


def test_statuses_over_the_api_reach_the_parents_and_the_pickup_notice_names_the_branch(
    qinbei: Any,
) -> None:
    case, row = qinbei
    api = hrss_api(row)
    url = f"/tasks/{row.pk}/card-status"
    assert api.post(url, {"status": "in_production"}).status_code == 200
    assert CardProduction.objects.get(item=row).status == CardStatus.IN_PRODUCTION
    [sms] = sms_to_applicant(case, "制卡中")
    assert "社会保障卡制卡中" in sms
    assert api.post(url, {"status": "made"}).status_code == 200
    # An issued card's application stands for good (the newborn cannot apply again).
    assert SscApplication.objects.filter(case=case, active=True, issued=True).exists()
    # No going back, and the final status must be the parents' choice (pickup here).
    back = api.post(url, {"status": "in_production"})
    assert back.status_code == 422 and back.json()["code"] == "card_status_invalid"
    wrong = api.post(url, {"status": "mailed", "card_number": "A45070399"})
    assert wrong.status_code == 422 and "到网点自取" in wrong.json()["message"]
    no_number = api.post(url, {"status": "at_branch"})
    assert no_number.status_code == 422 and no_number.json()["code"] == "result_invalid"
    row.refresh_from_db()
    assert row.state != ItemState.DONE
    done = api.post(url, {"status": "at_branch", "card_number": "A45070399"})
    assert done.status_code == 200, done.json()
    row.refresh_from_db()
    card = CardProduction.objects.get(item=row)
    assert row.state == ItemState.DONE and row.result["card_number"] == "A45070399"
    assert card.status == CardStatus.AT_BRANCH
    assert [h["status"] for h in card.history] == ["applied", "in_production", "made", "at_branch"]
    [notice] = sms_to_applicant(case, "领取社会保障卡")
    assert "中国工商银行钦州分行营业部" in notice and "钦州市钦北区永福东大街1号" in notice
    assert BRING in notice and ACTIVATION in notice and "请代领人" in notice
    page = parent_page(case)
    assert 'data-card-status="at_branch"' in page
    assert "社会保障卡已送达中国工商银行钦州分行营业部" in page and BRING in page
    assert ACTIVATION in page
    assert (
        AuditRecord.objects.filter(stream=case.number, action="card_status_reported").count() == 2
    )
    # 已申领 is where the record starts; 制卡中 and 已制卡 are lines of their own, 已送达网点
    # is the completion's (its audit record and pickup notice).
    assert TimelineEntry.objects.filter(case=case, kind="card_status").count() == 2
    assert TimelineEntry.objects.filter(case=case, kind="pickup_notice", item=SSC).exists()


def test_the_workbench_reports_statuses_and_another_district_cannot(qinbei: Any) -> None:
    _case, row = qinbei
    client = Client()
    client.force_login(officer("hrss", row.jurisdiction_kind, row.jurisdiction_code))
    page = client.get(f"/work/tasks/{row.pk}/").content.decode()
    assert "社会保障卡制卡进度" in page and "中国工商银行钦州分行营业部" in page
    client.post(f"/work/tasks/{row.pk}/card_status/", {"status": "in_production"})
    assert CardProduction.objects.get(item=row).status == CardStatus.IN_PRODUCTION
    response = client.post(
        f"/work/tasks/{row.pk}/card_status/", {"status": "at_branch", "card_number": "A4507031"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == ItemState.DONE
    assert CardProduction.objects.get(item=row).status == CardStatus.AT_BRANCH
    # An HR officer of another division sees nothing and changes nothing.
    stranger = Client()
    stranger.force_login(officer("hrss", "division", "620102"))
    assert stranger.get(f"/work/tasks/{row.pk}/").status_code == 404


def test_post_where_the_pack_offers_it(example: Any) -> None:
    """Fuzhou: 社会保障卡由申请人自取，或邮寄给申请人（邮递费用自理）; the parents chose post."""
    case = accepted(example("fuzhou-accept"))
    row = work_until(case, SSC)
    assert CardProduction.objects.get(item=row).method == "mail"
    api = hrss_api(row)
    at_branch = api.post(
        f"/tasks/{row.pk}/card-status", {"status": "at_branch", "card_number": "F1"}
    )
    assert at_branch.status_code == 422 and "邮寄" in at_branch.json()["message"]
    # The ordinary completion (what the simulated systems call) posts the card too.
    done = api.post(f"/tasks/{row.pk}/complete", {"result": RESULTS[SSC]})
    assert done.status_code == 200
    assert CardProduction.objects.get(item=row).status == CardStatus.MAILED
    [sms] = sms_to_applicant(case, "社会保障卡已交寄")
    assert "邮寄至" in sms and ACTIVATION in sms


def test_a_second_card_application_for_the_same_newborn_is_refused_by_any_channel(
    example: Any,
) -> None:
    """Seed 002 (五): 未在其他渠道或省市申领社会保障卡的新生儿. The first case's card was made;
    the case has since ended by a path that let its newborn go (withdrawn): a second case
    choosing the card is refused over the API with a stable code, and nothing is stored."""
    case = accepted(example("qinbei-accept"))
    row = work_until(case, SSC)
    hrss_api(row).post(f"/tasks/{row.pk}/card-status", {"status": "made"})
    Case.objects.filter(pk=case.pk).update(status="withdrawn")
    NewbornClaim.objects.filter(case=case).update(active=False, released_at=timezone.now())
    api = Api(hospital("qinbei-mch", may_submit_cases=True).token)
    cases_before = Case.objects.count()
    again = api.post("/cases", current(example("qinbei-accept")), key="second")
    assert again.status_code == 409, again.json()
    body = again.json()
    assert body["code"] == "ssc_already_applied"
    assert "已申领过社会保障卡" in body["message"] and "取消勾选" in body["message"]
    assert Case.objects.count() == cases_before
    assert {a.case_id for a in SscApplication.objects.filter(active=True)} == {case.pk}
    # Without the card the same newborn's other items are accepted.
    without = current(example("qinbei-accept"))
    without["items"] = [i for i in without["items"] if i != SSC]
    accepted_again = api.post("/cases", without, key="third")
    assert accepted_again.status_code == 201, accepted_again.json()
    assert not SscApplication.objects.filter(case__number=accepted_again.json()["number"]).exists()


def test_the_database_refuses_a_second_active_application() -> None:
    reference_seed()
    document = current(_example("qinbei-accept"))
    first = case_submit(document=document, actor=None).case
    [held] = SscApplication.objects.filter(case=first, position=0, active=True)[:1]
    other = current(another_newborn(_example("qinbei-accept"), 1))
    second = case_submit(document=other, actor=None).case
    with pytest.raises(IntegrityError), transaction.atomic():
        SscApplication.objects.create(
            case=second, position=0, key_index=held.key_index, claimed_at=timezone.now()
        )


def test_a_refused_card_lets_the_newborn_apply_again(example: Any) -> None:
    case = accepted(example("qinbei-accept"))
    row = work_until(case, SSC)
    who = officer("hrss", row.jurisdiction_kind, row.jurisdiction_code)
    item_refuse(item_id=row.pk, actor=who, reasons=["信息有误，请转线下办理"])
    assert not SscApplication.objects.filter(case=case, active=True).exists()
    assert CardProduction.objects.get(item=row).status == CardStatus.CANCELLED


def test_the_branch_must_be_the_regions_and_the_banks(example: Any) -> None:
    reference = default_reference()
    assert {b.bank for b in reference.branches_of("qinbei")} >= {"icbc", "boc", "ccb", "abc"}
    other_region = example("qinbei-accept")
    other_region["social_security_card"]["branch"] = "lanzhou-ccb-chengguan"
    other_region["social_security_card"]["bank"] = "ccb"
    assert ("field_invalid", "social_security_card.branch") in pairs(check(other_region))
    other_bank = example("qinbei-accept")
    other_bank["social_security_card"]["branch"] = "qinbei-boc-main"  # bank stays icbc
    assert ("field_invalid", "social_security_card.branch") in pairs(check(other_bank))
    fine = example("qinbei-accept")
    assert ("field_invalid", "social_security_card.branch") not in pairs(check(fine))


def _example(name: str) -> dict[str, Any]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
