"""Lanzhou's special registrations through a real browser (issue 11 promise 9; seed 000 (二)
2–3; ADR 0034): a student couple's case (the mother's hukou a collective student hukou,
the father's family hukou in 七里河区) is submitted, and its birth registration lands in the
七里河 station's workbench (lanzhou-qilihe-ps, the demo's second Lanzhou station), not in the
mother's 城关 station's; the 七里河 officer sees it in the browser with the note saying why."""

from __future__ import annotations

import re

import pytest

from onestop.cases.services import case_submit
from onestop.integration.tests.support import current
from onestop.integration.tests.test_special_registration import student_couple
from onestop.reference.services import reference_seed
from onestop.simulate.credentials import DEMO_EXTRA_STATIONS
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

[(REGION, STATION, _SHORT)] = DEMO_EXTRA_STATIONS  # ("lanzhou", "lanzhou-qilihe-ps", …)


def queue_numbers(page) -> list[str]:
    return [text.strip() for text in page.locator("table tbody td a").all_inner_texts()]


def test_a_student_couples_registration_reaches_the_qilihe_station(new_page, example, media_root):
    reference_seed()
    document = student_couple(current(example(f"{REGION}-accept")))
    case = case_submit(document=document, actor=None).case
    assert case.status == "in_progress", case.decision
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=bmc.pk,
        actor=officer("hospital", bmc.jurisdiction_kind, bmc.jurisdiction_code),
        result=RESULTS["birth_certificate"],
    )
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert registration.state == "ready"
    assert (registration.jurisdiction_kind, registration.jurisdiction_code) == (
        "police_station",
        STATION,
    )

    # The mother's own station (城关) does not see it.
    chengguan = officer("police", "police_station", "lanzhou-ps", "城关民警")
    page = new_page()
    staff_login(page, chengguan.username)
    page.goto("/work/")
    assert case.number not in queue_numbers(page)

    # The 七里河 officer finds it in the queue and reads why it came to this station.
    qilihe = officer("police", "police_station", STATION, "七里河民警")
    page = new_page()
    staff_login(page, qilihe.username)
    page.click("nav >> text=待办事项")
    page.wait_for_url("**/work/")
    assert case.number in queue_numbers(page)
    page.click(f"table tbody a:text-is('{case.number}')")
    page.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    main = page.inner_text("main")
    assert "出生登记" in main
    note = page.locator(".task-note").inner_text()
    assert "学生集体户口" in note and "七里河" in note
    # The officer registers the birth from the workbench.
    page.click("button:has-text('领取办理')")
    page.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    page.fill("#f-hukou_entry", "HK620103-0001")
    page.click("button:has-text('办结并生成电子证照')")
    page.wait_for_url("**/work/")
    registration.refresh_from_db()
    assert registration.state == "done" and registration.claimed_by_id == qilihe.pk
