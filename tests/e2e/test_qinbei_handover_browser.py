"""Through a real browser: a Qinbei quarterly hand-over of BMC sub-pages (副页). The hospital
issues certificates, prints the list and hands the batch over; the police station counts
and receives it; the supervisor sees the batch closed (issue 11, promise 10)."""

from __future__ import annotations

import re

import pytest

from onestop.cases.services import case_submit
from onestop.core.clock import parse_time
from onestop.core.written import written
from onestop.handover.models import HandoverBatch
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer, staff
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete
from tests.e2e.helpers import pdf_text, staff_login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cases(example, media_root):
    reference_seed()
    submitted = parse_time("2026-11-20T09:30:00+08:00")
    first = case_submit(document=example("qinbei-accept"), actor=None, now=submitted).case
    second = case_submit(
        document=another_newborn(example("qinbei-accept"), 1), actor=None, now=submitted
    ).case
    return first, second


def test_a_qinbei_quarterly_handover_sent_and_received(cases, new_page, settings):
    # Supervisors sign in with a TOTP code (tested in onestop/accounts); not the point here.
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    first, second = cases
    hospital = officer("hospital", "hospital", "qinbei-mch", "韦敏")
    police = officer("police", "police_station", "qinbei-xintang", "覃警官")
    supervisor = staff("supervisor", kind="division", code="4507", name="卫健局监管员")

    # One certificate issued earlier by the hospital's system, one now at the workbench.
    bmc = CaseItem.objects.get(case=second, item="birth_certificate")
    item_complete(item_id=bmc.pk, actor=None, result={"bmc_number": "Q450123457"})
    page = new_page()
    staff_login(page, hospital.username)
    page.goto("/work/")
    page.click(f"table tbody a:text-is('{first.number}')")
    page.fill("#f-bmc_number", "Q450123456")
    page.click("button:has-text('办结并生成电子证照')")
    page.wait_for_url("**/work/")

    # The hospital's batches: the quarter, the station by name, the due day as written.
    page.click("nav >> text=档案移交")
    page.wait_for_url("**/work/handovers/")
    row = page.locator("tr[data-batch]")
    assert row.count() == 1
    text = row.inner_text()
    batch = HandoverBatch.objects.get()
    # Issued today: this quarter's batch, due the 30th of its last month (2026Q4: 12月30日).
    assert batch.period.endswith(f"Q{(batch.period_start.month - 1) // 3 + 1}")
    assert batch.due_on.day == 30 and batch.due_on.month == batch.period_end.month
    assert (
        "钦州市公安局钦北分局新棠派出所" in text and written(batch.due_on, date_only=True) in text
    )
    assert "qinbei-" not in text
    assert row.locator("td[data-label='份数']").inner_text().strip() == "2"
    page.click("tr[data-batch] a")
    page.wait_for_url(re.compile(r"/work/handovers/\d+/$"))
    assert "出生医学证明副页移交清单" in page.inner_text("h1")
    assert page.locator("tr[data-bmc]").count() == 2

    # The printed list: a real PDF with the numbers, the count and the signature lines.
    href = page.get_attribute("a:has-text('打印移交清单')", "href")
    pdf = page.request.get(href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    printed = pdf_text(pdf.body())
    for words in ("出生医学证明副页移交清单", "Q450123456", "Q450123457", "合计：2份"):
        assert words in printed, words
    assert "移交人（签名）" in printed and "接收人（签名）" in printed

    page.click("#handover-send")
    page.wait_for_url(re.compile(r"/work/handovers/\d+/$"))
    assert "已登记移交" in page.inner_text(".messages")
    batch.refresh_from_db()
    assert batch.state == "sent" and batch.sent_count == 2

    # The police station: a work message, the incoming batch, the count, received.
    page = new_page()
    staff_login(page, police.username)
    page.click("nav >> text=档案移交")
    page.wait_for_url("**/work/handovers/")
    assert "钦北区妇幼保健院" in page.inner_text("tr[data-batch]")
    page.click("tr[data-batch] a")
    page.wait_for_url(re.compile(r"/work/handovers/\d+/$"))
    page.fill("#received_count", "2")
    page.click("#handover-receive")
    page.wait_for_url(re.compile(r"/work/handovers/\d+/$"))
    assert "已确认接收" in page.inner_text(".messages")
    assert page.get_attribute("h1 .state", "data-state") == "received"
    batch.refresh_from_db()
    assert batch.state == "received" and batch.received_count == 2
    page.goto("/work/messages/")
    assert "钦北区妇幼保健院" in page.inner_text("main")

    # The supervisor: nothing overdue; the batch is closed (received).
    page = new_page()
    staff_login(page, supervisor.username)
    page.click("nav >> text=档案移交")
    page.wait_for_url("**/supervise/handovers/")
    assert page.get_attribute("[data-overdue]", "data-overdue") == "0"
    page.select_option("#state", "received")
    page.click("form.card button")
    page.wait_for_url(re.compile(r"/supervise/handovers/\?"))
    closed = page.locator(f"tr[data-batch='{batch.pk}']")
    assert closed.get_attribute("data-state") == "received"
    assert "钦北区妇幼保健院" in closed.inner_text() and "已接收" in closed.inner_text()
