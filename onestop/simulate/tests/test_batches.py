"""A simulated department system holding several tasks claims them in one request and
completes the claimed ones in one (issue 10, session 26); one task, or a delay between
claim and completion, keeps the single endpoints. Against a stand-in platform that records
the requests (the API's batches are tested through HTTP in integration/tests)."""

from __future__ import annotations

from typing import Any

from onestop.simulate.credentials import Credential
from onestop.simulate.department import Behaviour, DepartmentSystem
from onestop.simulate.session import Answer

FIELDS = [{"name": "bmc_number", "pattern": "^Q[0-9]{9}$", "example": "Q450123456"}]


class Platform:
    """A stand-in session: claims succeed but for the ids in ``taken`` (409)."""

    def __init__(self, taken: frozenset[int] = frozenset()) -> None:
        self.posts: list[tuple[str, Any, str | None]] = []
        self.taken = taken

    def _task(self, task_id: int, state: str, version: int) -> dict[str, Any]:
        return {
            "id": task_id,
            "case_number": f"C-{task_id}",
            "item": "birth_certificate",
            "state": state,
            "version": version,
            "claimed_by_me": True,
            "result_fields": FIELDS,
            "data": {},
        }

    def _one(self, kind: str, task_id: int, version: int) -> tuple[int, dict[str, Any]]:
        if kind == "claim" and task_id in self.taken:
            return 409, {"code": "task_conflict", "message": "已被领取"}
        state = "in_progress" if kind == "claim" else "done"
        return 200, self._task(task_id, state, version + 1)

    def post(self, path: str, body: Any, *, key: str | None = None) -> Answer:
        self.posts.append((path, body, key))
        if path in ("/tasks/claims", "/tasks/completions"):
            kind = "claim" if path.endswith("claims") else "complete"
            results = []
            for task in body["tasks"]:
                status, answer = self._one(kind, task["id"], task["expected_version"])
                results.append({"id": task["id"], "status": status, "body": answer})
            return Answer(200, {"results": results})
        task_id = int(path.split("/")[2])
        status, answer = self._one(path.rsplit("/", 1)[1], task_id, body["expected_version"])
        return Answer(status, answer)

    def close_all(self) -> None:
        pass


def _system(platform: Platform, **behaviour: Any) -> DepartmentSystem:
    credential = Credential("hospital", "osk_x", "osk_x.secret", "hook", "hospital", "h1")
    system = DepartmentSystem(
        department="hospital",
        base_url="http://127.0.0.1:9",
        credentials=[credential],
        behaviour=Behaviour(**behaviour),
    )
    system.sessions = {"osk_x": platform}  # type: ignore[dict-item]
    return system


def _created(task_id: int) -> dict[str, Any]:
    task = {
        "id": task_id,
        "item": "birth_certificate",
        "state": "ready",
        "version": 1,
        "jurisdiction": {"kind": "hospital", "code": "h1"},
    }
    return {"event": "task.created", "case_number": f"C-{task_id}", "task": task}


def test_several_webhook_tasks_are_claimed_and_completed_in_one_request_each():
    platform = Platform(taken=frozenset({12}))
    system = _system(platform)
    for task_id in (11, 12, 13):
        system.inbox.events.put(_created(task_id))
    assert system._drain_webhooks()
    paths = [path for path, _, _ in platform.posts]
    assert paths == ["/tasks/claims", "/tasks/completions"]
    claims, completions = platform.posts[0][1], platform.posts[1][1]
    assert [t["id"] for t in claims["tasks"]] == [11, 12, 13]
    assert all(t["expected_version"] == 1 for t in claims["tasks"])
    # The claimed ones only, each with its result and the version its claim answered.
    assert [(t["id"], t["expected_version"]) for t in completions["tasks"]] == [(11, 2), (13, 2)]
    assert all(t["result"]["bmc_number"].startswith("Q") for t in completions["tasks"])
    assert platform.posts[0][2] and platform.posts[1][2]  # keyed: a retry repeats nothing
    assert system.counters.completed == 2 and system.counters.conflicts == 1
    assert system.counters.finished == {11, 13}


def test_one_task_or_a_delay_keeps_the_single_endpoints():
    platform = Platform()
    system = _system(platform)
    system.inbox.events.put(_created(21))
    system._drain_webhooks()
    assert [path for path, _, _ in platform.posts] == ["/tasks/21/claim", "/tasks/21/complete"]

    platform = Platform()
    system = _system(platform, delay=0.01)
    for task_id in (31, 32):
        system.inbox.events.put(_created(task_id))
    system._drain_webhooks()
    paths = sorted(path for path, _, _ in platform.posts)
    assert paths == [
        "/tasks/31/claim",
        "/tasks/31/complete",
        "/tasks/32/claim",
        "/tasks/32/complete",
    ]
    assert system.counters.completed == 2


def test_one_at_a_time_never_sends_a_batch():
    platform = Platform()
    system = _system(platform, batches=False)
    for task_id in (41, 42):
        system.inbox.events.put(_created(task_id))
    system._drain_webhooks()
    assert all("/tasks/4" in path for path, _, _ in platform.posts)
    assert len(platform.posts) == 4 and system.counters.completed == 2


class SmallWindow(Platform):
    """A platform whose client may not send a batch this large (`batch_too_large`)."""

    def post(self, path: str, body: Any, *, key: str | None = None) -> Answer:
        if path in ("/tasks/claims", "/tasks/completions"):
            self.posts.append((path, body, key))
            return Answer(422, {"code": "batch_too_large", "message": "一次最多提交1个任务"})
        return super().post(path, body, key=key)


def test_a_batch_refused_as_too_large_is_worked_one_task_at_a_time():
    platform = SmallWindow()
    system = _system(platform)
    for task_id in (51, 52):
        system.inbox.events.put(_created(task_id))
    system._drain_webhooks()
    paths = [path for path, _, _ in platform.posts]
    assert paths[0] == "/tasks/claims"
    assert sorted(p for p in paths if p.startswith("/tasks/5")) == [
        "/tasks/51/claim",
        "/tasks/51/complete",
        "/tasks/52/claim",
        "/tasks/52/complete",
    ]
    assert system.counters.completed == 2 and system.counters.finished == {51, 52}


def test_the_loop_wakes_once_a_webhook_posts_events_are_all_in_and_takes_them_together():
    """A batched POST's events are queued, then the system's loop is woken once (it was
    woken by the first event's put, put it back and took what had come so far); the
    tasks of the POST are claimed in one request."""
    import json

    from onestop.core.signing import (
        BATCH_EVENT,
        EVENT_HEADER,
        KEY_ID_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        webhook_signature,
    )

    platform = Platform()
    system = _system(platform)
    system.inbox.clock = lambda: 1_800_000_000
    events = [{**_created(task_id), "delivery_id": f"d{task_id}"} for task_id in (31, 32, 33)]
    body = json.dumps(events).encode()
    headers = {
        EVENT_HEADER: BATCH_EVENT,
        KEY_ID_HEADER: "osk_x",
        TIMESTAMP_HEADER: "1800000000",
        SIGNATURE_HEADER: webhook_signature("hook", "1800000000", body),
    }
    system._wait_for_webhook(0)  # nothing came: returns
    assert not system.inbox.arrived.is_set()
    assert system.inbox.receive(headers, body) == 200
    assert system.inbox.arrived.is_set() and system.inbox.events.qsize() == 3
    system._wait_for_webhook(5)  # returns at once, and is ready for the next POST
    assert not system.inbox.arrived.is_set() and system.inbox.events.qsize() == 3
    assert system._drain_webhooks()
    assert [path for path, _, _ in platform.posts] == ["/tasks/claims", "/tasks/completions"]
    assert [t["id"] for t in platform.posts[0][1]["tasks"]] == [31, 32, 33]
