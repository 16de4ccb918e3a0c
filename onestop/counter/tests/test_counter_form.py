"""The counter form is the unified form for the counter's region (issue 9, part 2): only
the region's items, pickers instead of codes, the authorization section where the pack
admits trustees, one block per newborn, and a printed form that reads as names and dates."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pypdf import PdfReader

from onestop.cases.models import Case
from onestop.counter.tests.test_counter import JILIN, PDF, jilin_clerk, post_case
from onestop.testing.factories import staff
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

# 吉林: 如新生儿父亲或母亲无法到现场办理，可委托新生儿祖父母或外祖父母，经签字授权后办理.
GRANDPARENT_TWINS = {
    **JILIN,
    "applicant_role": "grandparent",
    "applicant_name": "王建国",
    "applicant_id_number": "220102196005050311",
    "newborn_count": "2",
    "authorization_trustee_relation": "paternal_grandparent",
    "authorization_items": JILIN["items"],
    "authorization_valid_from": "2026-11-02",
    "authorization_valid_to": "2026-12-31",
    "authorization_signed_by_mother": "on",
    "newborns_1_name": "王一航",
    "newborns_1_sex": "2",
    "newborns_1_born_at": "2026-11-01 09:05",
    "newborns_1_in_hospital": "true",
    "newborns_1_record_number": "CC-2026-3322",
    "materials": [*JILIN["materials"], "trustee_id_card", "authorization_letter"],
}


def letter() -> dict[str, SimpleUploadedFile]:
    """The mother's signed letter and the grandparent's ID card, scanned at the window."""
    return {
        f"scan__{code}": SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf")
        for code in ("authorization_letter", "trustee_id_card")
    }


def values(html: str, name: str) -> set[str]:
    return set(re.findall(rf'name="{name}" value="([^"]*)"', html))


@pytest.fixture
def clerk(media_root) -> Client:
    client = Client()
    client.force_login(jilin_clerk())
    return client


def test_a_jilin_clerk_is_offered_only_jilins_items_and_applicants(clerk):
    html = clerk.get("/counter/new/").content.decode()
    # 预防接种证办理、生育医疗费用报销在助产机构实行"免申即享"; the BMC is issued before.
    assert values(html, "items") == set(JILIN["items"])
    assert values(html, "applicant_role") == {"mother", "father", "grandparent", "trustee"}
    assert "maternity" not in html and 'value="birth_certificate"' not in html.split("materials")[0]


def test_every_place_person_and_bank_is_picked_by_name_never_typed(clerk):
    html = clerk.post("/counter/new/", {**JILIN, "action": "refresh"}).content.decode()
    for name in (
        "newborns_0_hospital",
        "mother_ethnicity",
        "father_ethnicity",
        "mother_hukou_division",
        "birth_registration_police_station",
        "medical_insurance_division",
        "social_security_card_bank",
    ):
        select = re.search(rf'<select name="{name}"[^>]*>', html)
        assert select is not None and "data-picker" in select.group(0), name
        assert f'<input type="text" name="{name}"' not in html
    assert ">长春市妇产医院</option>" in html and ">汉族</option>" in html
    assert ">长春市公安局南关分局示范派出所</option>" in html
    assert "吉林省长春市南关区</option>" in html
    # Only the region's hospitals and police stations (吉林: 长春, 吉林市).
    assert "吉林市妇幼保健院" in html
    assert "钦北区妇幼保健院" not in html and "钦州市公安局钦北分局示范派出所" not in html


def test_a_refresh_lays_out_the_sections_and_keeps_the_entries(clerk):
    html = clerk.post("/counter/new/", {**GRANDPARENT_TWINS, "action": "refresh"}).content.decode()
    assert 'data-section="authorization"' in html and 'data-section="newborn_2"' in html
    assert "第2名新生儿" in html and 'value="王一航"' in html
    assert "errorlist" not in html and Case.objects.count() == 0


def test_a_grandparents_twins_case_is_accepted_at_the_counter(clerk):
    scan = SimpleUploadedFile("bmc.pdf", PDF, content_type="application/pdf")
    response = post_case(clerk, GRANDPARENT_TWINS, scan__birth_certificate=scan, **letter())
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert case.status == "in_progress", case.decision  # accepted, not 待补正
    assert case.decision["decision"] == "accept"
    document = case.document
    assert [b["name"] for b in document["newborns"]] == ["王一鸣", "王一航"]
    assert document["newborns"][1]["hospital"] == "changchun-mch"  # the first one's
    assert document["authorization"]["trustee"] == {
        "name": "王建国",
        "id_number": "220102196005050311",
        "relation": "paternal_grandparent",
    }
    assert document["applicant"]["phone"] == "13500008888"
    # One item set per newborn (多胞胎, ADR 0036): each twin's items, by newborn.
    per_baby = CaseItem.objects.filter(case=case).values_list("item", "newborn")
    assert {newborn for _, newborn in per_baby} == {0, 1}
    assert sorted(i for i, n in per_baby if n == 0) == sorted(i for i, n in per_baby if n == 1)


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, without white space (pypdf, a dependency)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())


def test_the_printed_form_reads_names_and_dates_not_codes(clerk):
    post_case(
        clerk,
        GRANDPARENT_TWINS,
        scan__birth_certificate=SimpleUploadedFile("b.pdf", PDF),
        **letter(),
    )
    case = Case.objects.get()
    flat = pdf_text(clerk.get(f"/counter/cases/{case.number}/form.pdf").content)
    for name in ("长春市妇产医院", "汉族", "长春市公安局南关分局示范派出所", "农业银行", "祖父母"):
        assert name in flat, name
    assert "2026年11月1日09:00" in flat and "2026年11月1日09:05" in flat
    assert "2026年11月2日" in flat  # the authorization's date
    assert "第2名新生儿" in flat and "授权委托" in flat
    for code in ("changchun-mch", "jilin-ps", "paternal_grandparent", "T09:00", "+08:00"):
        assert code not in flat, code


@pytest.mark.parametrize(("code", "region"), [("lanzhou-sc", "兰州"), ("fuzhou-sc", "福州")])
def test_a_clerk_where_the_pack_takes_no_counter_cases_is_told_where_to_apply(
    media_root, code, region
):
    client = Client()
    client.force_login(staff("clerk", kind="service_center", code=code))
    html = client.get("/counter/new/").content.decode()
    assert "不在本窗口受理" in html and region in html
    assert 'name="items"' not in html
    assert client.post("/counter/new/", JILIN).status_code == 200
    assert Case.objects.count() == 0
