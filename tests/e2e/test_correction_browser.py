"""A correction (更正, issue 12 part 5, ADR 0042) through a real browser: the hospital
issues the BMC with the baby's name misspelled, the mother asks on her phone to correct
it, the hospital officer approves in the workbench, and /verify/ of the old serial says
superseded (with a link to the new one) while the new one is valid."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.core.clock import parse_time
from onestop.corrections.models import Correction, CorrectionNotice
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer, parent
from onestop.workflow.models import CaseItem
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

MOTHER_PHONE = "13800000000"
WRONG, RIGHT = "覃沐杨", "覃沐阳"


@pytest.fixture
def case(example, media_root):
    reference_seed()
    return case_submit(
        document=example("qinbei-accept"),
        actor=None,
        now=parse_time("2026-11-20T09:30:00+08:00"),
    ).case


def _parent_session(page, base: str) -> None:
    """The mother's session (her SMS sign-in is tested elsewhere), given to the browser."""
    client = Client()
    client.force_login(parent(MOTHER_PHONE))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def test_a_correction_supersedes_the_bmc_and_verify_shows_both(case, new_page, live_server):
    hospital = officer("hospital", "hospital", "qinbei-mch", "韦敏")

    # The hospital issues the BMC with the baby's name misspelled.
    staff = new_page()
    staff_login(staff, hospital.username)
    staff.goto("/work/")
    staff.click(f"table tbody a:text-is('{case.number}')")
    staff.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    staff.fill("#f-bmc_number", "Q450123456")
    staff.fill("#f-newborn_name", WRONG)
    staff.click("button:has-text('办结并生成电子证照')")
    staff.wait_for_url("**/work/")
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    old = ELicence.objects.get(item=bmc)

    # The mother asks on her phone to correct the name.
    phone = new_page(phone=True)
    _parent_session(phone, live_server.url)
    phone.goto(f"/my/cases/{case.number}/")
    phone.click("#correction-request")
    phone.wait_for_url(f"**/my/cases/{case.number}/corrections/new/")
    phone.select_option("#c-target", f"{bmc.pk}:newborn_name")
    phone.fill("#c-value", RIGHT)
    phone.fill("#c-reason", "名字最后一个字错了，应为“阳”")
    phone.click("button:has-text('提交更正申请')")
    phone.wait_for_url(f"**/my/cases/{case.number}/")
    assert "更正申请已提交" in phone.inner_text(".messages")
    row = phone.locator("#corrections [data-correction]")
    assert row.get_attribute("data-state") == "open"
    correction = Correction.objects.get()

    # The hospital officer sees it in the workbench and approves.
    staff.goto("/work/")
    staff.click("#corrections-link a")
    staff.wait_for_url("**/work/corrections/")
    staff.click(f"tr[data-correction='{correction.pk}'] a")
    staff.wait_for_url(f"**/work/corrections/{correction.pk}/")
    assert RIGHT in staff.inner_text("#correction-new")
    staff.click("#correction-approve")
    staff.wait_for_url(f"**/work/corrections/{correction.pk}/")
    assert staff.locator("#correction-state").get_attribute("data-state") == "approved"
    new_serial = staff.inner_text("#corrected-serial").strip()
    assert new_serial == f"{old.serial}-C1"
    # The police officer's later item was told.
    assert CorrectionNotice.objects.filter(item__item="birth_registration").count() == 1

    # /verify/ of the old serial: superseded, with a link to the new one.
    public = new_page(phone=True)
    public.goto(f"/verify/{old.serial}/")
    verdict = public.locator("#verdict")
    assert verdict.get_attribute("data-valid") == "false"
    assert verdict.get_attribute("data-code") == "superseded"
    assert "已被更正（superseded）" in verdict.inner_text()
    public.click(f"#verdict .superseded a:text-is('{new_serial}')")
    public.wait_for_url(f"**/verify/{new_serial}/")
    # ... and of the new one: valid, replacing the old one.
    verdict = public.locator("#verdict")
    assert verdict.get_attribute("data-valid") == "true"
    assert "电子印章有效" in verdict.inner_text()
    assert public.locator("#verdict .replaces").get_attribute("data-replaces") == old.serial
    assert RIGHT not in public.inner_text("main") and WRONG not in public.inner_text("main")

    # The mother's page marks the old licence corrected and shows the new one.
    phone.reload()
    assert (
        phone.locator(f"[data-elicence='{old.serial}']").get_attribute("data-superseded-by")
        == new_serial
    )
    assert phone.locator(f"[data-elicence='{new_serial}']").count() == 1
    assert phone.locator("#corrections [data-correction]").get_attribute("data-state") == (
        "approved"
    )
