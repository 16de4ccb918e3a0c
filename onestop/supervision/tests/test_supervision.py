"""Supervisors find cases of their jurisdiction and see personal data masked."""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.cases.services import case_submit
from onestop.testing.factories import officer, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(example, beijing, media_root):
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def test_supervisor_finds_a_case_by_mothers_id_and_sees_it_masked(case):
    client = Client()
    client.force_login(staff("supervisor", kind="division", code="450703"))
    listing = client.post("/supervise/", {"q": "450703199203150220"}, follow=True).content.decode()
    assert case.number in listing
    page = client.get(f"/supervise/cases/{case.number}/").content.decode()
    assert "450703********0220" in page
    assert "450703199203150220" not in page and "13800000000" not in page
    assert "黄*" in page


def test_supervisor_of_another_region_and_officers_see_nothing(case):
    other = Client()
    other.force_login(staff("supervisor", kind="division", code="6201"))
    assert case.number not in other.get("/supervise/").content.decode()
    assert other.get(f"/supervise/cases/{case.number}/").status_code == 404
    police = Client()
    police.force_login(officer("police", "police_station", "qinbei-xintang"))
    assert police.get("/supervise/").status_code == 404


def test_the_supervisors_list_names_the_region_and_writes_dates(case):
    """Issue 9: "the supervisor's lists (region names, not `lanzhou`)"."""
    client = Client()
    client.force_login(staff("supervisor", kind="division", code="450703"))
    listing = client.get("/supervise/").content.decode()
    assert case.number in listing
    pack_name = "钦州市钦北区新生儿出生“一件事”"
    assert f">{pack_name}</td>" in listing
    assert ">qinbei<" not in listing
    assert "2026年11月20日 09:30" in listing and "2026-11-20 09:30" not in listing
