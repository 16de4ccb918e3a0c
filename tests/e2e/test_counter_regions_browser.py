"""The counter as a clerk uses it, in a real browser, in each of the five regions (issue 9:
"The counter is tried as a clerk would in a browser, in each region: no code typed, a
trustee case accepted at the counter, twins entered, the printed form readable").

Every hospital, police station, place, ethnic group and bank is picked by typing part of
its name into the picker's search box; no code is typed anywhere. Where the pack admits
trustees (沅陵, 吉林) a grandparent applies with the mother's authorization; every case is
twins; the case is accepted at the counter and the printed 联办申请表 reads names and
dates. 兰州 and 福州 take applications online only: their clerks are told where to apply.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from onestop.cases.models import Case
from onestop.core.clock import parse_time
from onestop.reference.domain import default_reference
from onestop.reference.services import reference_seed
from onestop.testing.factories import staff
from onestop.testing.files import pdf_bytes
from tests.e2e.helpers import fill_rows, pdf_text, refreshing, staff_login

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = Path(__file__).resolve().parents[2] / "onestop" / "examples"

# region: (counter kind, counter code, example, applicant who comes to the counter)
COUNTERS: dict[str, tuple[str, str, str, str]] = {
    # 受托人与婴儿关系（限父亲、祖父母、外祖父母）: the example's trustee, a grandmother.
    "yuanling": ("hospital", "yuanling-people", "yuanling-accept-trustee", "trustee"),
    # 由新生儿母亲申请办理: no trustee in Qinbei.
    "qinbei": ("hospital", "qinbei-mch", "qinbei-accept", "mother"),
    # 可委托新生儿祖父母或外祖父母，经签字授权后办理.
    "jilin": ("service_center", "jilin-sc", "jilin-accept-counter", "grandparent"),
}
ONLINE_ONLY = {"lanzhou": "lanzhou-sc", "fuzhou": "fuzhou-sc"}


def example(region: str) -> dict[str, Any]:
    """The region's example as the case at the counter: twins, and for Jilin a
    grandfather with the mother's authorization instead of the father."""
    _kind, _code, name, role = COUNTERS[region]
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    second = copy.deepcopy(document["newborns"][0])
    born = parse_time(second["born_at"])
    second |= {
        "name": second["name"][:-1] + "禾",
        "sex": "2" if second["sex"] == "1" else "1",
        "born_at": born.replace(minute=(born.minute + 7) % 60).isoformat(),
        "record_number": second["record_number"] + "-2",
    }
    document["newborns"].append(second)
    # 钦北 送达方式: 预防接种证 自行领取 (the online example leaves it to the default).
    document["delivery"].setdefault("vaccination_certificate", {"method": "pickup"})
    if role == "grandparent":
        document["applicant"] = {
            "role": "grandparent",
            "name": "王建国",
            "id_number": "220102196005050311",
            "phone": "13500007777",
        }
        document["authorization"] = {
            "trustee": {"relation": "paternal_grandparent"},
            "items": document["items"],
            "valid_from": "2026-11-02",
            "valid_to": "2026-12-31",
            "signed_by_mother": True,
        }
        document["materials"] += ["trustee_id_card", "authorization_letter"]
    return document


@pytest.mark.parametrize("region", ["yuanling", "qinbei", "jilin"])
def test_a_clerk_enters_twins_at_the_counter(new_page, media_root, tmp_path, region):
    reference_seed()
    reference = default_reference()
    kind, code, _example, role = COUNTERS[region]
    document = example(region)
    clerk = staff("clerk", kind=kind, code=code, name="窗口周")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_bytes())

    page = new_page()
    staff_login(page, clerk.username)
    page.goto("/counter/new/")
    offered = {i.get_attribute("value") for i in page.locator("[name='items']").all()}
    assert set(document["items"]) - {"vaccination_certificate", "parenting_guidance"} <= offered
    if region == "jilin":  # 吉林: BMC issued before; 生育医疗费用报销 免申即享
        assert not offered & {"birth_certificate", "maternity_reimbursement"}
    for item in document["items"]:
        if item in offered:
            refreshing(page, lambda item=item: page.check(f"[name='items'][value='{item}']"))
    roles = {r.get_attribute("value") for r in page.locator("[name='applicant_role']").all()}
    assert role in roles
    if region == "qinbei":
        assert roles == {"mother"}  # 由新生儿母亲申请办理
    if role != "mother":
        refreshing(page, lambda: page.check(f"[name='applicant_role'][value='{role}']"))
    refreshing(page, lambda: page.select_option("[name='newborn_count']", "2"))
    assert page.locator("[data-section='newborn_2']").is_visible()
    if role != "mother":
        assert page.locator("[data-section='authorization']").is_visible()

    picked = fill_rows(page, document, reference)
    # Answers that lay out more (two parents of different ethnic groups): once more.
    page.click("[data-refresh-button]")
    page.wait_for_load_state()
    picked |= fill_rows(page, document, reference)
    assert {"hospitals", "ethnic_groups", "divisions"} <= picked
    for material in document["materials"]:
        box = page.locator(f"[name='materials'][value='{material}']")
        if box.count():
            box.check()
    page.set_input_files("[name='scan__birth_certificate']", str(scan))
    if role != "mother":  # the mother's signed letter and the trustee's ID card, scanned
        page.set_input_files("[name='scan__authorization_letter']", str(scan))
        page.set_input_files("[name='scan__trustee_id_card']", str(scan))
    with page.expect_navigation():
        page.click("button:has-text('提交预审')")
    errors = page.locator(".errors, .messages .error")
    assert errors.count() == 0, errors.first.inner_text()
    assert re.search(rf"/counter/cases/{region.upper()}-\d{{8}}-\d{{4}}/$", page.url)

    case = Case.objects.get()
    assert case.decision["decision"] == "accept", case.decision["reasons"]
    assert case.status == "in_progress"  # accepted at the counter, not 待补正
    assert len(case.document["newborns"]) == 2
    assert case.document["applicant"]["role"] == role
    if role != "mother":
        assert case.document["authorization"]["trustee"]["name"] == document["applicant"]["name"]

    printed = page.request.get(f"/counter/cases/{case.number}/form.pdf")
    assert printed.status == 200
    text = pdf_text(printed.body())
    first, second = document["newborns"]
    assert reference.hospitals[first["hospital"]].name in text
    assert first["name"] in text and second["name"] in text and "第2名新生儿" in text
    born = parse_time(first["born_at"])
    assert f"{born.year}年{born.month}月{born.day}日{born:%H:%M}" in text
    assert first["hospital"] not in text and not re.search(r"\d{4}-\d{2}-\d{2}T", text)
    assert "+08:00" not in text
    if role != "mother":
        assert "授权委托" in text


@pytest.mark.parametrize("region", sorted(ONLINE_ONLY))
def test_a_clerk_where_the_region_takes_no_counter_cases(new_page, region):
    clerk = staff("clerk", kind="service_center", code=ONLINE_ONLY[region], name="窗口马")
    page = new_page()
    staff_login(page, clerk.username)
    page.goto("/counter/new/")
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "不在本窗口受理" in text
    assert page.locator("[name='items']").count() == 0
