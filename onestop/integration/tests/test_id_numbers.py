"""Issue 8, defect 6: "A newborn's citizen ID number with a wrong check digit was accepted
and printed on an e-licence (620102202611220015). Every ID number the product stores or
prints is checked." Driven through the integration API the way the police's system did it,
and through the workbench form the way an officer would."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.core.clock import parse_time
from onestop.integration.tests.support import Api, issue
from onestop.testing.factories import SAMPLE_RESULTS, officer
from onestop.testing.reliability import reliability_record
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

BAD = "620102202611220015"  # the reported number: wrong check digit
GOOD = "620102202611220010"  # the same boy, born 2026-11-22 in Chengguan, check digit right


@pytest.fixture
def police_task(example, media_root) -> CaseItem:
    """A Lanzhou case of a boy born on 2026-11-22 whose hukou registration is ready."""
    document = example("lanzhou-accept")
    document["newborns"][0].update(sex="1", born_at="2026-11-22T08:20:00+08:00")
    document["submitted_at"] = "2026-11-24T10:00:00+08:00"
    case = case_submit(
        document=document, actor=None, now=parse_time("2026-11-24T10:00:00+08:00")
    ).case
    assert case.status == "in_progress", case.decision
    for _ in range(10):
        ready = CaseItem.objects.filter(case=case, state=ItemState.READY).exclude(
            item="birth_registration"
        )
        row = ready.first()
        if row is None or CaseItem.objects.get(case=case, item="birth_registration").state == (
            ItemState.READY
        ):
            break
        item_complete(item_id=row.pk, actor=None, result=SAMPLE_RESULTS[row.item])
    task = CaseItem.objects.get(case=case, item="birth_registration")
    assert task.state == ItemState.READY
    return task


def _complete(api: Api, task: CaseItem, citizen_id: str, key: str) -> Any:
    result = {"hukou_entry": "HK620102-0001", "citizen_id_number": citizen_id}
    return api.post(f"/tasks/{task.pk}/complete", {"result": result}, key=key)


def test_api_complete_with_a_wrong_check_digit_is_refused_and_nothing_is_issued(police_task):
    api = Api(issue("police", "police_station", police_task.jurisdiction_code).token)
    tried = accepted = 0
    wrong = [
        BAD,
        "620102202611320011",  # 32 November
        "000000202611220010",  # no province
        "620102202611230019",  # valid, but not the newborn's birth date
        "620102202611220002",  # valid date, but a girl's order code for a boy
    ]
    for number in wrong:
        tried += 1
        response = _complete(api, police_task, number, key=f"bad-{number}")
        assert response.status_code == 422, response.content
        body = response.json()
        assert body["code"] == "invalid_id_number"
        assert body["problems"][0]["field"] == "citizen_id_number"
        assert "新生儿公民身份号码" in body["message"]
        accepted += response.status_code < 300
    police_task.refresh_from_db()
    assert police_task.state == ItemState.READY and not police_task.result
    assert not ELicence.objects.filter(item=police_task).exists()
    reliability_record("id numbers", "wrong citizen ID numbers sent to the API complete", tried)
    reliability_record("id numbers", "wrong citizen ID numbers accepted by the API", accepted)

    done = _complete(api, police_task, GOOD.lower()[:-1] + GOOD[-1], key="good")
    assert done.status_code == 200, done.content
    licence = ELicence.objects.get(item=police_task)
    assert licence.payload["result"]["citizen_id_number"] == GOOD
    police_task.refresh_from_db()
    assert police_task.result["citizen_id_number"] == GOOD


def test_api_refuses_unknown_result_fields_and_oversized_text(police_task):
    api = Api(issue("police", "police_station", police_task.jurisdiction_code).token)
    unknown = api.post(
        f"/tasks/{police_task.pk}/complete",
        {"result": {"hukou_entry": "HK620102-0001", "citizen_id": GOOD}},
        key="u",
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_field"
    assert unknown.json()["problems"][0]["field"] == "citizen_id"
    extra = api.post(f"/tasks/{police_task.pk}/claim", {"expected_version": 1, "x": 1})
    assert extra.status_code == 422 and extra.json()["code"] == "invalid_request"
    for reasons in (["x" * 501], ["a\x00b"], ["ok"] * 21):
        response = api.post(f"/tasks/{police_task.pk}/refuse", {"reasons": reasons})
        assert response.status_code == 422, reasons
    police_task.refresh_from_db()
    assert police_task.state == ItemState.READY


def test_workbench_form_refuses_a_wrong_citizen_id_and_accepts_the_right_one(police_task):
    client = Client()
    client.force_login(officer("police", "police_station", police_task.jurisdiction_code))
    url = f"/work/tasks/{police_task.pk}/complete/"
    page = client.post(url, {"hukou_entry": "HK620102-0001", "citizen_id_number": BAD}, follow=True)
    assert "新生儿公民身份号码：身份证号码校验位不正确" in page.content.decode()
    police_task.refresh_from_db()
    assert police_task.state == ItemState.READY
    assert not ELicence.objects.filter(item=police_task).exists()
    reliability_record("id numbers", "wrong citizen ID numbers entered in the workbench", 1)
    reliability_record("id numbers", "wrong citizen ID numbers accepted by the workbench", 0)

    # NUL in a form value and overlong reasons: a clear message, never a 500. Control
    # characters are refused for the whole request before any view (ADR 0018): 400 with a
    # Chinese page, and nothing changes.
    nul = client.post(url, {"hukou_entry": "HK620102-0001", "citizen_id_number": "6\x00"})
    assert nul.status_code == 400
    assert "无法识别的字符" in nul.content.decode()
    returned = client.post(f"/work/tasks/{police_task.pk}/return/", {"reasons": "x" * 600})
    assert returned.status_code == 302
    police_task.refresh_from_db()
    assert police_task.state == ItemState.READY

    done = client.post(url, {"hukou_entry": "HK620102-0001", "citizen_id_number": GOOD})
    assert done.status_code == 302
    licence = ELicence.objects.get(item=police_task)
    assert licence.payload["result"]["citizen_id_number"] == GOOD
    pdf = client.get(f"/work/elicences/{licence.serial}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert BAD not in text
    assert Case.objects.count() == 1
