"""Through a real browser, signed in as nobody: the URL in an e-licence's QR code opens the
verification page on a phone, which says the seal is valid and shows only a masked summary;
a serial typed into the form verifies too; a changed QR content does not."""

from __future__ import annotations

import pytest

from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.certificates.services import qr_content
from onestop.core.clock import parse_time
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("450703199203150220", "450703199001010174", "13800000000", "新棠街12号", "覃沐阳")


@pytest.fixture
def licence(example, media_root, settings, tmp_path) -> ELicence:
    settings.SEAL_KEYS_DIR = tmp_path / "seal-keys"
    reference_seed()
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=parse_time("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=bmc.pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        result={"bmc_number": "Q450123456"},
        now=parse_time("2026-11-20T10:00:00+08:00"),
    )
    return ELicence.objects.get(item=bmc)


def test_the_qr_code_url_verifies_in_a_browser_without_login(licence, new_page):
    phone = new_page(phone=True)
    response = phone.goto(f"/verify/?c={qr_content(licence)}")
    assert response is not None and response.status == 200
    assert "/login" not in phone.url
    verdict = phone.locator("#verdict")
    assert verdict.get_attribute("data-valid") == "true"
    text = verdict.inner_text()
    assert "电子印章有效" in text
    assert licence.issuer_name in text and "出生医学证明" in text and licence.serial in text
    assert "覃**" in text and "Q450123456" in text
    page_text = phone.locator("body").inner_text()
    for secret in SECRETS:
        assert secret not in page_text

    # A serial typed into the form.
    desk = new_page()
    desk.goto("/verify/")
    desk.fill("#v-serial", licence.serial)
    desk.click("form button.btn")
    desk.wait_for_selector("#verdict")
    assert desk.locator("#verdict").get_attribute("data-valid") == "true"

    # One changed character of the QR content.
    content = qr_content(licence)
    at = len(content) // 2
    changed = content[:at] + ("B" if content[at] == "A" else "A") + content[at + 1 :]
    desk.goto(f"/verify/?c={changed}")
    assert desk.locator("#verdict").get_attribute("data-valid") == "false"
    assert "验证未通过" in desk.locator("#verdict").inner_text()
