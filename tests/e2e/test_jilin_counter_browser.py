"""A Jilin case at the service-center counter, through a real browser: the BMC is already
issued, the clerk enters the case, scans the BMC, prints the form and the notice, and the
departments finish every item."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onestop.cases.models import Case
from onestop.counter.tests.test_counter import JILIN
from onestop.reference.domain import default_reference
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer, staff
from onestop.testing.files import pdf_bytes
from onestop.workflow.models import CaseItem
from tests.e2e.helpers import fill_rows, refreshing, staff_login

pytestmark = pytest.mark.django_db(transaction=True)

RESULTS = {
    "birth_registration": {"hukou_entry": "HK220102-0001"},
    "medical_insurance_enrolment": {"insurance_number": "YB2201020001"},
    "medical_insurance_payment": {"payment_reference": "SW2026110001", "amount_yuan": "400"},
    "social_security_card": {"card_number": "J22010212"},
}
OFFICES = {
    "police": ("police_station", "jilin-ps"),
    "medical_insurance": ("division", "22"),
    "tax": ("division", "22"),
    "hrss": ("division", "22"),
}


def test_jilin_counter_case_end_to_end(new_page, media_root, tmp_path: Path, example):
    reference_seed()
    clerk = staff("clerk", kind="service_center", code="jilin-sc", name="窗口刘")
    scan = tmp_path / "bmc.pdf"
    scan.write_bytes(pdf_bytes())  # a real PDF: uploads are checked as whole files

    page = new_page()
    staff_login(page, clerk.username)
    page.click("nav >> text=一窗受理")
    page.click("text=录入新办件")
    page.wait_for_url("**/counter/new/")
    # The counter serves Jilin only: the form is Jilin's (no region to choose).
    document = example("jilin-accept-counter")
    for item in JILIN["items"]:
        refreshing(page, lambda item=item: page.check(f"[name='items'][value='{item}']"))
    refreshing(page, lambda: page.check("[name='applicant_role'][value='father']"))
    # Every hospital, station, place, ethnic group and bank is picked by its name.
    assert {"hospitals", "ethnic_groups", "divisions", "police_stations", "banks"} <= fill_rows(
        page, document, default_reference()
    )
    for material in JILIN["materials"]:
        page.check(f"[name='materials'][value='{material}']")
    page.set_input_files("[name='scan__birth_certificate']", str(scan))
    page.click("button:has-text('提交预审')")
    page.wait_for_url(re.compile(r"/counter/cases/JILIN-\d{8}-\d{4}/$"))
    assert "办理中" in page.inner_text("h1")
    case = Case.objects.get()
    for link in ("form.pdf", "notice.pdf"):
        printed = page.request.get(f"/counter/cases/{case.number}/{link}")
        assert printed.status == 200 and printed.body().startswith(b"%PDF-")

    # Birth registration is dispatched at once (no BMC item); the departments finish the rest.
    officers = {dept: officer(dept, kind, code) for dept, (kind, code) in OFFICES.items()}
    desk = new_page()
    while CaseItem.objects.filter(case=case, state="ready").exists():
        for item in CaseItem.objects.filter(case=case, state="ready").order_by("position"):
            desk.context.clear_cookies()
            staff_login(desk, officers[item.department].username)
            desk.goto(f"/work/tasks/{item.pk}/")
            for name, value in RESULTS[item.item].items():
                desk.fill(f"#f-{name}", value)
            desk.click("button:has-text('办结并生成电子证照')")
            desk.wait_for_url("**/work/")
    case.refresh_from_db()
    assert case.status == "completed"
    page.goto(f"/counter/cases/{case.number}/")
    assert page.locator("[data-progress] .state.done").count() == 4
    # 户口簿可在政务服务中心当场打印领取: the clerk prints the page and hands it over.
    spot = page.locator("[data-spot='birth_registration']")
    printed = page.request.get(f"/counter/cases/{case.number}/spot/birth_registration/print.pdf")
    assert printed.status == 200 and printed.body().startswith(b"%PDF-")
    spot.locator("[name='role']").select_option("father")
    spot.locator("[name='name']").fill(JILIN["father_name"])
    spot.locator("[name='id_number']").fill(JILIN["father_id_number"])
    with page.expect_navigation():
        spot.locator("[data-action='spot-handover']").click()
    assert page.locator("[data-handover='done']").is_visible()
