"""The counter form refuses a wrong resident ID number (issue 8, defect 6: "every ID number
the product stores or prints is checked") and text beyond the document's limits (defect 8),
next to the field, with nothing stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from onestop.cases.models import Case
from onestop.counter.tests.test_counter import JILIN, PDF, jilin_clerk, post_case
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(media_root) -> Client:
    client = Client()
    client.force_login(jilin_clerk())
    return client


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("applicant__id_number", "申请人身份证号码"),
        ("mother__id_number", "母亲身份证号码"),
        ("father__id_number", "父亲身份证号码"),
        ("birth_registration__householder_id_number", "户主身份证号码"),
    ],
)
def test_a_wrong_check_digit_is_refused_next_to_the_field(client, field, label):
    number = str(JILIN[field])
    data = {**JILIN, field: number[:-1] + ("3" if number[-1] != "3" else "4")}
    response = post_case(client, data)
    assert response.status_code == 200
    assert f"{label}：身份证号码校验位不正确" in response.content.decode()
    assert Case.objects.count() == 0


def test_a_foreign_fathers_passport_is_not_judged_by_gb_11643(client):
    data = {**JILIN, "father__residency": "foreign", "father__id_number": "E12345678"}
    data["applicant__role"] = "mother"
    data["applicant__id_number"] = JILIN["mother__id_number"]
    scan = SimpleUploadedFile("bmc.pdf", PDF, content_type="application/pdf")
    response = post_case(client, data, scan__birth_certificate=scan)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Case.objects.count() == 1


def test_text_beyond_the_document_limits_is_refused_in_the_form(client):
    tried = 0
    for field, size in (
        ("mother__name", 51),
        ("newborns__0__name", 100 * 1024),
        ("mother__hukou_address", 201),
    ):
        tried += 1
        response = post_case(client, {**JILIN, field: "阿" * size})
        assert response.status_code == 200
        assert "不超过" in response.content.decode()  # Django: 确保该变量包含不超过 N 字符
    assert Case.objects.count() == 0
    reliability_record("documents", "oversized counter form entries tried", tried)
    reliability_record("documents", "oversized counter form entries stored", Case.objects.count())


def test_a_form_body_over_one_megabyte_is_a_400_not_a_500(client):
    response = post_case(client, {**JILIN, "mother__employer": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 400
    assert Case.objects.count() == 0
