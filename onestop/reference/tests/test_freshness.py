"""The reference data in force is rebuilt when a table changes, whoever changed it, and
checking costs one statement (issue 10, part 3: the officer's task page ran five aggregate
queries for this on every request; docs/performance.md "1,000 users")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.reference import domain
from onestop.reference.models import (
    BankBranch,
    Division,
    EthnicGroup,
    Institution,
    ReferenceStamp,
)
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
    # next call: the freshness is read from the database itself.
    station = Institution.objects.filter(kind="police_station").order_by("code").first()
    assert station is not None
    Institution.objects.filter(pk=station.pk).update(
        name="改名后的派出所", updated_at=timezone.now()
    )
    changed = current_reference()
    assert changed is not first
    assert changed.police_stations[station.code].name == "改名后的派出所"


def test_an_update_that_leaves_updated_at_alone_is_seen():
    """The stamp is kept by the database's triggers (migration 0004), so neither an ORM
    bulk update that does not set ``updated_at`` nor a hand-written statement (an operator
    in ``psql``) leaves a process on the old names."""
    reference_seed()
    first = current_reference()
    station = Institution.objects.filter(kind="police_station").order_by("code").first()
    assert station is not None
    Institution.objects.filter(pk=station.pk).update(name="未改时间的派出所")
    changed = current_reference()
    assert changed is not first
    assert changed.police_stations[station.code].name == "未改时间的派出所"

    table = connection.ops.quote_name(Division._meta.db_table)
    division = Division.objects.order_by("code").first()
    assert division is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET name = %s WHERE code = %s", ["手改的区划", division.code]
        )
    assert current_reference().divisions[division.code].name == "手改的区划"
    with CaptureQueriesContext(connection) as queries:
        again = current_reference()
    assert len(queries) == 1 and again.divisions[division.code].name == "手改的区划"


def test_without_the_stamp_row_the_tables_themselves_are_compared():
    """A database whose stamp row is gone (a test run's flush) still sees changes."""
    reference_seed()
    ReferenceStamp.objects.all().delete()
    first = current_reference()
    station = Institution.objects.filter(kind="police_station").order_by("code").first()
    assert station is not None
    ReferenceStamp.objects.all().delete()  # the triggers may have put it back
    Institution.objects.filter(pk=station.pk).update(
        name="又改名的派出所", updated_at=timezone.now()
    )
    ReferenceStamp.objects.all().delete()
    assert current_reference().police_stations[station.code].name == "又改名的派出所"
    assert current_reference() is not first


def test_a_deleted_row_is_seen_even_when_the_latest_change_time_stays():
    reference_seed()
    before = current_reference()
    branch = BankBranch.objects.order_by("code").first()
    assert branch is not None and branch.code in before.bank_branches
    BankBranch.objects.filter(pk=branch.pk).delete()  # the count changes, MAX may not
    assert branch.code not in current_reference().bank_branches
