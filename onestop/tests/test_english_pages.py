"""With the language cookie set to English, the staff pages and the sign-in errors built in
Python (not only the templates' own words) are English; without it they stay Chinese.

What may still be Chinese on these pages is data: people's names, addresses, institution
and region names. The checks below look only at labels, choices and messages."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.test import Client

from onestop.cases.services import case_submit
from onestop.policy.loader import default_packs
from onestop.testing.factories import officer, staff
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
TAG = re.compile(r"<[^>]+>")


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def texts(pattern: str, html: str) -> list[str]:
    """The plain text of every match of ``pattern`` (its first group) in ``html``."""
    return [unescape(TAG.sub(" ", m)).strip() for m in re.findall(pattern, html, re.DOTALL)]


def chinese(values: list[str]) -> list[str]:
    return [v for v in values if CJK.search(v)]


@pytest.fixture
def bmc(example, beijing, media_root) -> CaseItem:
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    return CaseItem.objects.get(case=case, item="birth_certificate")


def test_department_task_page_in_english(bmc):
    client = english(Client())
    client.force_login(officer("hospital", "hospital", "qinbei-mch", "韦敏"))
    html = client.get(f"/work/tasks/{bmc.pk}/").content.decode()
    title = texts(r"<h1>(.*?)</h1>", html)
    rows = texts(r"<th>(.*?)</th>", html)  # the labels of the case data
    values = dict(zip(rows, texts(r"<td>(.*?)</td>", html), strict=True))
    result_labels = texts(r'<label for="f-[^"]*">(.*?)</label>', html)
    materials = texts(r"<li>(.*?)</li>", html)
    assert title and rows and result_labels and materials
    assert chinese(title + rows + result_labels + materials) == []
    assert "Birth medical certificate (first issue)" in title[0]
    assert values["Newborn's sex"] == "Male"
    assert values["Delivered in hospital"] == "Yes"
    assert values["Mother's residency/nationality"] == "Mainland resident"
    assert result_labels[0] == "Birth medical certificate number"
    # The BMC's optional fields, correctable later (ADR 0042).
    assert [label.split(" (")[0] for label in result_labels[1:]] == ["Newborn's name", "Blood type"]
    assert "Due: " in html
    assert "覃沐阳" in html  # data stays as entered
    queue = client.get("/work/").content.decode()
    assert chinese(texts(r'<td data-label="Item">(.*?)</td>', queue)) == []
    # The action messages follow the language too.
    done = client.post(
        f"/work/tasks/{bmc.pk}/claim/", {"version": bmc.version}, follow=True
    ).content.decode()
    assert "Claimed; please process it" in done


def test_department_task_page_stays_chinese_by_default(bmc):
    client = Client()
    client.force_login(officer("hospital", "hospital", "qinbei-mch"))
    html = client.get(f"/work/tasks/{bmc.pk}/").content.decode()
    assert "《出生医学证明》办理（首签）" in html
    assert "<th>新生儿性别</th><td>男</td>" in html
    assert "办理期限：" in html and "出生医学证明编号" in html


def test_counter_entry_form_in_english(media_root):
    client = english(Client())
    client.force_login(staff("clerk", kind="service_center", code="jilin-sc", name="窗口刘"))
    # Every item the region offers at the counter ticked, so every section is on the page.
    pack = default_packs().current("jilin")
    assert pack is not None
    offered = [entry.item for entry in pack.items if not entry.automatic]
    choice = {"action": "refresh", "region": "jilin", "items": offered}
    response = client.post("/counter/new/", {**choice, "applicant_role": "grandparent"})
    html = response.content.decode()
    labels = [label.removesuffix(" *") for label in texts(r"<label[^>]*>(.*?)</label>", html)]
    # Radio groups (the applicant's role, the items) are fieldsets: their names are legends.
    labels += [legend.removesuffix(" *") for legend in texts(r"<legend[^>]*>(.*?)</legend>", html)]
    # The region names come from the policy packs, and the hospitals', police stations',
    # bank branches' and places' names from the reference tables (data, Chinese only), so
    # those lists are left out; the ethnic groups and banks have English names.
    options = texts(
        r"<option[^>]*>(.*?)</option>",
        re.sub(
            r'<select name="region".*?</select>'
            r'|<select [^>]*data-picker="'
            r'(hospitals|police_stations|divisions|bank_branches)".*?</select>',
            "",
            html,
            flags=re.DOTALL,
        ),
    )
    assert len(labels) > 60 and len(options) > 40
    assert chinese(labels + options) == []
    for word in ("Mother's name", "Father's ID number", "Applicant's role", "Newborn's sex"):
        assert word in labels
    # The roles and delivery methods are radio buttons (labels); the banks are options.
    assert "Grandparent" in labels and "Collect in person" in labels
    assert "Bank of China" in options
    assert "Birth registration (hukou)" in labels  # an item to tick
    chinese_form = Client()
    chinese_form.force_login(staff("clerk", kind="service_center", code="jilin-sc"))
    page = chinese_form.get("/counter/new/").content.decode()
    assert "母亲姓名" in page and "祖父母/外祖父母" in page


def test_sign_in_code_errors_in_english(db):
    client = english(Client())
    page = client.post("/accounts/parent/", {"phone": "12345"}).content.decode()
    assert "Enter an 11-digit mobile number, e.g. 13800000000" in page
    response = client.post("/accounts/parent/", {"phone": "13800000000", "code": "000000"})
    messages = texts(r'<ul class="messages">(.*?)</ul>', response.content.decode())
    assert messages == ["The code has expired or does not exist; request a new one"]
    chinese_page = Client().post("/accounts/parent/", {"phone": "12345"}).content.decode()
    assert "请输入11位手机号码" in chinese_page
