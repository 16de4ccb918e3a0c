"""The department systems' poll, ``GET /api/v1/tasks``, reads no encrypted column (issue
10, part 3, docs/performance.md "1,000 users": it loaded every listed task with its whole
case — document, decision, signature — and its result, decrypting ~100 values a request to
answer numbers, states and times). Its answer is unchanged: every `TaskOut` field."""

from __future__ import annotations

import pytest

from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.testing.costs import count_decryptions

pytestmark = pytest.mark.django_db

TASK_FIELDS = {
    "id",
    "case_number",
    "region",
    "item",
    "department",
    "jurisdiction",
    "state",
    "version",
    "received_at",
    "due_at",
    "due_provisional",
    "claimed_by_me",
    "elicence_serial",
    "newborn",
}


def test_task_list_decrypts_nothing_and_answers_every_field(example, media_root, monkeypatch):
    submitted = Api(hospital().token).post("/cases", current(example("qinbei-accept")), key="k1")
    assert submitted.status_code == 201, submitted.content[:300]
    number = submitted.json()["number"]
    api = Api(hospital().token)
    decrypted = count_decryptions(monkeypatch)
    answer = api.get("/tasks")
    assert answer.status_code == 200
    tasks = answer.json()["tasks"]
    assert tasks, answer.json()
    mine = [t for t in tasks if t["case_number"] == number]
    assert mine and set(mine[0]) == TASK_FIELDS
    assert mine[0]["region"] == "qinbei" and mine[0]["item"] == "birth_certificate"
    assert mine[0]["jurisdiction"] == {"kind": "hospital", "code": "qinbei-mch"}
    assert decrypted == []
    # A client of another jurisdiction still sees none of them (the filter is unchanged).
    other = Api(issue("hospital", "hospital", "jilin-ch").token).get("/tasks")
    assert other.status_code == 200
    assert all(t["case_number"] != number for t in other.json()["tasks"])
