"""The integration API on a real database: credentials, jurisdiction isolation, idempotent
case submission, task operations with their error codes and replays."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from onestop.cases.models import Case
from onestop.integration.models import ApiClient
from onestop.integration.services import api_client_rotate_secret, secret_hash
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def qinbei(example, media_root):
    """A qinbei case submitted over the API by the birth hospital's system."""
    creds = hospital()
    api = Api(creds.token)
    response = api.post("/cases", current(example("qinbei-accept")), key="case-1")
    assert response.status_code == 201, response.content
    return api, response.json()["number"]


def test_credentials_are_stored_hashed_and_checked(media_root):
    creds = hospital()
    client = ApiClient.objects.get(pk=creds.client.pk)
    key_id, _, secret = creds.token.partition(".")
    assert client.key_id == key_id
    assert client.secret_hash == secret_hash(secret)
    assert secret not in client.secret_hash
    assert client.user.role == "officer" and client.user.department == "hospital"
    assert not client.user.has_usable_password()

    assert Api(creds.token).get("/me").json()["key_id"] == key_id
    for token in (None, "nonsense", f"{key_id}.wrong", f"{key_id}.{secret}x"):
        response = Api(token).get("/tasks")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"

    rotated = api_client_rotate_secret(client_id=client.pk)
    assert Api(creds.token).get("/me").status_code == 401
    assert Api(rotated.token).get("/me").status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(active=False)
    assert Api(rotated.token).get("/me").status_code == 401


def test_same_key_same_body_gives_one_case_other_body_is_refused(example, media_root):
    api = Api(hospital().token)
    document = current(example("qinbei-accept"))
    first = api.post("/cases", document, key="k-42")
    again = api.post("/cases", document, key="k-42")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["created"] is True and again.json()["created"] is False
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["number"] == again.json()["number"]
    assert Case.objects.count() == 1

    other = dict(document, marital_status="unmarried")
    refused = api.post("/cases", other, key="k-42")
    assert refused.status_code == 409
    assert refused.json()["code"] == "idempotency_key_reused"
    assert Case.objects.count() == 1

    # Keys are per client: another hospital's system may use the same key.
    fujian = Api(hospital("fujian-mch").token)
    assert fujian.post("/cases", current(example("fuzhou-accept")), key="k-42").status_code == 201
    assert Case.objects.count() == 2


def test_submission_rules_and_unreadable_documents(example, media_root):
    document = current(example("qinbei-accept"))
    api = Api(hospital().token)
    missing_key = api.post("/cases", document)
    assert missing_key.status_code == 422
    assert missing_key.json()["code"] == "invalid_request"
    unreadable = api.post("/cases", {"hello": "world"}, key="u1")
    assert unreadable.status_code == 422
    assert unreadable.json()["code"] == "unreadable_document"
    nul = api.post("/cases", dict(document, marital_status="married\x00"), key="u2")
    assert nul.status_code == 422 and nul.json()["code"] == "invalid_text"

    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    assert police.post("/cases", document, key="p1").json()["code"] == "forbidden"
    other_hospital = Api(hospital("fujian-mch").token)
    response = other_hospital.post("/cases", document, key="h1")
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_case_status_and_timeline_only_for_those_concerned(qinbei):
    api, number = qinbei
    status = api.get(f"/cases/{number}").json()
    assert status["status"] == "in_progress"
    assert status["decision"]["decision"] == "accept"
    items = {i["item"]: i for i in status["items"]}
    assert items["birth_certificate"]["state"] == "ready"
    assert items["birth_certificate"]["due_at"]
    assert items["birth_certificate"]["task_id"]  # the hospital works it
    assert items["birth_registration"]["task_id"] is None
    assert "黄丽" not in str(status) and "450703" not in str(status["items"])

    timeline = api.get(f"/cases/{number}/timeline").json()
    assert [e["kind"] for e in timeline["entries"]][:2] == ["submitted", "decided"]

    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    assert police.get(f"/cases/{number}").status_code == 200  # it has an item there
    stranger = Api(issue("police", "police_station", "fuzhou-ps").token)
    for path in (f"/cases/{number}", f"/cases/{number}/timeline", "/cases/NOPE-1"):
        response = stranger.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_tasks_are_isolated_by_department_and_jurisdiction(qinbei):
    api, _number = qinbei
    ready = api.get("/tasks").json()["tasks"]
    assert [t["item"] for t in ready] == ["birth_certificate"]
    task = ready[0]
    detail = api.get(f"/tasks/{task['id']}").json()
    assert detail["data"]["newborns"][0]["hospital"] == "qinbei-mch"
    assert "birth_registration" not in detail["data"]  # only what this item needs
    assert [f["name"] for f in detail["result_fields"]] == [
        "bmc_number",
        "newborn_name",  # optional: what the certificate says, correctable (ADR 0042)
        "blood_type",
    ]

    cdc = Api(issue("cdc", "division", "4507").token)  # a prefix covers the division
    assert [t["item"] for t in cdc.get("/tasks").json()["tasks"]] == ["vaccination_certificate"]

    others = [
        issue("hospital", "hospital", "fujian-mch"),
        issue("cdc", "division", "3501"),
        issue("police", "police_station", "qinbei-xintang"),  # right place, other department
    ]
    for creds in others:
        other = Api(creds.token)
        assert other.get("/tasks").json()["tasks"] == [] or creds.client.department == "cdc"
        for path in (f"/tasks/{task['id']}", "/tasks/999999"):
            response = other.get(path)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        response = other.post(f"/tasks/{task['id']}/claim")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert CaseItem.objects.get(pk=task["id"]).state == "ready"


def test_claim_and_complete_are_idempotent_with_a_key(qinbei):
    api, number = qinbei
    task = api.get("/tasks").json()["tasks"][0]
    claim = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]}, key="c1")
    assert claim.status_code == 200 and claim.json()["state"] == "in_progress"
    replay = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]}, key="c1")
    assert replay.status_code == 200 and replay.json() == claim.json()
    assert replay["Idempotent-Replayed"] == "true"
    # Without the key a second claim is a conflict with a clear code.
    again = api.post(f"/tasks/{task['id']}/claim")
    assert again.status_code == 409 and again.json()["code"] == "task_conflict"

    bad = api.post(f"/tasks/{task['id']}/complete", {"result": {"bmc_number": "123"}}, key="x1")
    assert bad.status_code == 422
    assert bad.json()["code"] == "result_invalid"
    assert bad.json()["problems"][0]["field"] == "bmc_number"

    body = {"result": RESULTS["birth_certificate"], "expected_version": claim.json()["version"]}
    done = api.post(f"/tasks/{task['id']}/complete", body, key="d1")
    assert done.status_code == 200
    assert done.json()["state"] == "done" and done.json()["elicence_serial"] == f"{number}-01"
    replay = api.post(f"/tasks/{task['id']}/complete", body, key="d1")
    assert replay.status_code == 200 and replay.json() == done.json()
    reused = api.post(
        f"/tasks/{task['id']}/complete", {"result": {"bmc_number": "Q450999999"}}, key="d1"
    )
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    item = CaseItem.objects.get(pk=task["id"])
    assert item.state == "done" and item.result == RESULTS["birth_certificate"]
    assert item.case.elicences.filter(item=item).count() == 1

    # The police's task is now ready, with the BMC as a prior e-licence.
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    [registration] = police.get("/tasks").json()["tasks"]
    detail = police.get(f"/tasks/{registration['id']}").json()
    assert detail["prior_elicences"][0]["result"] == RESULTS["birth_certificate"]


def test_the_claim_answers_with_the_task_detail_and_stores_no_case_data(qinbei):
    """Issue 10, ADR 0045: a department system acting on the task.created webhook claims
    and completes — the claim's answer carries the task as GET /tasks/{id} shows it
    (fields, materials, result fields), so the task is not read again. The answer kept for
    the idempotency key is the summary only: no case data stored with it; a replay
    answers the same."""
    from onestop.integration.models import IdempotentResponse

    api, _number = qinbei
    task = api.get("/tasks").json()["tasks"][0]
    claim = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]}, key="c9")
    assert claim.status_code == 200, claim.content
    detail = api.get(f"/tasks/{task['id']}").json()
    assert claim.json() == detail  # the same representation, now in_progress and mine
    assert detail["state"] == "in_progress" and detail["claimed_by_me"] is True
    assert detail["data"] and detail["result_fields"]
    stored = IdempotentResponse.objects.get(key="c9").body
    assert "data" not in stored and "result_fields" not in stored
    assert stored["id"] == task["id"] and stored["state"] == "in_progress"
    replay = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]}, key="c9")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == claim.json()
    # A claim without a body still works as documented (summary fields all present).
    assert {"id", "case_number", "state", "version", "claimed_by_me"} <= set(claim.json())
    # A replay still answers when the task is no longer the client's to see.
    CaseItem.objects.filter(pk=task["id"]).update(jurisdiction_code="elsewhere")
    moved = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]}, key="c9")
    assert moved.status_code == 200 and moved.json()["id"] == task["id"]
    assert moved.json()["state"] == "in_progress" and moved.json()["data"] == {}


def test_two_clients_racing_one_claim_one_wins(qinbei):
    api, _number = qinbei
    rival = Api(hospital().token)  # a second system of the same hospital
    task = api.get("/tasks").json()["tasks"][0]
    body = {"expected_version": task["version"]}
    first = api.post(f"/tasks/{task['id']}/claim", body, key="race")
    second = rival.post(f"/tasks/{task['id']}/claim", body, key="race")
    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["code"] == "task_conflict"
    assert "更新" in second.json()["message"] or "领取" in second.json()["message"]
    # The loser cannot complete the winner's task either.
    result = {"result": RESULTS["birth_certificate"]}
    assert rival.post(f"/tasks/{task['id']}/complete", result).status_code == 409


def test_return_and_refuse(qinbei):
    api, number = qinbei
    task = api.get("/tasks").json()["tasks"][0]
    assert api.post(f"/tasks/{task['id']}/return", {"reasons": []}).status_code == 422
    returned = api.post(f"/tasks/{task['id']}/return", {"reasons": ["请补充分娩记录页"]}, key="r")
    assert returned.status_code == 200 and returned.json()["state"] == "returned"
    assert api.get("/tasks?state=returned").json()["tasks"][0]["id"] == task["id"]
    refused = api.post(f"/tasks/{task['id']}/refuse", {"reasons": ["非本院出生"]}, key="f")
    assert refused.status_code == 200 and refused.json()["state"] == "refused"
    states = {i["item"]: i["state"] for i in api.get(f"/cases/{number}").json()["items"]}
    assert states["birth_registration"] == "cancelled"


def test_task_list_pages(example, media_root):
    api = Api(hospital().token)
    for n in range(3):
        document = current(example("qinbei-accept"))
        another_newborn(document, n)
        assert api.post("/cases", document, key=f"page-{n}").status_code == 201
    first = api.get("/tasks?limit=2").json()
    assert len(first["tasks"]) == 2 and first["next_after"]
    rest = api.get(f"/tasks?limit=2&after={first['next_after']}").json()
    assert len(rest["tasks"]) == 1 and rest["next_after"] is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_two_clients_claiming_at_the_same_moment(example, media_root):
    api = Api(hospital().token)
    number = api.post("/cases", current(example("qinbei-accept")), key="race").json()["number"]
    task = api.get("/tasks").json()["tasks"][0]
    rivals = [Api(hospital().token) for _ in range(2)]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def claim(rival: Api) -> None:
        try:
            barrier.wait()
            codes.append(rival.post(f"/tasks/{task['id']}/claim").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(r,)) for r in rivals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    assert number
