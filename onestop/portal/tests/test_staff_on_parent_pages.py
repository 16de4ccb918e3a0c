"""Parents' pages are for the case's parents only (issue 8, defect 10: "83 such reads by
admin, supervisors and other departments' officers succeeded and wrote no access record")."""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.accounts.models import User
from onestop.audit.models import AccessRecord
from onestop.cases.services import case_submit
from onestop.testing.factories import officer, parent, staff
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db


def _staff() -> dict[str, User]:
    admin = staff("admin")
    admin.is_superuser = True
    admin.save()
    return {
        "admin": admin,
        "supervisor": staff("supervisor", kind="division", code="450703"),
        "officer of another department": officer("tax", "division", "450703"),
        "officer of the case's department": officer("police", "police_station", "qinbei-xintang"),
        "clerk": staff("clerk", kind="service_center", code="qinbei-ssc"),
    }


def test_staff_get_404_and_a_refused_access_record_on_parents_pages(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    pages = {
        "portal:case": f"/my/cases/{case.number}/",
        "portal:notice": f"/my/cases/{case.number}/notice.pdf",
        "portal:supplement": f"/my/cases/{case.number}/supplement/",
    }
    tried = leaked = 0
    for role, user in _staff().items():
        client = Client()
        client.force_login(user)
        for what, url in pages.items():
            response = client.get(url)
            tried += 1
            leaked += response.status_code != 404
            assert response.status_code == 404, (role, url)
            assert case.number not in response.content.decode()
            record = AccessRecord.objects.filter(actor=user, what=what).get()
            assert record.case_number == case.number and record.granted is False
        listing = client.get("/my/cases/")
        tried += 1
        leaked += listing.status_code != 404
        assert listing.status_code == 404, role
        assert AccessRecord.objects.filter(actor=user, what="portal:cases", granted=False)
        assert client.get("/my/elicences/E0000000001.pdf").status_code == 404
        assert AccessRecord.objects.filter(
            actor=user, what="portal:elicence:E0000000001", granted=False
        )
        assert client.get("/my/messages/").status_code == 404
        assert AccessRecord.objects.filter(actor=user, what="portal:messages", granted=False)
        urge = client.post(f"/my/cases/{case.number}/urge/birth_certificate/")
        assert urge.status_code == 404
        assert AccessRecord.objects.filter(actor=user, what="portal:urge", granted=False)
    assert not AccessRecord.objects.filter(granted=True).exists()
    reliability_record("parents' pages", "staff reads of parents' case pages tried", tried)
    reliability_record("parents' pages", "staff reads that got the page", leaked)

    owner = Client()
    owner.force_login(parent("13800000000"))
    assert owner.get(pages["portal:case"]).status_code == 200
    assert owner.get(pages["portal:notice"]).status_code == 200
    assert case.number in owner.get("/my/cases/").content.decode()

    stranger = Client()
    stranger.force_login(parent("13911113333"))
    assert stranger.get(pages["portal:case"]).status_code == 404
    assert stranger.get(pages["portal:notice"]).status_code == 404
