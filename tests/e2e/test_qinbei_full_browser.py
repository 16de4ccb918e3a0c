"""One qinbei case through a real browser from end to end: the mother applies on her phone
(prefilled from the hospital's delivery record, uploads, e-signature), every department
works its items from the workbench in dependency order, and the mother sees each step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from onestop.cases.models import Case
from onestop.common.fields import index_of
from onestop.notifications.models import Notification
from onestop.portal.tests.support import BIRTH, DETAILS, PARENTS, QINBEI_ITEMS, delivery_record
from onestop.reference.services import reference_seed
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.testing.files import pdf_bytes
from onestop.workflow.models import CaseItem
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

MOTHER_PHONE = "13800000000"
# Who works each item of a qinbei case (department, jurisdiction kind, code).
OFFICES = {
    "hospital": ("hospital", "qinbei-mch"),
    "cdc": ("division", "450703"),
    "police": ("police_station", "qinbei-xintang"),
    "medical_insurance": ("division", "450703"),
    "hrss": ("division", "450703"),
    "health": ("division", "450703"),
    "tax": ("division", "450703"),
}


def fill(page: Any, data: dict[str, str]) -> None:
    """Fill the named fields as a person would, in order (later fields may appear only after
    earlier answers); a field that stays hidden is one this case does not need."""
    for name, value in data.items():
        fields = page.locator(f"[name='{name}']")
        if fields.count() == 0:
            continue
        first = fields.first
        kind = (first.get_attribute("type") or first.evaluate("e => e.tagName")).lower()
        if kind in ("radio", "checkbox"):
            option = page.locator(f"[name='{name}'][value='{value}']")
            target = option if option.count() else first
            if target.first.is_visible():
                target.first.check()
            continue
        if not first.is_visible():
            continue
        if kind == "select":
            first.select_option(value)
        else:
            first.fill(value)


def sms_code(after_pk: int) -> str:
    sms = Notification.objects.filter(channel="sms", pk__gt=after_pk).latest("pk")
    found = re.search(r"验证码是 (\d{6})", sms.body)
    assert found is not None
    return found.group(1)


def parent_login(page: Any) -> None:
    last = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    page.goto("/accounts/parent/")
    page.fill("#phone", MOTHER_PHONE)
    page.click("button:has-text('获取验证码')")
    page.fill("#code", sms_code(last))
    page.click("button:has-text('登录')")
    page.wait_for_url("**/my/cases/")


def progress(page: Any, number: str) -> dict[str, str]:
    page.goto(f"/my/cases/{number}/")
    rows = page.locator("tr[data-item]")
    return {
        rows.nth(i).get_attribute("data-item"): rows.nth(i).locator(".state").inner_text()
        for i in range(rows.count())
    }


def test_a_qinbei_case_from_the_mothers_phone_through_every_department(
    new_page, media_root, tmp_path: Path
):
    reference_seed()
    delivery_record()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_bytes())  # a real PDF: uploads are checked as whole files

    mother = new_page(phone=True)
    parent_login(mother)
    mother.goto("/my/apply/qinbei/")
    for item in QINBEI_ITEMS:
        mother.check(f"[name='items'][value='{item}']")
    mother.check("[name='role'][value='mother']")
    mother.click("button:has-text('下一步')")

    # Birth: the hospital's delivery record fills the newborn's data.
    mother.wait_for_url("**/birth/")
    fill(
        mother,
        {
            k: BIRTH[k]
            for k in (
                "mother_residency",
                "mother_id_number",
                "newborns_0_hospital",
                "newborns_0_record_number",
            )
        },
    )
    mother.click("button:has-text('查询分娩记录并填入')")
    mother.wait_for_selector(".prefilled")
    assert mother.input_value("[name='newborns_0_weight_g']") == "3300"
    fill(mother, {"mother_name": BIRTH["mother_name"], "newborns_0_name": BIRTH["newborns_0_name"]})
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
    assert "450703199203150220" not in mother.inner_text("main")  # masked on screen
    fill(mother, {"signer_name": "黄丽", "promise": "on"})
    mother.click("button:has-text('签名并提交')")
    mother.wait_for_url(re.compile(r"/my/cases/[A-Z]+-\d{8}-\d{4}/$"))
    assert "予以受理" in mother.inner_text("main")
    case = Case.objects.get()
    assert case.status == "in_progress"
    assert progress(mother, case.number)["birth_certificate"] == "待办理"
    # The parents' ethnic groups differ: the father confirms the newborn's ethnic group on
    # his own phone, by the link in his SMS (ADR 0029); until then registration waits.
    assert progress(mother, case.number)["birth_registration"] == "等待父亲确认"
    father_phone = PARENTS["father_phone"]
    father_sms = Notification.objects.filter(
        channel="sms", phone_index=index_of(father_phone, purpose="phone")
    ).order_by("pk")
    link = re.findall(r"https?://[^/\s]+(/confirm/[\w-]+/)", father_sms.last().body)[-1]
    father = new_page(phone=True)
    father.goto(link)
    father.get_by_role("button", name="获取验证码").click()
    code = re.findall(r"验证码是 (\d{6})", father_sms.last().body)[-1]
    father.fill("#code", code)
    father.get_by_role("button", name="登录").click()
    father.locator("#do-confirm").click()
    assert "已确认" in father.locator("#confirm-done").inner_text()
    assert progress(mother, case.number)["birth_registration"] == "等待前置事项"

    # Every department works its ready items in the browser until nothing is left.
    officers = {dept: officer(dept, kind, code) for dept, (kind, code) in OFFICES.items()}
    desk = new_page()
    rounds = 0
    while CaseItem.objects.filter(case=case, state="ready").exists():
        rounds += 1
        assert rounds < 10
        for item in CaseItem.objects.filter(case=case, state="ready").order_by("position"):
            desk.context.clear_cookies()
            staff_login(desk, officers[item.department].username)
            desk.goto(f"/work/tasks/{item.pk}/")
            # The completion form's fields (the card's page also has a status form).
            done = desk.locator("form:has(button:has-text('办结并生成电子证照'))")
            fill(done, {f"{k}": v for k, v in RESULTS[item.item].items()})
            done.locator("button:has-text('办结并生成电子证照')").click()
            desk.wait_for_url("**/work/")
            assert "已办结" in desk.inner_text(".messages")
            # The mother sees that step finished.
            assert progress(mother, case.number)[item.item] == "已办结"
    # BMC, vaccination, guidance → registration → insurance, maternity → SSC (waits for both)
    # and the premium payment (after enrolment)
    assert rounds == 4
    case.refresh_from_db()
    assert case.status == "completed"
    mother.goto(f"/my/cases/{case.number}/")
    text = mother.inner_text("main")
    assert "已办结" in text and "办件已全部办结" in text
