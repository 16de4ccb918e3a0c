"""A transaction's records held and written in one INSERT when the block ends (`audit_held`,
issue 10, session 29): only without savepoints; the database still decides the chain (a
stale guess is read again and the records placed again), and a transaction marked for
rollback drops them — nothing written, nothing left."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from onestop.audit.models import AuditRecord
from onestop.audit.services import audit_held, verify_chain
from onestop.audit.tests.test_append import AT, assert_chained
from onestop.common.savepoints import savepoints_off


def audit_inserts(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith('INSERT INTO "audit_auditrecord"'))


def audit_reads(queries) -> int:
    return sum(
        1 for q in queries if q["sql"].startswith("SELECT") and "audit_auditrecord" in q["sql"]
    )


@pytest.mark.django_db(transaction=True)  # real transactions: h-old's "a" not known after
def test_a_blocks_records_of_several_streams_are_one_insert_and_verify(write):
    write("h-old", "a")  # a stream with a record before the block, which it does not know
    with (
        transaction.atomic(),
        savepoints_off(),
        CaptureQueriesContext(connection) as queries,
        audit_held(),
    ):
        made = [write("h-one", "x", new=True)]
        made += [write("h-one", f"x{n}") for n in range(4)]
        made += [write("h-two", "y", new=True), write("h-two", "y1")]
        made += [write("h-old", "b"), write("h-old", "c")]
        assert all(r.pk is None and r.seq and r.hash for r in made)  # placed, held
        assert audit_inserts(queries) == 0
    # h-old's last record read once (nothing known); then every record in one INSERT
    assert (audit_reads(queries), audit_inserts(queries), len(queries)) == (1, 1, 2)
    assert all(r.pk is not None for r in made)
    assert_chained("h-one", ["x", "x0", "x1", "x2", "x3"])
    assert_chained("h-two", ["y", "y1"])
    assert_chained("h-old", ["a", "b", "c"])
    in_database = AuditRecord.objects.filter(stream__in=["h-one", "h-two", "h-old"], seq__gt=1)
    assert {r.pk: (r.stream, r.seq, r.hash) for r in made if r.seq > 1} == {
        r.pk: (r.stream, r.seq, r.hash) for r in in_database
    }


@pytest.mark.django_db
def test_a_stale_guess_is_read_again_and_every_held_record_placed_after_it(write):
    with (
        transaction.atomic(),
        savepoints_off(),
        CaptureQueriesContext(connection) as queries,
        audit_held(),
    ):
        write("h-stale", "a", new=True)  # guess: no record yet
        write("h-fine", "f", new=True)
        # Another writer's record lands first (as a committed one would be seen).
        other = AuditRecord.objects.create(
            at=AT,
            stream="h-stale",
            seq=1,
            actor=None,
            actor_label="其他",
            action="other",
            object_type="case",
            object_id="h-stale",
            detail={},
            prev_hash="0" * 64,
            hash="e" * 64,
            alg="sha256",
        )
        write("h-stale", "b")
    # the conditional INSERT wrote nothing (one stream's guess failed: all or none); the
    # streams' last records read in one statement; every held record written in one
    assert audit_inserts(queries) == 1 + 2  # the other writer's, the refused one, the one
    stale = list(AuditRecord.objects.filter(stream="h-stale").order_by("seq"))
    assert [(r.seq, r.action) for r in stale] == [(1, "other"), (2, "a"), (3, "b")]
    assert stale[1].prev_hash == other.hash and stale[2].prev_hash == stale[1].hash
    assert_chained("h-fine", ["f"])


@pytest.mark.django_db(transaction=True)  # real transactions: the rollback is the database's
def test_an_error_that_rolls_the_transaction_back_leaves_no_record(write):
    before = AuditRecord.objects.count()
    with (
        pytest.raises(RuntimeError),
        transaction.atomic(),
        savepoints_off(),
        CaptureQueriesContext(connection) as queries,
        audit_held(),
    ):
        write("h-gone", "a", new=True)
        write("h-gone", "b")
        with transaction.atomic():  # a block left by an error: no savepoint,
            write("h-gone-too", "c", new=True)  # the transaction is doomed
            raise RuntimeError("mid-batch")
    assert audit_inserts(queries) == 0  # dropped, never sent
    assert AuditRecord.objects.count() == before
    assert not AuditRecord.objects.filter(stream__startswith="h-gone").exists()


@pytest.mark.django_db
def test_an_error_that_may_still_commit_writes_the_records_with_the_change(write):
    """An error outside any inner block leaves the transaction usable; what was written
    before it may commit (an API request's count does): its records with it."""
    with transaction.atomic(), savepoints_off():
        with pytest.raises(ValueError), audit_held():
            write("h-kept", "a", new=True)
            raise ValueError("after the change")
        assert not connection.needs_rollback
    assert_chained("h-kept", ["a"])


@pytest.mark.django_db
def test_with_savepoints_each_record_is_written_at_once(write):
    """A savepoint may roll back part of the transaction alone: nothing is held."""
    with transaction.atomic(), audit_held():
        record = write("h-each", "a", new=True)
        assert record.pk is not None
        with pytest.raises(RuntimeError), transaction.atomic():
            write("h-each", "b")
            raise RuntimeError("rolled back with its savepoint")
        write("h-each", "c")
    assert_chained("h-each", ["a", "c"])
    assert verify_chain("h-each") == []


@pytest.mark.django_db(transaction=True)
def test_a_held_record_is_the_record_the_verifier_and_the_old_signing_agree_on(
    django_user_model, beijing
):
    """Session 30 made a record with fewer calls (the HMAC by ``hmac.digest``, the actor
    by id, one look at the transaction per record): the records are byte for byte those
    the earlier code made — the chain check verifies them, and the HMAC as ``hmac.new``
    computed it over the canonical JSON matches each stored hash."""
    import hashlib
    import hmac
    import json

    from django.conf import settings

    from onestop.audit.services import audit_keys, audit_record, check_chains

    user = django_user_model.objects.create(username="held-verify")
    at = beijing("2026-11-20T09:00:00+08:00")
    with transaction.atomic(), savepoints_off(), audit_held():
        for n in range(3):
            audit_record(
                new=n == 0,
                stream="h-verify",
                at=at,
                actor=user,
                actor_label="审核员 甲",
                action="item_completed",
                object_type="item",
                object_id=str(n),
                detail={"item": "出生医学证明", "n": n},
            )
    stored = list(AuditRecord.objects.filter(stream="h-verify").order_by("seq"))
    assert [r.actor_id for r in stored] == [user.pk] * 3
    assert check_chains(stored).problems == []
    assert verify_chain("h-verify") == []
    (kid, key), *_ = audit_keys(settings.AUDIT_KEYS).items()
    prev = "0" * 64
    for record in stored:
        body = {
            "at": record.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "stream": record.stream,
            "seq": record.seq,
            "actor": record.actor_id,
            "actor_label": record.actor_label,
            "action": record.action,
            "object_type": record.object_type,
            "object_id": record.object_id,
            "detail": record.detail,
            "alg": "hmac-sha256",
            "kid": kid,
        }
        canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        old = hmac.new(key, f"{prev}\n{canonical}".encode(), hashlib.sha256).hexdigest()
        assert (record.prev_hash, record.key_id, record.hash) == (prev, kid, old)
        prev = record.hash
