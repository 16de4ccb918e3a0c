"""A record appended where the transaction already knows its stream's last record is one
conditional INSERT, which the database lets through only while that record is still the
stream's last (issue 10, session 23); a guess gone stale — another writer came first, a
record rolled back — is read again, and the chain stays exactly as it would have been."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from onestop.audit.models import AuditRecord
from onestop.audit.services import GENESIS, verify_chain
from onestop.cases.models import Case
from onestop.cases.services import case_locked, case_submit
from onestop.core.clock import parse_time
from onestop.testing.costs import audit_chain_reads
from onestop.testing.locks import waiting_for_a_lock

AT = parse_time("2026-11-20T10:00:00+08:00")


def written(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith("INSERT"))


def assert_chained(stream: str, actions: list[str]) -> None:
    records = list(AuditRecord.objects.filter(stream=stream).order_by("seq"))
    assert [r.action for r in records] == actions
    assert [r.seq for r in records] == list(range(1, len(actions) + 1))
    assert [r.prev_hash for r in records] == [GENESIS] + [r.hash for r in records[:-1]]
    assert verify_chain(stream) == []


@pytest.mark.django_db
def test_the_records_a_transaction_writes_after_its_first_are_one_statement_each(write):
    with transaction.atomic():
        with CaptureQueriesContext(connection) as first:
            write("s-one", "a")
        with CaptureQueriesContext(connection) as then:
            write("s-one", "b")
            write("s-one", "c")
    assert (audit_chain_reads(first), written(first)) == (1, 1)  # nothing known: read, write
    assert (audit_chain_reads(then), written(then), len(then)) == (0, 2, 2)
    assert_chained("s-one", ["a", "b", "c"])


@pytest.mark.django_db
def test_a_guess_gone_stale_is_read_again_and_the_chain_is_unbroken(write):
    with transaction.atomic():
        write("s-stale", "a")  # known: seq 1
        # another writer's record the transaction did not see written (as a concurrent
        # transaction's committed record would be): the guess is now stale
        last = AuditRecord.objects.get(stream="s-stale", seq=1)
        behind = AuditRecord.objects.create(
            at=AT,
            stream="s-stale",
            seq=2,
            actor=None,
            actor_label="其他",
            action="b",
            object_type="case",
            object_id="s-stale",
            detail={"state": "b"},
            prev_hash=last.hash,
            hash="f" * 64,
            alg="sha256",
        )
        with CaptureQueriesContext(connection) as queries:
            write("s-stale", "c")
    # the conditional INSERT wrote nothing; the last record read; the record written
    assert (written(queries), audit_chain_reads(queries)) == (2, 1)
    records = list(AuditRecord.objects.filter(stream="s-stale").order_by("seq"))
    assert [(r.seq, r.action) for r in records] == [(1, "a"), (2, "b"), (3, "c")]
    assert records[2].prev_hash == behind.hash


@pytest.mark.django_db(transaction=True)  # real transactions: nothing known before
def test_a_stream_the_caller_starts_is_one_statement_from_its_first_record(write):
    """``new`` (session 26): the caller starts the stream (a new case's, the guidance
    registration's), so its first record is one conditional INSERT too — the same record,
    hash and chain as after the read."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        write("s-new", "a", new=True)
        write("s-new", "b")
    assert (audit_chain_reads(queries), written(queries), len(queries)) == (0, 2, 2)
    assert_chained("s-new", ["a", "b"])
    with transaction.atomic():
        write("s-read", "a")  # the same record written after the read
    first_new, first_read = (AuditRecord.objects.get(stream=s, seq=1) for s in ("s-new", "s-read"))
    assert (first_new.prev_hash, first_new.alg) == (first_read.prev_hash, first_read.alg)


@pytest.mark.django_db(transaction=True)
def test_a_stream_said_new_that_has_records_is_read_and_followed(write):
    with transaction.atomic():
        write("s-old", "a")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        write("s-old", "b", new=True)  # the guess "no record yet" is wrong
    # the conditional INSERT wrote nothing; the last record read; the record written
    assert (written(queries), audit_chain_reads(queries)) == (2, 1)
    assert_chained("s-old", ["a", "b"])


@pytest.mark.django_db
def test_a_rolled_back_record_is_not_followed(write):
    with transaction.atomic():
        write("s-back", "a")
        try:
            with transaction.atomic():
                write("s-back", "gone")
                raise RuntimeError
        except RuntimeError:
            pass
        write("s-back", "b")
    assert_chained("s-back", ["a", "b"])


@pytest.mark.django_db(transaction=True)  # real transactions, not the test's savepoints
def test_nothing_is_kept_between_transactions(write):
    with transaction.atomic():
        write("s-between", "a")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        write("s-between", "b")
    assert audit_chain_reads(queries) == 1
    assert_chained("s-between", ["a", "b"])


# Real transactions: in the test's own, the records the submission wrote would be known
# already, and the record would be one statement without the lock's read.
@pytest.mark.django_db(transaction=True)
def test_the_case_lock_reads_the_last_record(example, media_root, write):
    case = case_submit(document=example("qinbei-accept"), actor=None, now=AT).case
    before = list(AuditRecord.objects.filter(stream=case.number).values_list("action", flat=True))
    with transaction.atomic():
        locked = case_locked(case.pk)
        with CaptureQueriesContext(connection) as queries:
            write(locked.number, "x")
    assert (audit_chain_reads(queries), written(queries), len(queries)) == (0, 1, 1)
    assert_chained(case.number, [*before, "x"])


# --- two real transactions on PostgreSQL --------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
@pytest.mark.parametrize("first_changes_the_case", [False, True])
def test_a_writer_that_waited_for_the_case_lock_follows_the_record_written_meanwhile(
    example, media_root, write, first_changes_the_case
):
    """The second writer's lock statement reads the stream's last record after its lock
    is granted, in a snapshot of its own (migration ``cases.0009``): it follows the record
    the first wrote meanwhile without reading it again (session 30; a subquery of the lock
    statement read in the snapshot taken before the wait, and its guess was stale). The
    first writer changes no column of the case row here: PostgreSQL does not re-read the
    row then (no EvalPlanQual), the harder case; or it changes it (PostgreSQL re-reads
    the row for the second). Either way the chain must not fork."""
    case = case_submit(document=example("qinbei-accept"), actor=None, now=AT).case
    before = list(
        AuditRecord.objects.filter(stream=case.number)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    first_holds = threading.Event()
    second: dict[str, object] = {}
    errors: list[BaseException] = []

    def later() -> None:
        try:
            first_holds.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second["pid"] = cursor.fetchone()[0]
            with transaction.atomic():
                locked = case_locked(case.pk)  # waits for the first writer's lock
                with CaptureQueriesContext(connection) as queries:
                    write(locked.number, "second")
                second["reads"] = audit_chain_reads(queries.captured_queries)
        except BaseException as exc:  # the main thread reports it
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=later)
    thread.start()
    with transaction.atomic():
        locked = case_locked(case.pk)
        write(locked.number, "first")
        if first_changes_the_case:  # a new version of the row (the same value)
            Case.objects.filter(pk=case.pk).update(channel=F("channel"))
        first_holds.set()
        for _ in range(500):  # until the second writer waits on the case row's lock
            if "pid" in second and waiting_for_a_lock(int(second["pid"])):  # type: ignore[call-overload]
                break
            time.sleep(0.01)
        else:
            pytest.fail("the second writer never waited for the case's lock")
    thread.join(30)
    assert not errors, errors
    assert second["reads"] == 0  # its guess was right: no read of the last record again
    assert_chained(case.number, [*before, "first", "second"])
