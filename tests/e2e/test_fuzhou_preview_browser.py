"""Fuzhou's preview and e-signature through a real browser on a phone-sized screen (issue 11
promise 1, ADR 0035; seed 003: "生成《出生医学证明》，《出生医学证明首次签发登记表》和《常住
人口登记表》……预览页面，一并推送给申请人确认签字（电子签名）……申请人确认无误后，服务平台将
有关申请信息推送至助产机构"): the mother's accepted case waits for her; she opens the
previews from her case page, reads the three documents, opens one as a watermarked PDF,
signs with her name and an SMS code; the birth certificate is then issued (秒批 from the
hospital's delivery record) and its e-licence says 无副页 and 线上办理."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from pypdf import PdfReader

from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.common.fields import index_of
from onestop.hospitals.services import delivery_record_upsert
from onestop.integration.tests.support import current
from onestop.notifications.models import Notification
from onestop.testing.factories import parent
from onestop.workflow.models import CaseItem, ItemState, PreviewConfirmation

pytestmark = pytest.mark.django_db(transaction=True)

MOTHER = "15800006666"


def _sms() -> list[str]:
    index = index_of(MOTHER, purpose="phone")
    rows = Notification.objects.filter(channel="sms", phone_index=index).order_by("pk")
    return [row.body for row in rows]


def _signed_in(page: Any, base: str) -> None:
    """The mother's session (her SMS sign-in is tested elsewhere), given to the browser."""
    client = Client()
    client.force_login(parent(MOTHER))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_the_mother_reads_the_previews_signs_and_the_bmc_is_issued(
    new_page, live_server, example, media_root
):
    document = current(example("fuzhou-accept"))
    baby, mother = document["newborns"][0], document["mother"]
    delivery_record_upsert(
        hospital=baby["hospital"],
        record_number=baby["record_number"],
        mother_id_number=mother["id_number"],
        data={"born_at": baby["born_at"], "sex": baby["sex"], "weight_g": baby["weight_g"]},
    )
    case = case_submit(document=document, actor=None).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    assert bmc.state == ItemState.WAITING and bmc.awaiting_confirmation == "preview"
    assert any("预览" in s for s in _sms())  # she was told by SMS

    page = new_page(phone=True)
    _signed_in(page, live_server.url)
    page.goto(f"/my/cases/{case.number}/")
    row = page.locator('tr[data-item="birth_certificate"]')
    assert "等待申请人确认签字" in row.inner_text()
    page.locator("#preview-card a").click()
    page.wait_for_url(f"**/my/cases/{case.number}/preview/")

    kinds = page.locator(".preview-document").evaluate_all(
        "els => els.map(e => e.dataset.document)"
    )
    assert kinds == ["birth_certificate", "bmc_first_issue_register", "household_registration_form"]
    first = page.locator('[data-document="birth_certificate"]').inner_text()
    assert "林语桐" in first and "福建省妇幼保健院" in first and "fujian-mch" not in first
    household = page.locator('[data-document="household_registration_form"]').inner_text()
    assert "家庭户" in household and "福州市公安局" in household
    # The page fits the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    pdf = page.request.get(
        f"{live_server.url}/my/cases/{case.number}/preview/household_registration_form.pdf"
    )
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = _pdf_text(pdf.body())
    assert "预览" in text and "不作凭证" in text and "常住人口登记表" in text

    page.locator("#send-code").click()
    code = re.findall(r"验证码是 (\d{6})", _sms()[-1])[-1]
    page.fill("#name", "陈静")
    page.fill("#code", code)
    page.locator("#do-sign").click()
    assert "确认签字" in page.locator("#preview-confirmed").inner_text()

    preview = PreviewConfirmation.objects.get(case=case)
    assert preview.state == "confirmed" and len(preview.digest) == 64
    bmc.refresh_from_db()
    assert bmc.state == ItemState.DONE  # released, then 秒批 issued it
    licence = ELicence.objects.get(case=case, kind="birth_certificate")

    page.goto(f"/my/cases/{case.number}/")
    bmc_row = page.locator('tr[data-item="birth_certificate"]').inner_text()
    assert "等待申请人确认签字" not in bmc_row
    issued = page.request.get(f"{live_server.url}/my/elicences/{licence.serial}.pdf")
    assert issued.ok
    text = _pdf_text(issued.body())
    assert "无副页" in text and "线上办理" in text
