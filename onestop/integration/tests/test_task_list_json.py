"""The department systems' poll, ``GET /api/v1/tasks``, written without ninja's pydantic
round trip and from a statement compiled once per client (issue 10 part 3,
docs/performance.md "1,000 users"): the same bytes as before, for every state, page and
kind of task (claimed by this system or another, done with an e-licence, a twin's); one
client's list never answered to another; a new task and another system's claim seen at
once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from onestop.integration import api as api_module
from onestop.integration.models import ApiClient
from onestop.integration.schemas import TaskListOut
from onestop.integration.selectors import (
    STATE_FILTERS,
    SUMMARY_FIELDS,
    task_summary,
    tasks_of_client,
)
from onestop.integration.tests.support import Api, current, hospital
from onestop.simulate.department import build_result
from onestop.testing.newborns import another_newborn
from onestop.workflow.selectors import twin_case_ids

pytestmark = pytest.mark.django_db

STATES = ("ready", "in_progress", "returned", "open", "done")


def twins(document: dict[str, Any]) -> dict[str, Any]:
    second = copy.deepcopy(document["newborns"][0])
    second.update(name="覃沐晴", sex="2", record_number=second["record_number"] + "-B")
    document["newborns"].append(second)
    document["maternity"]["plurality"] = 2
    return document


def before(client: ApiClient, state: str, limit: int, after: int) -> bytes:
    """The list as it was answered before: model rows, `task_summary` with a twins query,
    ninja's validation and dump of `TaskListOut`, ninja's renderer."""
    rows = list(
        tasks_of_client(client)
        .only(*SUMMARY_FIELDS)
        .filter(state__in=STATE_FILTERS[state], pk__gt=after)
        .order_by("pk")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    found = twin_case_ids(row.case_id for row in rows)
    page = {
        "tasks": [task_summary(client, row, multiple=row.case_id in found) for row in rows],
        "next_after": rows[-1].pk if more and rows else None,
    }
    dumped = TaskListOut.model_validate(page).model_dump()
    rendered = api_module.api.renderer.render(None, dumped, response_status=200)  # type: ignore[arg-type]
    return str(rendered).encode()


def newborn(example: Any, n: int) -> dict[str, Any]:
    document = current(example("qinbei-accept"))
    another_newborn(document, n)
    return document


def _work(api: Api, task: dict[str, Any], *, finish: bool) -> None:
    detail = api.get(f"/tasks/{task['id']}").json()
    claimed = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]})
    assert claimed.status_code == 200, claimed.json()
    if finish:
        result = build_result(detail["result_fields"], task["id"], detail["data"])
        done = api.post(
            f"/tasks/{task['id']}/complete",
            {"result": result, "expected_version": claimed.json()["version"]},
        )
        assert done.status_code == 200, done.json()


def test_task_list_answers_the_bytes_it_did(example, media_root, monkeypatch):
    issued = hospital()
    mine = Api(issued.token)
    other = Api(hospital().token)  # a second system of the same hospital
    for key, document in (
        ("t1", twins(newborn(example, 0))),
        ("s1", newborn(example, 1)),
        ("s2", newborn(example, 2)),
    ):
        answer = mine.post("/cases", document, key=key)
        assert answer.status_code == 201, answer.json()
    tasks = mine.get("/tasks?state=open&limit=100").json()["tasks"]
    assert len(tasks) >= 4
    _work(mine, tasks[0], finish=True)  # a twin's, done: an e-licence serial
    _work(mine, tasks[1], finish=True)
    _work(mine, tasks[2], finish=False)  # claimed by me
    _work(other, tasks[3], finish=False)  # claimed by another system
    client = issued.client
    newborns: set[str] = set()
    serials = claimed_by_me = 0
    for state in STATES:
        for limit, after in ((50, 0), (1, 0), (2, tasks[0]["id"]), (200, 10**12)):
            path = f"/tasks?state={state}&limit={limit}&after={after}"
            fast = mine.get(path)
            assert fast.status_code == 200
            assert fast["Content-Type"] == "application/json; charset=utf-8"
            assert fast.content == before(client, state, limit, after), path
            # and the same as ninja's own validation and rendering of the new page
            with monkeypatch.context() as patched:
                patched.setattr(api_module, "task_list_response", lambda request, page: page)
                assert mine.get(path).content == fast.content, path
            for task in fast.json()["tasks"]:
                newborns.add(task["newborn"])
                serials += task["elicence_serial"] is not None
                claimed_by_me += task["claimed_by_me"]
    # the cases the comparison covered
    assert "第二个孩子" in newborns or "第一个孩子" in newborns
    assert "" in newborns
    assert serials and claimed_by_me


def test_one_clients_list_is_never_answered_to_another(example, media_root):
    qinbei = Api(hospital().token)
    jilin = Api(hospital("jilin-ch").token)
    answer = qinbei.post("/cases", current(example("qinbei-accept")), key="q1")
    assert answer.status_code == 201, answer.json()
    number = answer.json()["number"]
    for _ in range(3):  # alternate, so any kept answer or statement would show
        mine = qinbei.get("/tasks").json()["tasks"]
        theirs = jilin.get("/tasks").json()["tasks"]
        assert number in {t["case_number"] for t in mine}
        assert number not in {t["case_number"] for t in theirs}
        assert all(t["jurisdiction"]["code"] == "jilin-ch" for t in theirs)
    # Two systems of the same desk see the same tasks, each with its own "claimed by me".
    first = hospital()
    second = hospital()
    a, b = Api(first.token), Api(second.token)
    task = a.get("/tasks").json()["tasks"][0]
    claimed = a.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]})
    assert claimed.status_code == 200
    open_a = {t["id"]: t for t in a.get("/tasks?state=open").json()["tasks"]}
    open_b = {t["id"]: t for t in b.get("/tasks?state=open").json()["tasks"]}
    assert open_a[task["id"]]["claimed_by_me"] is True
    assert open_b[task["id"]]["claimed_by_me"] is False


def test_a_new_task_and_another_systems_claim_show_at_once(example, media_root):
    mine, other = Api(hospital().token), Api(hospital().token)
    first = mine.post("/cases", newborn(example, 0), key="n1")
    assert first.status_code == 201
    listed = mine.get("/tasks").json()["tasks"]
    assert listed
    second = mine.post("/cases", newborn(example, 1), key="n2")
    assert second.status_code == 201, second.json()
    again = mine.get("/tasks").json()["tasks"]
    assert second.json()["number"] in {t["case_number"] for t in again}
    assert len(again) == len(listed) + 1
    task = again[0]
    claimed = other.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]})
    assert claimed.status_code == 200, claimed.json()
    ready = mine.get("/tasks").json()["tasks"]
    assert task["id"] not in {t["id"] for t in ready}
    [now] = [
        t for t in mine.get("/tasks?state=in_progress").json()["tasks"] if t["id"] == task["id"]
    ]
    assert now["claimed_by_me"] is False and now["version"] == claimed.json()["version"]
