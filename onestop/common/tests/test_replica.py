"""The read-replica router (ADR 0027): reads asked for go to the replica, writes and reads
inside a transaction to the primary; a miss on the replica is read again on the primary.
(The real streaming replica is exercised by onestop/ops/tests/test_several_machines.py.)"""

from __future__ import annotations

import pytest
from django.db import transaction

from onestop.certificates.models import ELicence
from onestop.common import replica
from onestop.common.replica import ReplicaRouter, read_with_fallback, replica_reads


@pytest.fixture
def with_replica(monkeypatch: pytest.MonkeyPatch) -> ReplicaRouter:
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    return ReplicaRouter()


def test_only_reads_asked_for_go_to_the_replica(with_replica):
    router = with_replica
    assert router.db_for_read(ELicence) == "default"
    with replica_reads():
        assert router.db_for_read(ELicence) == "replica"
        assert router.db_for_write(ELicence) == "default"
    assert router.db_for_read(ELicence) == "default"
    assert router.allow_migrate("replica", "certificates") is False
    assert router.allow_migrate("default", "certificates") is True


@pytest.mark.django_db
def test_reads_inside_a_transaction_stay_on_the_primary(with_replica):
    with replica_reads(), transaction.atomic():
        assert with_replica.db_for_read(ELicence) == "default"


def test_a_miss_on_the_replica_is_read_again_on_the_primary(with_replica):
    asked: list[str | None] = []

    def lagging() -> str | None:
        asked.append(with_replica.db_for_read(ELicence))
        return None if len(asked) == 1 else "issued a moment ago"

    assert read_with_fallback(lagging) == "issued a moment ago"
    assert asked == ["replica", "default"]

    asked.clear()

    def current() -> str:
        asked.append(with_replica.db_for_read(ELicence))
        return "on the replica"

    assert read_with_fallback(current) == "on the replica"
    assert asked == ["replica"]  # found on the replica: the primary is not asked


def test_without_a_replica_everything_reads_the_primary():
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(ELicence) == "default"
