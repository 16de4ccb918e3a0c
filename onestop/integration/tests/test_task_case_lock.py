"""A task action's access check and its case's lock are one statement (issue 10, session
26: `selectors.task_case_locked`): a task outside the client's scope still answers 404 for
every action, changes nothing and locks nothing; a task in scope is worked as before."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case, TimelineEntry
from onestop.integration.models import WebhookDelivery
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.workflow.models import CaseItem


def _ready_task(example: Any) -> tuple[Api, dict[str, Any]]:
    api = Api(hospital().token)
    submitted = api.post("/cases", current(example("qinbei-accept")), key="case-1")
    assert submitted.status_code == 201, submitted.content[:300]
    return api, api.get("/tasks").json()["tasks"][0]


def _effects() -> tuple[Any, ...]:
    return (
        list(CaseItem.objects.order_by("pk").values_list("pk", "state", "version")),
        list(Case.objects.order_by("pk").values_list("pk", "status", "version")),
        AuditRecord.objects.count(),
        TimelineEntry.objects.count(),
        WebhookDelivery.objects.count(),
    )


@pytest.mark.django_db
def test_a_task_outside_the_clients_scope_is_404_for_every_action_and_changes_nothing(
    example, media_root
):
    _, task = _ready_task(example)
    before = _effects()
    outsiders = [
        issue("hospital", "hospital", "fujian-mch"),  # same department, another hospital
        issue("police", "police_station", "qinbei-xintang"),  # another department
    ]
    bodies = {
        "claim": {},
        "complete": {"result": {"bmc_number": "X1"}},
        "return": {"reasons": ["补正"]},
        "refuse": {"reasons": ["不予"]},
        "card-status": {"status": "in_production"},
    }
    for creds in outsiders:
        other = Api(creds.token)
        for action, body in bodies.items():
            for task_id in (task["id"], 999_999):
                response = other.post(f"/tasks/{task_id}/{action}", body)
                assert response.status_code == 404, (action, response.content[:200])
                assert response.json()["code"] == "not_found"
    assert _effects() == before


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_taken_for_a_task_in_scope_only(example, media_root):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    api, task = _ready_task(example)
    case_id = CaseItem.objects.get(pk=task["id"]).case_id
    outsider = Api(issue("hospital", "hospital", "fujian-mch").token)

    def locked_elsewhere() -> bool:
        """Whether another connection finds the case row locked (NOWAIT)."""
        found: list[bool] = []

        def probe() -> None:
            try:
                with transaction.atomic():
                    Case.objects.select_for_update(nowait=True).filter(pk=case_id).exists()
                found.append(False)
            except DatabaseError:
                found.append(True)
            finally:
                connections.close_all()

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        return found == [True]

    with transaction.atomic():  # the request's transaction held open: its locks too
        assert outsider.post(f"/tasks/{task['id']}/claim").status_code == 404
        assert not locked_elsewhere()
    with transaction.atomic():
        assert api.post(f"/tasks/{task['id']}/claim").status_code == 200
        assert locked_elsewhere()
    assert CaseItem.objects.get(pk=task["id"]).state == "in_progress"
