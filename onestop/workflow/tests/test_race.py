"""Two officers on one task at the same moment, in two threads with their own connections:
exactly one wins, the other gets a conflict that says why. Runs on PostgreSQL (row locks);
SQLite serialises whole-database writes, which the sequential tests already cover."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from onestop.cases.services import case_submit
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem
from onestop.workflow.services import TaskConflict, item_complete

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_two_officers_complete_at_once_exactly_one_wins(example, beijing, media_root):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    officers = [officer("hospital", "hospital", "qinbei-mch", name) for name in ("甲", "乙")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(user, number: str) -> None:
        try:
            barrier.wait()
            item_complete(
                item_id=bmc.pk,
                actor=user,
                result={"bmc_number": number},
                expected_version=bmc.version,
            )
            outcomes.append("won")
        except TaskConflict as exc:
            outcomes.append(f"lost: {exc.message}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(u, n))
        for u, n in zip(officers, ("Q450000001", "Q450000002"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[:4] for o in outcomes) == ["lost", "won"]
    assert case.elicences.count() == 1
    bmc.refresh_from_db()
    assert bmc.state == "done"
