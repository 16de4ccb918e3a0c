"""One idempotency service for every API write (issue 9, part 4): case submission and the
task actions claim, complete, return and refuse follow one rule, proved through HTTP
against what the database holds.

DESIGN.md: department systems do "the same actions as officers, machine to machine,
idempotent"; "a request replayed … ends with every case correct" (nothing duplicated).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case
from onestop.certificates.models import ELicence
from onestop.integration.models import IdempotentResponse
from onestop.integration.tests.support import Api, current, hospital
from onestop.notifications.models import Notification
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def effects(number: str) -> dict[str, Any]:
    """What a write leaves behind in the database for one case."""
    case = Case.objects.get(number=number)
    return {
        "audit": AuditRecord.objects.filter(stream=number).count(),
        "timeline": case.timeline.count(),
        "messages": Notification.objects.filter(case=case).count(),
        "licences": ELicence.objects.filter(case=case).count(),
        "items": sorted(CaseItem.objects.filter(case=case).values_list("item", "state", "version")),
    }


def replayed_once(api: Api, path: str, body: dict[str, Any], key: str, number: str) -> Any:
    """Send ``body`` to ``path`` twice with ``key``: the second answer is the first, marked
    replayed, and the database is as the first left it."""
    first = api.post(path, body, key=key)
    assert first.status_code == 200, first.content
    assert "Idempotent-Replayed" not in first
    after_first = effects(number)
    again = api.post(path, body, key=key)
    assert again.status_code == 200 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert effects(number) == after_first
    return first.json()


def test_every_task_action_replays_its_first_answer_and_acts_once(example, media_root):
    api = Api(hospital().token)
    number = api.post("/cases", current(example("qinbei-accept")), key="case").json()["number"]
    task = api.get("/tasks").json()["tasks"][0]
    path = f"/tasks/{task['id']}"

    claimed = replayed_once(
        api, f"{path}/claim", {"expected_version": task["version"]}, "claim", number
    )
    before_return = effects(number)
    returned = replayed_once(
        api,
        f"{path}/return",
        {"reasons": ["请补充分娩记录页"], "expected_version": claimed["version"]},
        "return",
        number,
    )
    assert returned["state"] == "returned"
    # Returning tells the parents (SMS and in-app messages): once, not once per replay.
    assert effects(number)["messages"] > before_return["messages"]

    # A second case, completed: the e-licence is issued once.
    other = api.post(
        "/cases", another_newborn(current(example("qinbei-accept")), 1), key="case-2"
    ).json()["number"]
    [bmc] = [t for t in api.get("/tasks").json()["tasks"] if t["case_number"] == other]
    body = {"result": RESULTS["birth_certificate"], "expected_version": bmc["version"]}
    done = replayed_once(api, f"/tasks/{bmc['id']}/complete", body, "complete", other)
    assert done["state"] == "done" and ELicence.objects.filter(case__number=other).count() == 1

    # A third, refused.
    third = api.post(
        "/cases", another_newborn(current(example("qinbei-accept")), 2), key="case-3"
    ).json()["number"]
    [bmc3] = [t for t in api.get("/tasks").json()["tasks"] if t["case_number"] == third]
    refused = replayed_once(
        api, f"/tasks/{bmc3['id']}/refuse", {"reasons": ["非本院出生"]}, "refuse", third
    )
    assert refused["state"] == "refused"


def test_a_key_names_one_request_whatever_the_endpoint(example, media_root):
    api = Api(hospital().token)
    document = current(example("qinbei-accept"))
    number = api.post("/cases", document, key="k").json()["number"]
    task = api.get("/tasks").json()["tasks"][0]
    before = effects(number)
    for path, body in (
        (f"/tasks/{task['id']}/claim", {}),  # the case's key on a task action
        ("/cases", dict(document, marital_status="unmarried")),  # … on another case body
    ):
        reused = api.post(path, body, key="k")
        assert reused.status_code == 409, path
        assert reused.json()["code"] == "idempotency_key_reused"
        assert "幂等键" in reused.json()["message"]
    claimed = api.post(f"/tasks/{task['id']}/claim", {}, key="claim")
    assert claimed.status_code == 200
    reused = api.post(f"/tasks/{task['id']}/return", {"reasons": ["请补充"]}, key="claim")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    assert CaseItem.objects.get(pk=task["id"]).state == "in_progress"
    assert effects(number)["audit"] == before["audit"] + 1  # the claim, nothing else


def test_a_refused_request_spends_no_key(example, media_root):
    api = Api(hospital().token)
    number = api.post("/cases", current(example("qinbei-accept")), key="case").json()["number"]
    task = api.get("/tasks").json()["tasks"][0]
    bad = api.post(f"/tasks/{task['id']}/complete", {"result": {"bmc_number": "1"}}, key="x")
    assert bad.status_code == 422 and bad.json()["code"] == "result_invalid"
    assert not IdempotentResponse.objects.filter(key="x").exists()
    fixed = api.post(
        f"/tasks/{task['id']}/complete", {"result": RESULTS["birth_certificate"]}, key="x"
    )
    assert fixed.status_code == 200 and fixed.json()["state"] == "done"
    assert effects(number)["licences"] == 1

    refused = api.post("/cases", {"hello": "world"}, key="y")
    assert refused.status_code == 422
    assert not IdempotentResponse.objects.filter(key="y").exists()


def test_a_case_answer_outlives_the_retention_of_action_answers(example, media_root):
    from datetime import timedelta

    from django.utils import timezone

    from onestop.integration.services import integration_records_prune

    api = Api(hospital().token)
    document = current(example("qinbei-accept"))
    first = api.post("/cases", document, key="late")
    later = timezone.now() + timedelta(days=60)
    integration_records_prune(now=later)
    again = api.post("/cases", document, key="late")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"] and not again.json()["created"]
    assert Case.objects.count() == 1


def _race(calls: list[Any]) -> list[Any]:
    """Run the calls at the same moment in threads with their own connections."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = []

    def run(call: Any) -> None:
        try:
            barrier.wait()
            answers.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers")
def test_the_same_key_sent_at_the_same_moment_acts_once(example, media_root):
    creds = hospital()
    document = current(example("qinbei-accept"))
    answers = _race([lambda: Api(creds.token).post("/cases", document, key="twice")] * 3)
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["number"] for a in answers}) == 1
    assert Case.objects.count() == 1
    number = answers[0].json()["number"]

    task = Api(creds.token).get("/tasks").json()["tasks"][0]
    audit = effects(number)["audit"]
    body = {"expected_version": task["version"]}
    claims = _race([lambda: Api(creds.token).post(f"/tasks/{task['id']}/claim", body, key="c")] * 3)
    assert [a.status_code for a in claims] == [200, 200, 200]
    assert len({str(a.json()) for a in claims}) == 1  # one answer, replayed to the others
    assert sum(a.get("Idempotent-Replayed") == "true" for a in claims) == 2
    assert effects(number)["audit"] == audit + 1
    assert CaseItem.objects.get(pk=task["id"]).version == task["version"] + 1


def test_cases_submitted_before_the_service_are_still_answered_on_replay(example, media_root):
    """Migration 0002 stores the answers of cases that kept their key only on the case."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("onestop.integration.migrations.0002_case_submission_answers")
    creds = hospital()
    api = Api(creds.token)
    document = current(example("qinbei-accept"))
    number = api.post("/cases", document, key="old").json()["number"]
    IdempotentResponse.objects.all().delete()  # as before the service: the key on the case only
    migration.forwards(apps, None)
    migration.forwards(apps, None)  # twice: nothing doubled
    [answer] = IdempotentResponse.objects.all()
    assert (answer.client_id, answer.key, answer.status_code) == (creds.client.pk, "old", 201)
    again = api.post("/cases", document, key="old")
    assert again.status_code == 200 and again.json()["number"] == number
    refused = api.post("/cases", dict(document, marital_status="unmarried"), key="old")
    assert refused.status_code == 409 and refused.json()["code"] == "idempotency_key_reused"
    assert Case.objects.count() == 1
