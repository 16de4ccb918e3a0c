"""Twins (多胞胎, issue 11 promise 8, ADR 0036) through a real browser: a clerk enters twins at
the Qinbei hospital counter; the case runs one item set per newborn; the hospital's officer
sees which baby each certificate is for and issues both; the mother's progress page shows
two item sets, each named by its baby, and two birth-certificate e-licences, each of which
verifies on the public page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onestop.cases.models import Case
from onestop.certificates.models import ELicence
from onestop.reference.domain import default_reference
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer, staff
from onestop.testing.files import pdf_bytes
from onestop.workflow.models import CaseItem
from tests.e2e.helpers import fill_rows, refreshing, staff_login
from tests.e2e.test_counter_regions_browser import example
from tests.e2e.test_qinbei_full_browser import parent_login

pytestmark = pytest.mark.django_db(transaction=True)

PER_NEWBORN = ("birth_certificate", "vaccination_certificate", "birth_registration")


def test_twins_at_the_counter_two_item_sets_and_two_certificates(
    new_page, media_root, tmp_path: Path
):
    reference_seed()
    reference = default_reference()
    document = example("qinbei")  # the example's baby and a twin (another record number)
    first, second = (baby["name"] for baby in document["newborns"])
    clerk = staff("clerk", kind="hospital", code="qinbei-mch", name="窗口周")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_bytes())

    # The clerk enters two newborns.
    page = new_page()
    staff_login(page, clerk.username)
    page.goto("/counter/new/")
    offered = {i.get_attribute("value") for i in page.locator("[name='items']").all()}
    for item in document["items"]:
        if item in offered:
            refreshing(page, lambda item=item: page.check(f"[name='items'][value='{item}']"))
    refreshing(page, lambda: page.select_option("[name='newborn_count']", "2"))
    assert page.locator("[data-section='newborn_2']").is_visible()
    fill_rows(page, document, reference)
    page.click("[data-refresh-button]")
    page.wait_for_load_state()
    fill_rows(page, document, reference)
    for material in document["materials"]:
        box = page.locator(f"[name='materials'][value='{material}']")
        if box.count():
            box.check()
    page.set_input_files("[name='scan__birth_certificate']", str(scan))
    with page.expect_navigation():
        page.click("button:has-text('提交预审')")
    assert re.search(r"/counter/cases/QINBEI-\d{8}-\d{4}/$", page.url)
    case = Case.objects.get()
    assert case.status == "in_progress", case.decision["reasons"]

    # One item set per newborn; the counter's progress says which baby, never an index.
    for code in PER_NEWBORN:
        assert page.locator(f"[data-progress] tr[data-item='{code}']").count() == 1
        row = page.locator(f"[data-progress] tr[data-item='{code}-2']")
        assert "第二个孩子" in row.inner_text()
    assert page.locator("[data-progress] tr[data-item='maternity_reimbursement']").count() == 1
    assert "maternity_reimbursement-2" not in page.content()

    # The hospital's officer sees both certificates in the queue, the twin's marked, and
    # issues each from its task page.
    desk = new_page()
    staff_login(desk, officer("hospital", "hospital", "qinbei-mch").username)
    desk.goto("/work/")
    queue = desk.inner_text("main")
    assert "第二个孩子" in queue
    certificates = CaseItem.objects.filter(case=case, item="birth_certificate").order_by("newborn")
    assert certificates.count() == 2
    for certificate, number in zip(certificates, ("Q450123461", "Q450123462"), strict=True):
        desk.goto(f"/work/tasks/{certificate.pk}/")
        heading = desk.inner_text("h1")
        assert ("第二个孩子" in heading) == (certificate.newborn == 1)
        desk.fill("[name='bmc_number']", number)
        desk.click("button:has-text('办结并生成电子证照')")
        desk.wait_for_url("**/work/")
        assert "已办结" in desk.inner_text(".messages")

    # The mother: two item sets, each by her baby's name, and two certificates.
    mother = new_page(phone=True)
    parent_login(mother)
    mother.goto(f"/my/cases/{case.number}/")
    assert mother.locator("tr[data-item='birth_certificate'] .state").inner_text() == "已办结"
    assert mother.locator("tr[data-item='birth_certificate-2'] .state").inner_text() == "已办结"
    for code in PER_NEWBORN:
        assert first in mother.locator(f"tr[data-item='{code}']").inner_text()
        assert second in mother.locator(f"tr[data-item='{code}-2']").inner_text()
    # Each baby's registration now goes to the police (its own certificate is done).
    assert "待办理" in mother.locator("tr[data-item='birth_registration-2']").inner_text()
    card = mother.locator("#elicences")
    bmc = card.locator("[data-elicence]", has_text="出生医学证明")
    assert bmc.count() == 2
    assert {first, second} == {
        bmc.nth(i).locator("[data-baby]").inner_text().strip("（）") for i in range(2)
    }

    # Each e-licence names its own baby and verifies on the public page.
    licences = ELicence.objects.filter(case=case, kind="birth_certificate").order_by(
        "item__newborn"
    )
    assert [lic.payload["subject"]["newborns"][0]["name"] for lic in licences] == [first, second]
    checker = new_page(phone=True)
    for i in range(2):
        href = bmc.nth(i).locator("a", has_text="验证电子印章").get_attribute("href")
        checker.goto(href)
        verdict = checker.locator("#verdict")
        assert verdict.get_attribute("data-valid") == "true"
        assert "出生医学证明" in verdict.inner_text()
        assert first not in checker.locator("body").inner_text()  # masked: 覃**
