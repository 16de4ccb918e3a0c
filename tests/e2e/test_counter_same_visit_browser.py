"""Issue 11, promises 2 and 7 in a real browser: "a trustee case accepted at the Yuanling
counter with the BMC printed on the spot" (ADR 0032).

The clerk of 沅陵县人民医院's 综合窗口 enters the grandmother's application with the mother's
authorization (附件3 授权委托书) and scans the letter and the grandmother's ID card; the
case is accepted at the counter; the clerk issues the 《出生医学证明》 on the spot
(当场办理并发放), downloads its PDF (the sealed licence with the certificate number) and
records that the grandmother received it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case, Material
from onestop.certificates.models import ELicence
from onestop.core.clock import to_beijing
from onestop.reference.domain import default_reference
from onestop.reference.services import reference_seed
from onestop.testing.factories import staff
from onestop.testing.files import pdf_bytes
from onestop.workflow.models import CaseItem, ResultHandover
from tests.e2e.helpers import fill_rows, pdf_text, refreshing, staff_login

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = Path(__file__).resolve().parents[2] / "onestop" / "examples"
EXAMPLE = EXAMPLES / "yuanling-accept-trustee.json"
BMC_NUMBER = "R431200001"


def test_a_trustee_case_at_the_yuanling_counter_gets_its_bmc_on_the_spot(
    new_page, media_root, tmp_path
):
    reference_seed()
    reference = default_reference()
    document: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["delivery"]["birth_certificate"] = {"method": "pickup", "by": "mother"}
    today = to_beijing(timezone.now()).date()  # the letter is valid today
    document["authorization"]["valid_from"] = (today - timedelta(days=1)).isoformat()
    document["authorization"]["valid_to"] = (today + timedelta(days=30)).isoformat()
    trustee = document["applicant"]
    clerk = staff("clerk", kind="hospital", code="yuanling-people", name="窗口向")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_bytes())

    page = new_page()
    staff_login(page, clerk.username)
    page.goto("/counter/new/")
    for item in document["items"]:
        refreshing(page, lambda item=item: page.check(f"[name='items'][value='{item}']"))
    refreshing(page, lambda: page.check("[name='applicant_role'][value='trustee']"))
    assert page.locator("[data-section='authorization']").is_visible()
    fill_rows(page, document, reference)
    page.click("[data-refresh-button]")
    page.wait_for_load_state()
    fill_rows(page, document, reference)
    for material in document["materials"]:
        box = page.locator(f"[name='materials'][value='{material}']")
        if box.count():
            box.check()
    page.set_input_files("[name='scan__authorization_letter']", str(scan))
    page.set_input_files("[name='scan__trustee_id_card']", str(scan))
    with page.expect_navigation():
        page.click("button:has-text('提交预审')")
    errors = page.locator(".errors, .messages .error")
    assert errors.count() == 0, errors.first.inner_text()
    assert re.search(r"/counter/cases/YUANLING-\d{8}-\d{4}/$", page.url)

    case = Case.objects.get()
    assert case.status == "in_progress", case.decision["reasons"]  # accepted at the counter
    assert case.document["authorization"]["trustee"]["name"] == trustee["name"]
    scanned = Material.objects.filter(case=case, source="scan").values_list("code", flat=True)
    assert {"authorization_letter", "trustee_id_card"} <= set(scanned)
    card = page.locator("[data-authorization='holds']")
    assert trustee["name"] in card.inner_text() and "外祖父母" in card.inner_text()

    # 当场办理: the officer's result field, then the sealed licence.
    spot = page.locator("[data-spot='birth_certificate']")
    spot.locator("[name='bmc_number']").fill(BMC_NUMBER)
    with page.expect_navigation():
        spot.locator("[data-action='spot-complete']").click()
    assert CaseItem.objects.get(case=case, item="birth_certificate").state == "done"
    licence = ELicence.objects.get(case=case, kind="birth_certificate")

    # 打印《出生医学证明》: a real download, a PDF carrying the certificate number.
    with page.expect_download() as download_info:
        page.locator("[data-action='spot-print']").click()
    path = download_info.value.path()
    pdf = Path(path).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert BMC_NUMBER in text and licence.serial in text and "出生医学证明" in text

    # 当场交付 to the grandmother, her ID card checked against the case.
    spot = page.locator("[data-spot='birth_certificate']")
    spot.locator("[name='role']").select_option("trustee")
    spot.locator("[name='name']").fill(trustee["name"])
    spot.locator("[name='id_number']").fill(trustee["id_number"])
    with page.expect_navigation():
        spot.locator("[data-action='spot-handover']").click()
    assert page.locator("[data-handover='done']").is_visible()
    handover = ResultHandover.objects.get(case=case)
    assert handover.recipient_role == "trustee" and handover.handed_by_id == clerk.pk
    assert AuditRecord.objects.filter(stream=case.number, action="result_handed_over").count() == 1
