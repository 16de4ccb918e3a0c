"""Real races on PostgreSQL: certificates issued at the same moment make one batch, and a
batch sent while certificates are being issued counts exactly what it holds (a certificate
that comes too late goes with the next period's batch, never lost, never twice)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from onestop.cases.services import case_submit
from onestop.handover.models import HandoverBatch, HandoverEntry
from onestop.handover.services import handover_send
from onestop.testing.factories import officer
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL concurrency"),
]


def _bmcs(example, beijing, count: int) -> list[int]:
    ids = []
    for n in range(count):
        case = case_submit(
            document=another_newborn(example("qinbei-accept"), n + 1),
            actor=None,
            now=beijing("2026-11-20T09:30:00+08:00"),
        ).case
        ids.append(CaseItem.objects.get(case=case, item="birth_certificate").pk)
    return ids


def _race(steps: list[Callable[[], object]]) -> list[BaseException]:
    barrier = threading.Barrier(len(steps))
    errors: list[BaseException] = []

    def run(step: Callable[[], object]) -> None:
        try:
            barrier.wait()
            step()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(s,)) for s in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _issue(item_id: int, number: str, at) -> Callable[[], object]:
    return lambda: item_complete(item_id=item_id, actor=None, result={"bmc_number": number}, now=at)


def test_certificates_issued_at_once_make_one_batch(example, beijing, media_root):
    ids = _bmcs(example, beijing, 4)
    at = beijing("2026-11-21T10:00:00+08:00")
    errors = _race([_issue(pk, f"Q45012345{n}", at) for n, pk in enumerate(ids)])
    assert errors == []
    assert HandoverBatch.objects.count() == 1
    assert HandoverEntry.objects.filter(batch__period="2026Q4").count() == 4


def test_a_batch_sent_while_certificates_are_issued_counts_what_it_holds(
    example, beijing, media_root
):
    ids = _bmcs(example, beijing, 4)
    at = beijing("2026-11-21T10:00:00+08:00")
    _issue(ids[0], "Q450123450", at)()
    batch = HandoverBatch.objects.get()
    sender = officer("hospital", "hospital", "qinbei-mch")
    steps = [_issue(pk, f"Q45012345{n}", at) for n, pk in enumerate(ids[1:], 1)]
    steps.append(lambda: handover_send(batch_id=batch.pk, actor=sender, now=at))
    errors = _race(steps)
    assert errors == []
    batch.refresh_from_db()
    assert batch.state == "sent" and batch.sent_count == batch.entries.count()
    # Every certificate is in exactly one batch: the sent one or the next quarter's.
    assert HandoverEntry.objects.count() == 4
    later = HandoverEntry.objects.exclude(batch=batch)
    assert all(e.batch.period == "2027Q1" and e.late for e in later)
