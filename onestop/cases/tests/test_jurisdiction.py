"""A filer files only the cases its institution or region serves (issue 8, defect 7: "The
Lanzhou hospital's API client submitted a Qinbei case by leaving `newborns[0].hospital`
empty (201, SMS sent); the Lanzhou counter clerk entered a Qinbei case. A filer may only
file cases its own institution/region serves.")"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onestop.cases.models import Case
from onestop.cases.tests.support import enter_at_counter
from onestop.core.clock import parse_time
from onestop.integration.models import WebhookDelivery
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.notifications.models import Notification, SmsOutbox
from onestop.testing.factories import staff
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db

QINBEI_AT = parse_time("2026-11-20T10:00:00+08:00")


def nothing_stored() -> bool:
    return not (
        Case.objects.exists()
        or Notification.objects.exists()
        or SmsOutbox.objects.exists()
        or WebhookDelivery.objects.exists()
    )


def blank_hospital(document: dict[str, Any]) -> dict[str, Any]:
    document["newborns"][0]["hospital"] = ""
    return document


# --- API -------------------------------------------------------------------------------


def test_the_lanzhou_hospital_cannot_file_a_qinbei_case_through_the_api(example, media_root):
    lanzhou = Api(hospital("lanzhou-mch", may_submit_cases=True, webhook_url="").token)
    tries = [
        blank_hospital(current(example("qinbei-accept"))),  # the reported attack
        current(example("qinbei-accept")),  # another hospital named outright
    ]
    for n, document in enumerate(tries):
        response = lanzhou.post("/cases", document, key=f"k{n}")
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "outside_jurisdiction"
        assert "本机构" in response.json()["message"]
    assert nothing_stored()
    reliability_record("jurisdiction", "API: cases filed outside the filer's hospital tried", 2)
    reliability_record("jurisdiction", "API: such cases stored", Case.objects.count())


def test_a_hospital_system_files_its_own_births_and_a_blank_hospital_is_its_own(
    example, media_root
):
    lanzhou = Api(hospital("lanzhou-mch", may_submit_cases=True).token)
    response = lanzhou.post("/cases", blank_hospital(current(example("lanzhou-accept"))), key="a")
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert case.document["newborns"][0]["hospital"] == "lanzhou-mch"
    assert case.hospital_code == "lanzhou-mch"


def test_a_division_bound_client_files_only_in_its_division(example, media_root):
    qinbei_cdc = Api(issue("cdc", "division", "450703", may_submit_cases=True).token)
    response = qinbei_cdc.post("/cases", current(example("lanzhou-accept")), key="a")
    assert response.status_code == 403 and response.json()["code"] == "outside_jurisdiction"
    assert nothing_stored()
    ok = qinbei_cdc.post("/cases", current(example("qinbei-accept")), key="b")
    assert ok.status_code == 201, ok.json()


# --- counter ---------------------------------------------------------------------------


def clerk(kind: str, code: str) -> Client:
    client = Client()
    client.force_login(staff("clerk", kind=kind, code=code, name="窗口"))
    return client


@pytest.fixture
def at_qinbei_time(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: QINBEI_AT)


def test_the_lanzhou_counter_cannot_enter_a_qinbei_case(example, media_root, at_qinbei_time):
    # (The counter form itself requires the birth hospital, so a blank one never gets as
    # far as the case service there.)
    tries = [
        ("hospital", "lanzhou-mch", example("qinbei-accept")),
        ("service_center", "lanzhou-sc", example("qinbei-accept")),
        ("service_center", "jilin-sc", example("qinbei-accept")),
    ]
    for kind, code, document in tries:
        response = enter_at_counter(clerk(kind, code), document)
        page = response.content.decode()
        assert response.status_code == 200, (kind, code)
        if code.startswith("lanzhou"):
            # 兰州 takes applications online only: its counters have no entry form at all
            # (issue 9: the counter form is the region's own form).
            assert "不在本窗口受理" in page and 'name="items"' not in page, (kind, code)
            continue
        assert "不能提交" in page or "只能提交本机构" in page, (kind, code)
        assert "覃沐阳" in page  # what the clerk typed is still in the form
    assert nothing_stored()
    reliability_record("jurisdiction", "counter: cases entered outside the clerk's area tried", 3)
    reliability_record("jurisdiction", "counter: such cases stored", Case.objects.count())


def test_the_qinbei_counter_enters_its_own_case(example, media_root, at_qinbei_time):
    response = enter_at_counter(clerk("hospital", "qinbei-mch"), example("qinbei-accept"))
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get()
    assert case.hospital_code == "qinbei-mch" and case.counter_code == "qinbei-mch"
