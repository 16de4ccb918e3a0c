"""An institution's, bank's or branch's row comes from the reference data in force, kept
per process under the reference stamp (issue 10 part 2, session 22: a completion read the
issuer's name, its contact, the card's branch and bank each time; session 23, h-tidyapi:
from the one build `current_reference`, no cache of rows of its own): read once while the
stamp stands, again as soon as any process changes a reference table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.accounts.models import Role
from onestop.reference.models import Bank, BankBranch, Institution
from onestop.reference.selectors import (
    bank_branch,
    bank_name,
    institution_contact,
    institution_name,
    request_finished,
    request_started,
)
from onestop.reference.services import reference_seed
from onestop.testing.factories import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_request():
    request_started()
    yield
    request_finished()


def _hospital() -> Institution:
    found = Institution.objects.filter(kind="hospital").order_by("code").first()
    assert found is not None
    return found


def test_a_row_is_read_once_while_the_stamp_stands(in_request):
    reference_seed()
    hospital = _hospital()
    first = institution_contact("hospital", hospital.code)
    assert first == (hospital.name, hospital.address, hospital.office_hours)
    with CaptureQueriesContext(connection) as queries:
        assert institution_contact("hospital", hospital.code) == first
        assert institution_name("hospital", hospital.code) == hospital.name
        assert institution_name("hospital", hospital.code) == hospital.name
    assert len(queries) == 0  # the build of the reference data in force holds them


def test_a_change_by_anyone_is_seen_by_the_next_request(in_request):
    reference_seed()
    hospital = _hospital()
    assert institution_name("hospital", hospital.code) == hospital.name
    # A bulk update (no signal, as another process's or psql's): the triggers move the
    # stamp, which the next request reads.
    Institution.objects.filter(pk=hospital.pk).update(name="改名后的医院", address="新地址")
    request_finished()
    request_started()
    assert institution_name("hospital", hospital.code) == "改名后的医院"
    contact = institution_contact("hospital", hospital.code)
    assert contact is not None and contact[:2] == ("改名后的医院", "新地址")
    # A save in the same request is seen at once (the stamp is read again after it).
    hospital.refresh_from_db()
    hospital.name = "又改名的医院"
    hospital.save()
    assert institution_name("hospital", hospital.code) == "又改名的医院"


def test_outside_a_request_every_call_reads_the_stamp():
    reference_seed()
    hospital = _hospital()
    institution_name("hospital", hospital.code)
    Institution.objects.filter(pk=hospital.pk).update(name="改名后的医院")
    assert institution_name("hospital", hospital.code) == "改名后的医院"


def test_banks_and_branches_and_unknown_codes(in_request):
    reference_seed()
    branch = BankBranch.objects.order_by("code").first()
    assert branch is not None
    found = bank_branch(branch.code)
    assert found is not None and (found.name, found.address) == (branch.name, branch.address)
    assert bank_name(branch.bank) == Bank.objects.get(code=branch.bank).name
    assert bank_branch("") is None and bank_name("") is None
    assert bank_name("no-such-bank") is None
    assert institution_name("hospital", "no-such-hospital") == "no-such-hospital"
    assert institution_contact("nothing", "no-such-code") is None
    with CaptureQueriesContext(connection) as queries:
        assert bank_name("no-such-bank") is None  # an absent row is kept too
    assert len(queries) == 0


def test_unseeded_tables_name_no_institution_and_give_packaged_contacts():
    # Before seeding (an empty database) a name is its code and a contact the packaged
    # name without address, as reads of the empty tables answered before (session 23).
    assert not Institution.objects.exists()
    assert institution_name("hospital", "qinbei-mch") == "qinbei-mch"
    contact = institution_contact("hospital", "qinbei-mch")
    assert contact is not None and contact[0] != "qinbei-mch" and contact[1:] == ("", "")
    assert bank_name("icbc") is None


def test_a_change_made_in_the_admin_is_seen_by_the_next_request():
    reference_seed()
    hospital = Institution.objects.get(kind="hospital", code="qinbei-mch")
    clerk = Client()
    clerk.force_login(staff(Role.CLERK, kind="hospital", code="qinbei-mch"))
    page = clerk.get("/counter/new/")
    assert page.status_code == 200 and hospital.name in page.content.decode()
    admin = staff(Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    site = Client()
    site.force_login(admin)
    changed = site.post(
        f"/admin/reference/institution/{hospital.pk}/change/",
        {
            "kind": hospital.kind,
            "code": hospital.code,
            "name": "改名后的妇幼保健院",
            "division": hospital.division,
            "midwifery": "on" if hospital.midwifery else "",
            "address": "新地址 1 号",
            "office_hours": hospital.office_hours,
        },
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert Institution.objects.get(pk=hospital.pk).name == "改名后的妇幼保健院"
    assert "改名后的妇幼保健院" in clerk.get("/counter/new/").content.decode()
    assert institution_contact("hospital", "qinbei-mch") == (
        "改名后的妇幼保健院",
        "新地址 1 号",
        hospital.office_hours,
    )
