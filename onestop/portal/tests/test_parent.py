"""Parents sign in with phone + SMS code and see only their own cases' progress."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from onestop.cases.services import case_submit
from onestop.notifications.models import Notification
from onestop.testing.factories import parent

pytestmark = pytest.mark.django_db


def test_parent_signs_in_with_a_one_time_code_and_sees_progress(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    client = Client()
    assert client.post("/accounts/parent/", {"phone": "13800000000"}).status_code == 200
    sms = Notification.objects.filter(channel="sms", case__isnull=True).latest("pk")
    code = re.search(r"验证码是 (\d{6})", sms.body)
    assert code is not None
    wrong = client.post("/accounts/parent/", {"phone": "13800000000", "code": "000000"})
    assert "验证码不正确" in wrong.content.decode() or code.group(1) == "000000"
    ok = client.post("/accounts/parent/", {"phone": "13800000000", "code": code.group(1)})
    assert ok.status_code == 302
    page = client.get(f"/my/cases/{case.number}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "《出生医学证明》" in text and "待办理" in text
    assert "450703199203150220" not in text  # no ID numbers on the progress page


def test_a_parent_cannot_open_someone_elses_case(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    client = Client()
    client.force_login(parent("13911112222"))
    assert client.get(f"/my/cases/{case.number}/").status_code == 404
    assert case.number not in client.get("/my/cases/").content.decode()


def test_pages_are_chinese_by_default_and_english_on_request(db):
    client = Client()
    assert "出生一件事" in client.get("/").content.decode()
    # An English-language browser still gets Chinese: the default of a Chinese service.
    assert "出生一件事" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # The language switch sets the cookie; then the pages are English.
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert switched.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "Newborn one-stop service" in page.content.decode()


def test_parent_downloads_the_notice_pdf_of_their_case_only(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    owner = Client()
    owner.force_login(parent("13800000000"))
    response = owner.get(f"/my/cases/{case.number}/notice.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    stranger = Client()
    stranger.force_login(parent("13911113333"))
    assert stranger.get(f"/my/cases/{case.number}/notice.pdf").status_code == 404
