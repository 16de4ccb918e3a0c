"""Work a case's tasks to the end through the integration API as the departments' systems
do — list the queue, read each ready task, claim it, complete it — round by round, since
items become ready as others are done. One loop for the cost test, the background-work
test and the scale generator's template cases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from onestop.simulate.credentials import Credential
from onestop.simulate.department import build_result

# (credential, method, path under /api/v1, JSON body or None) → the answer's JSON
ApiCall = Callable[[Credential, str, str, Any], Any]


def work_every_task(
    call: ApiCall,
    credentials: Sequence[Credential],
    *,
    listing: str = "/tasks?state=open&limit=100",
    rounds: int = 20,
) -> None:
    """Claim and complete every ready task the ``credentials`` see, until none is left."""
    for _ in range(rounds):
        worked = False
        for cred in credentials:
            for task in call(cred, "GET", listing, None)["tasks"]:
                if task["state"] != "ready":
                    continue
                detail = call(cred, "GET", f"/tasks/{task['id']}", None)
                claimed = call(
                    cred,
                    "POST",
                    f"/tasks/{task['id']}/claim",
                    {"expected_version": detail["version"]},
                )
                result = build_result(
                    detail.get("result_fields", []), task["id"], detail.get("data")
                )
                call(
                    cred,
                    "POST",
                    f"/tasks/{task['id']}/complete",
                    {"result": result, "expected_version": claimed["version"]},
                )
                worked = True
        if not worked:
            return


def work_every_task_in_batches(
    call: ApiCall,
    credentials: Sequence[Credential],
    *,
    listing: str = "/tasks?state=ready&limit=50",
    rounds: int = 20,
) -> int:
    """`work_every_task` as a system holding several tasks does it (issue 10, session 26):
    each credential's ready tasks claimed in one request (`POST /tasks/claims`, whose
    answer carries each task's detail) and the claimed ones completed in one (`POST
    /tasks/completions`). The number of tasks completed."""
    completed = 0
    for _ in range(rounds):
        worked = False
        for cred in credentials:
            ready = [t for t in call(cred, "GET", listing, None)["tasks"] if t["state"] == "ready"]
            if not ready:
                continue
            claims = {"tasks": [{"id": t["id"], "expected_version": t["version"]} for t in ready]}
            claimed = [r["body"] for r in call(cred, "POST", "/tasks/claims", claims)["results"]]
            done = {
                "tasks": [
                    {
                        "id": task["id"],
                        "result": build_result(
                            task.get("result_fields", []), task["id"], task.get("data")
                        ),
                        "expected_version": task["version"],
                    }
                    for task in claimed
                    if task.get("state") == "in_progress"
                ]
            }
            results = call(cred, "POST", "/tasks/completions", done)["results"]
            completed += sum(1 for r in results if r["status"] == 200)
            worked = True
        if not worked:
            return completed
    return completed


def client_call(client: Any) -> ApiCall:
    """An ``ApiCall`` through Django's test ``client`` (in process, every middleware): each
    call with the credential's token and a fresh Idempotency-Key; an answer ≥ 300 raises."""

    def call(cred: Credential, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {cred.token}", "Idempotency-Key": str(uuid.uuid4())}
        if method == "GET":
            answer = client.get(f"/api/v1{path}", headers=headers)
        else:
            answer = client.post(
                f"/api/v1{path}",
                json.dumps(body or {}, ensure_ascii=False),
                content_type="application/json",
                headers=headers,
            )
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.content[:300]!r}")
        return answer.json()

    return call


def region_clients(region: str) -> list[Credential]:
    """The demo API clients of ``region``'s departments, created with webhooks that are never
    called (the deliveries are only counted)."""
    from onestop.integration.services import api_client_create
    from onestop.simulate.credentials import demo_credentials

    mine = [c for c in demo_credentials() if c.key_id.startswith(f"osk_{region}_")]
    for cred in mine:
        api_client_create(
            **cred.client_fields(),
            webhook_url=f"http://127.0.0.1:9/{cred.key_id}",
        )
    return mine
