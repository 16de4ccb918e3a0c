"""The reference data in force is rebuilt when a table changes, whoever changed it, and
checking costs one statement (issue 10, part 3: the officer's task page ran five aggregate
queries for this on every request; docs/performance.md "1,000 users")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.reference import domain
from onestop.reference.models import BankBranch, Division, EthnicGroup, Institution
from onestop.reference.selectors import current_reference
from onestop.reference.services import reference_seed

pytestmark = pytest.mark.django_db


def test_an_empty_database_uses_the_packaged_tables():
    Institution.objects.all().delete()
    Division.objects.all().delete()
    EthnicGroup.objects.all().delete()
    assert current_reference() is domain.default_reference()


def test_the_check_is_one_statement_and_sees_a_change_made_without_signals():
    reference_seed()
    first = current_reference()
    with CaptureQueriesContext(connection) as queries:
        again = current_reference()
    assert again is first  # nothing changed: the cached build
    assert len(queries) == 1
    # A bulk update (no save(), no signal: as another process's would be) is seen at the
    # next call: the freshness is read from the tables themselves. (The stamp is the row
    # count and the latest ``updated_at``, which admin's and every save() set; an update
    # that leaves ``updated_at`` alone is not seen — before or after this change.)
    station = Institution.objects.filter(kind="police_station").order_by("code").first()
    assert station is not None
    Institution.objects.filter(pk=station.pk).update(
        name="改名后的派出所", updated_at=timezone.now()
    )
    changed = current_reference()
    assert changed is not first
    assert changed.police_stations[station.code].name == "改名后的派出所"


def test_a_deleted_row_is_seen_even_when_the_latest_change_time_stays():
    reference_seed()
    before = current_reference()
    branch = BankBranch.objects.order_by("code").first()
    assert branch is not None and branch.code in before.bank_branches
    BankBranch.objects.filter(pk=branch.pk).delete()  # the count changes, MAX may not
    assert branch.code not in current_reference().bank_branches
