"""Proactive start through a real browser on a phone-sized screen (issue 11 promise 13,
ADR 0033): the hospital system records a delivery over the API; the mother opens the link
of the SMS she got, signs in with a code sent to her phone, finds her application prepared
(the hospital's data filled and read-only), chooses items, adds the rest and submits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from onestop.cases.models import Case
from onestop.common.fields import index_of
from onestop.integration.tests.support import hospital
from onestop.notifications.models import Notification
from onestop.portal.models import Invitation
from onestop.portal.tests.support import (
    BIRTH,
    DETAILS,
    MOTHER_ID,
    MOTHER_PHONE,
    PARENTS,
    QINBEI_ITEMS,
    RECORD,
)
from onestop.reference.services import reference_seed
from onestop.testing.files import pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def _sms() -> list[str]:
    index = index_of(MOTHER_PHONE, purpose="phone")
    rows = Notification.objects.filter(channel="sms", phone_index=index).order_by("pk")
    return [row.body for row in rows]


def fill(page: Any, data: dict[str, str]) -> None:
    """Fill the named fields as a person would; hidden and read-only fields are left."""
    for name, value in data.items():
        fields = page.locator(f"[name='{name}']")
        if fields.count() == 0:
            continue
        first = fields.first
        if not first.is_visible() or first.is_disabled():
            continue
        kind = (first.get_attribute("type") or first.evaluate("e => e.tagName")).lower()
        if kind in ("radio", "checkbox"):
            option = page.locator(f"[name='{name}'][value='{value}']")
            target = option if option.count() else first
            if target.first.is_visible() and target.first.is_enabled():
                target.first.check()
        elif kind == "select":
            first.select_option(value)
        else:
            first.fill(value)


def test_a_proactive_invitation_becomes_a_submitted_case(new_page, media_root, tmp_path: Path):
    reference_seed()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_bytes())
    # The hospital's system records the delivery.
    token = hospital("qinbei-mch").token
    answer = Client().post(
        "/api/v1/deliveries",
        data=json.dumps(
            {
                "record_number": RECORD,
                "mother": {"name": "黄丽", "id_number": MOTHER_ID, "phone": MOTHER_PHONE},
                "newborn": {
                    "born_at": "2026-11-10T08:20:00+08:00",
                    "sex": "1",
                    "weight_g": 3300,
                    "length_cm": 50,
                    "gestational_weeks": 39,
                    "birth_attendant": "韦敏",
                    "blood_type": "A",
                },
            },
            ensure_ascii=False,
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["invitation"]["status"] == "invited"
    invitation_sms = [body for body in _sms() if "准备好申请表" in body]
    assert len(invitation_sms) == 1
    link = re.findall(r"https?://[^/\s]+(/my/apply/[\w-]+/)", invitation_sms[0])[-1]

    # The mother opens the link on her phone and signs in with the code sent to it.
    mother = new_page(phone=True)
    mother.goto(link)
    mother.wait_for_url("**/accounts/parent/**")
    mother.fill("#phone", MOTHER_PHONE)
    mother.click("button:has-text('获取验证码')")
    code = re.findall(r"验证码是 (\d{6})", _sms()[-1])[-1]
    mother.fill("#code", code)
    mother.click("button:has-text('登录')")
    mother.wait_for_url("**/my/apply/qinbei/items/")
    assert "申请表已为您准备好" in mother.inner_text("main")
    assert mother.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # A few taps: the items, then the hospital's data is there, read-only.
    for item in QINBEI_ITEMS:
        mother.check(f"[name='items'][value='{item}']")
    mother.check("[name='role'][value='mother']")
    mother.click("button:has-text('下一步')")
    mother.wait_for_url("**/birth/")
    weight = mother.locator("[name='newborns_0_weight_g']")
    assert weight.input_value() == "3300" and weight.is_disabled()
    assert mother.locator("[name='mother_id_number']").is_disabled()
    assert mother.locator(".prefilled").count() >= 8
    assert mother.locator("button:has-text('查询分娩记录并填入')").count() == 0
    fill(mother, {"newborns_0_name": BIRTH["newborns_0_name"]})
    mother.click("button.btn:has-text('保存，下一步')")
    mother.wait_for_url("**/parents/")
    fill(mother, PARENTS)
    mother.click("button.btn:has-text('保存，下一步')")
    mother.wait_for_url("**/details/")
    fill(mother, DETAILS)
    mother.click("button.btn:has-text('保存，下一步')")
    mother.wait_for_url("**/materials/")
    for field in mother.locator("input[type=file]").all():
        field.set_input_files(str(scan))
    mother.click("button.btn:has-text('下一步：确认并签名')")
    mother.wait_for_url("**/confirm/")
    fill(mother, {"signer_name": "黄丽", "promise": "on"})
    mother.click("button:has-text('签名并提交')")
    mother.wait_for_url(re.compile(r"/my/cases/[A-Z]+-\d{8}-\d{4}/$"))
    assert "予以受理" in mother.inner_text("main")

    case = Case.objects.get()
    assert case.status == "in_progress" and case.channel == "online"
    assert case.document["newborns"][0]["record_number"] == RECORD
    assert case.document["newborns"][0]["weight_g"] == 3300
    invitation = Invitation.objects.get()
    assert invitation.state == "submitted" and invitation.case_number == case.number
