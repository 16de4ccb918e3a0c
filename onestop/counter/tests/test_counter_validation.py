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


# A parent who applies is not asked for their ID number twice (the applicant's is the
# parent's); a grandparent's own ID number is asked, and checked.
GRANDPARENT = {"applicant_role": "grandparent", "applicant_name": "王建国"}


@pytest.mark.parametrize(
    ("field", "label", "extra"),
    [
        ("applicant_id_number", "申请人身份证号码", GRANDPARENT),
        ("mother_id_number", "母亲身份证号码", {}),
        ("father_id_number", "父亲身份证号码", {}),
        ("birth_registration_householder_id_number", "户主身份证号码", {}),
    ],
)
def test_a_wrong_check_digit_is_refused_next_to_the_field(client, field, label, extra):
    number = str(JILIN.get(field) or "220102196005050311")
    data = {**JILIN, **extra, field: number[:-1] + ("3" if number[-1] != "3" else "4")}
    response = post_case(client, data)
    assert response.status_code == 200
    assert f"{label}：身份证号码校验位不正确" in response.content.decode()
    assert Case.objects.count() == 0


def test_a_foreign_fathers_passport_is_not_judged_by_gb_11643(client):
    data = {**JILIN, "father_residency": "foreign", "father_id_number": "E12345678"}
    data["applicant_role"] = "mother"
    scan = SimpleUploadedFile("bmc.pdf", PDF, content_type="application/pdf")
    response = post_case(client, data, scan__birth_certificate=scan)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Case.objects.count() == 1


def test_text_beyond_the_document_limits_is_refused_in_the_form(client):
    tried = 0
    for field, size in (
        ("mother_name", 51),
        ("newborns_0_name", 100 * 1024),
        ("mother_hukou_address", 201),
    ):
        tried += 1
        response = post_case(client, {**JILIN, field: "阿" * size})
        assert response.status_code == 200
        assert "不超过" in response.content.decode()  # Django: 确保该变量包含不超过 N 字符
    assert Case.objects.count() == 0
    reliability_record("documents", "oversized counter form entries tried", tried)
    reliability_record("documents", "oversized counter form entries stored", Case.objects.count())


def test_a_form_body_over_one_megabyte_is_a_400_not_a_500(client):
    response = post_case(client, {**JILIN, "mother_employer": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 400
    assert Case.objects.count() == 0
