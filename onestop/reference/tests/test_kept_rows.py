"""An institution's, bank's or branch's row is kept per process under the reference
stamp (issue 10 part 2, session 22: a completion read the issuer's name, its contact, the
card's branch and bank each time): read once while the stamp stands, again as soon as any
process changes a reference table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
    assert len(queries) == 1  # the name once; the contact kept


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
