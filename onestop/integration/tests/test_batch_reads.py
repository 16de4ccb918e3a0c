"""An API batch reads per case, not per task (issue 10, session 29): a batch claim's task
details read their cases' materials, previews and possible duplicates in one statement
and their prior e-licences in one (`selectors.task_details`), and a batch completion's
e-licences read each case's newborns once (`common.reuse`) — a batch of N tasks over K
cases asks a number of these reads that grows with K, not N. Each batch answer is the
detail its task's own ``GET /tasks/{id}`` answers, for every region's example."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onestop.certificates.models import ELicence
from onestop.certificates.services import elicence_verify
from onestop.core.errors import OnestopError
from onestop.integration.tests.support import Api, accepted, current, hospital, issue
from onestop.integration.tests.test_task_detail_json import EXAMPLES
from onestop.integration.tests.test_twins_api import twins
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db


def _reads(captured: CaptureQueriesContext, table: str) -> int:
    """The SELECTs among ``captured`` that read ``table``."""
    pattern = re.compile(rf'\bFROM\s+"?{table}"?|\bJOIN\s+"?{table}"?', re.IGNORECASE)
    return sum(
        1
        for q in captured.captured_queries
        if q["sql"].lstrip("( ").upper().startswith(("SELECT", "WITH")) and pattern.search(q["sql"])
    )


def test_each_batch_claims_answer_is_the_tasks_own_detail(example, media_root):
    """Two cases of each region (the same mother, minutes apart: each the other's possible
    duplicate), every department's ready tasks claimed in one batch per office until none
    is ready: each answer is the task's detail as ``GET /tasks/{id}`` then answers it —
    prior e-licences, materials and duplicates included."""
    compared: list[dict[str, Any]] = []
    for name in EXAMPLES:
        cases = [accepted(another_newborn(example(name), n)) for n in (1, 2)]
        done: set[int] = set()
        for _ in range(12):
            ready = list(
                CaseItem.objects.filter(case__in=cases, state=ItemState.READY)
                .exclude(pk__in=done)
                .order_by("pk")
            )
            if not ready:
                break
            offices: dict[tuple[str, str, str], list[CaseItem]] = {}
            for row in ready:
                office = (row.department, row.jurisdiction_kind, row.jurisdiction_code)
                offices.setdefault(office, []).append(row)
            for office, rows in offices.items():
                api = Api(issue(*office).token)
                body = {"tasks": [{"id": r.pk, "expected_version": r.version} for r in rows]}
                answer = api.post("/tasks/claims", body, key=f"claims-{rows[0].pk}")
                assert answer.status_code == 200, answer.content
                for row, result in zip(rows, answer.json()["results"], strict=True):
                    done.add(row.pk)
                    assert result["status"] == 200, result
                    alone = api.get(f"/tasks/{row.pk}").json()
                    assert result["body"] == alone, row.item
                    compared.append(result["body"])
                    try:
                        item_complete(item_id=row.pk, actor=None, result=RESULTS.get(row.item, {}))
                    except OnestopError:
                        continue  # (a payment or card task: left claimed)
    # what the comparison covered
    assert any(d["prior_elicences"] for d in compared)
    assert any(d["possible_duplicates"] for d in compared)
    assert any(d["materials"] for d in compared)
    assert any(d["payment"] is not None for d in compared)


# Who works each qinbei item the test batches (`test_twins_api.OFFICES`).
HOSPITAL = ("hospital", "hospital", "qinbei-mch")
POLICE = ("police", "police_station", "qinbei-xintang")


def _twin_cases(example: Any, count: int) -> None:
    submitter = Api(hospital().token)
    for k in range(count):
        document = twins(another_newborn(current(example("qinbei-accept")), 10 * k + 3))
        assert submitter.post("/cases", document, key=f"twins-{k}").status_code == 201


def _batch(
    api: Api, path: str, tasks: list[dict[str, Any]]
) -> tuple[CaptureQueriesContext, list[dict[str, Any]]]:
    with CaptureQueriesContext(connection) as captured:
        answer = api.post(path, {"tasks": tasks}, key=f"{path}-{tasks[0]['id']}")
    assert answer.status_code == 200, answer.content
    results = answer.json()["results"]
    assert all(r["status"] == 200 for r in results), results
    return captured, [r["body"] for r in results]


@pytest.mark.parametrize("cases", [1, 3])
def test_a_batch_reads_each_case_once_however_many_of_its_tasks_it_holds(
    example, media_root, cases
):
    """Twins: two tasks per case of the hospital (a birth certificate per baby) and two of
    the police (each waiting for its baby's certificate). A batch of the 2K tasks of K
    cases: the claim's details read the cases' facts in one statement and the prior
    licences in one; the completion reads each case's newborns once (K, not 2K)."""
    _twin_cases(example, cases)
    seen_priors: set[str] = set()
    babies: set[tuple[int, str, str]] = set()
    for office in (HOSPITAL, POLICE):
        api = Api(issue(*office).token)
        ready = [t for t in api.get("/tasks?state=ready&limit=100").json()["tasks"]]
        assert len(ready) == 2 * cases, ready
        claims, answers = _batch(
            api, "/tasks/claims", [{"id": t["id"], "expected_version": t["version"]} for t in ready]
        )
        assert _reads(claims, "cases_material") == 1
        assert _reads(claims, "certificates_elicence") == (1 if office == POLICE else 0)
        held = []
        for task, answer in zip(ready, answers, strict=True):
            detail = api.get(f"/tasks/{task['id']}").json()
            assert answer == detail  # each baby's task its own detail
            if office == POLICE:  # waits for its own baby's licence, and sees it
                [prior] = detail["prior_elicences"]
                assert prior["serial"] not in seen_priors
                seen_priors.add(prior["serial"])
            held.append(
                {
                    "id": task["id"],
                    "expected_version": detail["version"],
                    "result": RESULTS.get(detail["item"], {}),
                }
            )
        completions, done = _batch(api, "/tasks/completions", held)
        assert _reads(completions, "cases_newborn") == cases
        # each licence the batch issued verifies, and names its own baby
        for task in done:
            licence = ELicence.objects.get(item_id=task["id"])
            assert elicence_verify(serial=licence.serial).valid, licence.serial
            assert task["elicence_serial"] == licence.serial
            [baby] = licence.payload["subject"]["newborns"]
            babies.add((licence.case_id, licence.kind, baby["name"]))
    assert len(babies) == 4 * cases  # two kinds, two babies per case
