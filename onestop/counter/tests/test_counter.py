"""一窗受理 at the counter, including Jilin's flow: BMC already issued, service-center desk."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from onestop.cases.models import Case, Material
from onestop.testing.factories import staff
from onestop.testing.files import pdf_bytes
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

JILIN = {
    "region": "jilin",
    "items": [
        "birth_registration",
        "medical_insurance_enrolment",
        "medical_insurance_payment",
        "social_security_card",
    ],
    "materials": ["mother_id_card", "father_id_card", "household_register", "marriage_certificate"],
    "applicant_role": "father",
    "applicant_phone": "13500008888",
    "marital_status": "married",
    "mother_name": "赵娜",
    "mother_id_number": "220102199303030283",
    "mother_residency": "mainland",
    "mother_ethnicity": "01",
    "mother_phone": "13500009999",
    "mother_hukou_division": "220102",
    "mother_hukou_address": "长春市南关区人民大街500号",
    "mother_marriage_certificate": "J220102-2020-002020",
    "father_name": "王磊",
    "father_id_number": "220102199212120312",
    "father_residency": "mainland",
    "father_ethnicity": "01",
    "father_phone": "13500008888",
    "father_hukou_division": "220102",
    "father_hukou_address": "长春市南关区人民大街500号",
    "father_marriage_certificate": "J220102-2020-002020",
    "newborns_0_name": "王一鸣",
    "newborns_0_sex": "1",
    "newborns_0_born_at": "2026-11-01 09:00",
    "newborns_0_hospital": "changchun-mch",
    "newborns_0_in_hospital": "true",
    "newborns_0_record_number": "CC-2026-3321",
    "birth_registration_follows": "father",
    "birth_registration_police_station": "jilin-ps",
    "birth_registration_hukou_type": "family",
    "birth_registration_householder_name": "王磊",
    "birth_registration_householder_id_number": "220102199212120312",
    "birth_registration_relation_to_householder": "子",
    "birth_registration_address": "长春市南关区人民大街500号",
    "birth_registration_bmc_number": "W220112345",
    "medical_insurance_division": "220102",
    "medical_insurance_year": "current",
    "medical_insurance_payment_channel": "bank_card",
    "social_security_card_bank": "abc",
    "social_security_card_branch": "jilin-abc-nanguan",
    "delivery_household_register_method": "pickup",
    "delivery_social_security_card_method": "pickup",
}

PDF = pdf_bytes()


def jilin_clerk():
    return staff("clerk", kind="service_center", code="jilin-sc", name="窗口刘")


def post_case(client: Client, data: Mapping[str, object], **files):
    return client.post("/counter/new/", {**data, **files})


def test_jilin_counter_case_with_issued_bmc_is_accepted(media_root):
    client = Client()
    client.force_login(jilin_clerk())
    scan = SimpleUploadedFile("bmc.pdf", PDF, content_type="application/pdf")
    response = post_case(client, JILIN, scan__birth_certificate=scan)
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get()
    assert case.channel == "counter" and case.counter_code == "jilin-sc"
    assert case.status == "in_progress", case.decision
    assert case.clerk is not None
    # 户口登记当场办结: birth registration is dispatched at once, with no BMC item.
    items = {i.item: i.state for i in CaseItem.objects.filter(case=case)}
    assert items["birth_registration"] == "ready"
    assert "birth_certificate" not in items
    scanned = Material.objects.get(case=case, code="birth_certificate")
    assert scanned.content_type == "application/pdf" and scanned.file
    page = client.get(f"/counter/cases/{case.number}/")
    assert page.status_code == 200


def test_missing_bmc_at_the_jilin_counter_is_rejected_with_the_reason(media_root):
    client = Client()
    client.force_login(jilin_clerk())
    data = {**JILIN, "birth_registration_bmc_number": ""}
    assert post_case(client, data).status_code == 302
    case = Case.objects.get()
    assert case.status == "rejected"
    assert "bmc_missing" in [r["code"] for r in case.decision["reasons"]]
    text = client.get(f"/counter/cases/{case.number}/").content.decode()
    assert "出生医学证明" in text


def test_a_fake_scan_is_refused_and_nothing_is_stored(media_root):
    client = Client()
    client.force_login(jilin_clerk())
    fake = SimpleUploadedFile("bmc.pdf", b"just text", content_type="application/pdf")
    response = post_case(client, JILIN, scan__birth_certificate=fake)
    assert response.status_code == 200
    assert "只能上传" in response.content.decode()
    assert Case.objects.count() == 0
    # The clerk's entries are still in the form.
    assert "王一鸣" in response.content.decode()


def test_the_clerk_prints_the_filled_form_and_notice(media_root):
    client = Client()
    client.force_login(jilin_clerk())
    post_case(client, JILIN, scan__birth_certificate=SimpleUploadedFile("b.pdf", PDF))
    case = Case.objects.get()
    form = client.get(f"/counter/cases/{case.number}/form.pdf")
    notice = client.get(f"/counter/cases/{case.number}/notice.pdf")
    assert form.status_code == notice.status_code == 200
    assert form.content.startswith(b"%PDF-") and notice.content.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=form.content, capture_output=True, check=True
        ).stdout.decode()
        flat = "".join(text.split())
        assert "联办申请表" in flat and "王一鸣" in flat and "母亲签名" in flat


def test_another_counter_cannot_open_the_case(media_root):
    client = Client()
    client.force_login(jilin_clerk())
    post_case(client, JILIN, scan__birth_certificate=SimpleUploadedFile("b.pdf", PDF))
    case = Case.objects.get()
    other = Client()
    other.force_login(staff("clerk", kind="hospital", code="qinbei-mch"))
    for url in ("", "form.pdf", "notice.pdf"):
        assert other.get(f"/counter/cases/{case.number}/{url}").status_code == 404
    officer = Client()
    officer.force_login(
        staff("officer", department="police", kind="police_station", code="jilin-ps")
    )
    assert officer.get("/counter/").status_code == 404
