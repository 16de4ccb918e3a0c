"""Several tasks claimed or completed in one request (issue 10; ADR 0024 amendment of
session 26), through HTTP, the database's effect checked: each task answered as its single
endpoint would, one task's refusal never undoing or blocking another's success, a replay
with the key doing nothing again, the batch's limits, and two batches over the same cases
in opposite orders on PostgreSQL not deadlocking."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onestop.audit.models import AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import Case, TimelineEntry
from onestop.integration import api as api_module
from onestop.integration.models import IdempotentResponse
from onestop.integration.tests.support import Api, cache_uses, current, hospital
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import TaskConflict

pytestmark = pytest.mark.django_db


def _cases(example: Any, api: Api, n: int) -> list[dict[str, Any]]:
    """``n`` qinbei cases submitted by ``api``'s hospital: their birth certificate tasks."""
    for k in range(n):
        document = current(example("qinbei-accept"))
        another_newborn(document, k)
        assert api.post("/cases", document, key=f"batch-case-{k}").status_code == 201
    tasks = api.get("/tasks").json()["tasks"]
    assert len(tasks) == n
    return list(tasks)


def _result(n: int) -> dict[str, str]:
    return {"bmc_number": f"Q45012{n:04d}"}


def _counts(task_ids: list[int], action: str) -> tuple[int, int]:
    """Audit records of ``action`` and timeline lines of the tasks' cases."""
    numbers = list(Case.objects.filter(items__pk__in=task_ids).values_list("number", flat=True))
    audits = AuditRecord.objects.filter(stream__in=numbers, action=action).count()
    lines = TimelineEntry.objects.filter(case__number__in=numbers).count()
    return audits, lines


@pytest.fixture
def five(example, media_root):
    """Five tasks of one hospital's system and one task of another hospital's."""
    api = Api(hospital().token)
    tasks = _cases(example, api, 5)
    other = Api(hospital("fujian-mch").token)
    assert other.post("/cases", current(example("fuzhou-accept")), key="f").status_code == 201
    [foreign] = other.get("/tasks").json()["tasks"]
    return api, tasks, foreign


def test_a_mixed_claim_batch_claims_exactly_the_fine_tasks(five):
    api, tasks, foreign = five
    ids = [t["id"] for t in tasks]
    body = {
        "tasks": [
            {"id": tasks[0]["id"], "expected_version": tasks[0]["version"]},
            {"id": tasks[1]["id"], "expected_version": tasks[1]["version"] + 7},  # conflict
            {"id": foreign["id"], "expected_version": foreign["version"]},  # out of scope
            {"id": tasks[2]["id"]},
            {"id": tasks[3]["id"], "expected_version": tasks[3]["version"]},
        ]
    }
    audits_before, lines_before = _counts(ids, "item_claimed")
    answer = api.post("/tasks/claims", body, key="claims-1")
    assert answer.status_code == 200, answer.content
    results = answer.json()["results"]
    assert [r["id"] for r in results] == [t["id"] for t in body["tasks"]]
    assert [r["status"] for r in results] == [200, 409, 404, 200, 200]
    assert results[1]["body"]["code"] == "task_conflict" and results[1]["body"]["message"]
    assert results[2]["body"] == {"code": "not_found", "message": "任务不存在或无权访问"}
    # A claimed task's body is the task's detail, as the single claim answers it.
    for result in (results[0], results[3], results[4]):
        assert result["body"] == api.get(f"/tasks/{result['id']}").json()
        assert result["body"]["state"] == "in_progress" and result["body"]["result_fields"]

    states = dict(CaseItem.objects.filter(pk__in=[*ids, foreign["id"]]).values_list("pk", "state"))
    assert states == {
        tasks[0]["id"]: "in_progress",
        tasks[1]["id"]: "ready",
        tasks[2]["id"]: "in_progress",
        tasks[3]["id"]: "in_progress",
        tasks[4]["id"]: "ready",
        foreign["id"]: "ready",
    }
    audits, lines = _counts(ids, "item_claimed")
    assert audits == audits_before + 3
    assert lines >= lines_before  # (a claim writes no parent-visible line of its own)

    # The same key and body: the stored answer, nothing done again.
    rows = (AuditRecord.objects.count(), TimelineEntry.objects.count())
    replay = api.post("/tasks/claims", body, key="claims-1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == answer.json()
    assert (AuditRecord.objects.count(), TimelineEntry.objects.count()) == rows
    # The same key with another body: refused as the single endpoints refuse it.
    other = api.post("/tasks/claims", {"tasks": [{"id": tasks[4]["id"]}]}, key="claims-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert CaseItem.objects.get(pk=tasks[4]["id"]).state == "ready"
    # No case data is stored with the key (as a single claim's).
    stored = IdempotentResponse.objects.get(key="claims-1").body
    assert all("data" not in r["body"] for r in stored["results"])


def test_a_mixed_completion_batch_completes_exactly_the_fine_tasks(five, monkeypatch):
    api, tasks, foreign = five
    ids = [t["id"] for t in tasks]
    claimed = api.post("/tasks/claims", {"tasks": [{"id": i} for i in ids]}).json()["results"]
    versions = {r["id"]: r["body"]["version"] for r in claimed}
    assert set(versions) == set(ids)

    # One task's service writes, then fails: its writes must not stay.
    real = api_module.item_complete  # type: ignore[attr-defined]

    def failing_after_writing(**kwargs: Any) -> CaseItem:
        row = real(**kwargs)
        if kwargs["item_id"] == ids[4]:
            raise TaskConflict("模拟：办结后失败")
        return row

    monkeypatch.setattr(api_module, "item_complete", failing_after_writing)
    body = {
        "tasks": [
            {"id": ids[0], "result": _result(0), "expected_version": versions[ids[0]]},
            {"id": ids[1], "result": _result(1), "expected_version": versions[ids[1]] + 3},
            {"id": foreign["id"], "result": _result(9)},
            {"id": ids[2], "result": {"bmc_number": "123"}},  # invalid
            {"id": ids[3], "result": _result(3)},
            {"id": ids[4], "result": _result(4)},  # fails after writing
        ]
    }
    audits_before, _ = _counts(ids, "item_completed")
    answer = api.post("/tasks/completions", body, key="done-1")
    assert answer.status_code == 200, answer.content
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [200, 409, 404, 422, 200, 409]
    assert results[3]["body"]["code"] == "result_invalid"
    assert results[3]["body"]["problems"][0]["field"] == "bmc_number"
    for result in (results[0], results[4]):
        assert result["body"]["state"] == "done" and result["body"]["elicence_serial"]
    states = dict(CaseItem.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert states == {
        ids[0]: "done",
        ids[1]: "in_progress",
        ids[2]: "in_progress",
        ids[3]: "done",
        ids[4]: "in_progress",
    }
    assert CaseItem.objects.get(pk=foreign["id"]).state == "ready"
    audits, _ = _counts(ids, "item_completed")
    assert audits == audits_before + 2
    done_cases = Case.objects.filter(items__pk__in=[ids[0], ids[3]])
    failed_case = Case.objects.get(items__pk=ids[4])
    assert all(case.elicences.count() == 1 for case in done_cases)
    assert failed_case.elicences.count() == 0  # the failed task's e-licence rolled back

    rows = (AuditRecord.objects.count(), TimelineEntry.objects.count())
    replay = api.post("/tasks/completions", body, key="done-1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == answer.json()
    assert (AuditRecord.objects.count(), TimelineEntry.objects.count()) == rows


@pytest.mark.parametrize(
    ("tasks", "code"),
    [
        ([], "batch_empty"),
        ([{"id": n} for n in range(1, 52)], "batch_too_large"),
        ([{"id": 7}, {"id": 8}, {"id": 7}], "batch_duplicate_task"),
    ],
)
def test_empty_oversize_and_duplicate_batches_are_refused(five, tasks, code):
    api, _tasks, _foreign = five
    audits = AuditRecord.objects.count()
    for path in ("/tasks/claims", "/tasks/completions"):
        answer = api.post(path, {"tasks": tasks})
        assert answer.status_code == 422
        assert answer.json()["code"] == code and answer.json()["message"]
    assert AuditRecord.objects.count() == audits
    assert CaseItem.objects.filter(state="in_progress").count() == 0


def test_a_huge_hostile_batch_is_refused_by_its_length_before_its_entries(five, settings):
    """Junk entries near the body limit (each "1, " is 3 bytes): refused at once by the
    list's length as too large, with a short answer — not every entry validated into an
    answer of megabytes (review of session 26)."""
    api, _tasks, _foreign = five
    for path in ("/tasks/claims", "/tasks/completions"):
        answer = api.post(path, {"tasks": [1] * (settings.API_MAX_BODY_BYTES // 4)})
        assert answer.status_code == 422
        assert answer.json()["code"] == "batch_too_large"
        assert len(answer.content) < 2_000
        junk = api.post(path, {"tasks": ["x"] * 50})  # within the length: the entries' errors
        assert junk.status_code == 422 and len(junk.json()["problems"]) <= 20


def test_a_batch_counts_one_use_of_the_rate_limit_per_task(five, settings):
    from onestop.ops.models import RateCounter

    _api, tasks, _foreign = five
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "4/m"}
    fresh = hospital()  # another system of the same hospital: nothing counted yet
    api = Api(fresh.token)
    first = api.post("/tasks/claims", {"tasks": [{"id": t["id"]} for t in tasks[:3]]})
    assert first.status_code == 200  # three uses
    hits = RateCounter.objects.filter(name=f"api:client:{fresh.client.pk}")
    assert hits.get().hits == 3
    refused = api.post("/tasks/claims", {"tasks": [{"id": t["id"]} for t in tasks[3:]]})
    assert refused.status_code == 429 and refused["Retry-After"]  # two do not fit in one
    assert refused.json()["code"] == "rate_limited"
    assert hits.get().hits == 4  # the refused request counted once, as a refused single one
    assert CaseItem.objects.filter(pk__in=[t["id"] for t in tasks[3:]], state="ready").count() == 2


def test_a_refused_batch_counts_once_where_the_cache_counts(five, settings, monkeypatch):
    """With the limit counted in a shared cache (Redis in production), a batch that does
    not fit is refused having counted one use, as the database's counter counts it — it
    used to count its tasks one by one up to the limit, using up the client's window."""
    # One window for the whole test: the clock the windows are cut by stands still (a
    # minute's boundary between two calls on a busy machine started a new window and the
    # count over: a flake seen in session 29).
    import time as real_time
    from types import SimpleNamespace

    import django_ratelimit.core

    from onestop.common import ratelimit

    frozen = real_time.time()
    still = SimpleNamespace(time=lambda: frozen)
    monkeypatch.setattr(ratelimit, "time", still)
    monkeypatch.setattr(django_ratelimit.core, "time", still)
    settings.CACHES = {
        **settings.CACHES,
        "rates": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "b"},
    }
    settings.RATELIMIT_USE_CACHE = "rates"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "4/m"}
    _api, tasks, _foreign = five
    fresh = hospital()
    api = Api(fresh.token)

    def used() -> int:
        return cache_uses(fresh.client.pk, "4/m")

    assert api.post("/tasks/claims", {"tasks": [{"id": tasks[0]["id"]}]}).status_code == 200
    assert used() == 1
    refused = api.post("/tasks/claims", {"tasks": [{"id": t["id"]} for t in tasks[1:5]]})
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert used() == 2  # one use for the refused request, not the window's rest
    assert CaseItem.objects.filter(pk__in=[t["id"] for t in tasks[1:5]], state="ready").count() == 4
    fits = api.post("/tasks/claims", {"tasks": [{"id": t["id"]} for t in tasks[1:3]]})
    assert fits.status_code == 200 and used() == 4


def test_a_batch_larger_than_the_rate_window_is_refused_as_too_large(five, settings):
    """A batch of more tasks than the client may use in a whole window would be refused
    429 in every window (its Retry-After never enough): it is refused as too large, with
    the number that fits, and nothing is claimed (review of session 26)."""
    _api, tasks, _foreign = five
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "2/m"}
    api = Api(hospital().token)
    refused = api.post("/tasks/claims", {"tasks": [{"id": t["id"]} for t in tasks[:3]]})
    assert refused.status_code == 422 and refused.json()["code"] == "batch_too_large"
    assert "2" in refused.json()["message"]
    assert CaseItem.objects.filter(state="in_progress").count() == 0
    fits = api.post("/tasks/claims", {"tasks": [{"id": t["id"]} for t in tasks[:1]]})
    assert fits.status_code == 200  # the refused batch counted one use, as a refused request


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_two_batches_over_the_same_cases_in_opposite_orders_do_not_deadlock(example, media_root):
    api = Api(hospital().token)
    tasks = _cases(example, api, 6)
    ids = [t["id"] for t in tasks]
    rivals = [Api(hospital().token) for _ in range(2)]
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def claim(rival: Api, order: list[int]) -> None:
        try:
            barrier.wait()
            answers.append(rival.post("/tasks/claims", {"tasks": [{"id": i} for i in order]}))
        finally:
            connection.close()

    orders = [ids, list(reversed(ids))]
    threads = [
        threading.Thread(target=claim, args=pair) for pair in zip(rivals, orders, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    statuses = [r["status"] for a in answers for r in a.json()["results"]]
    # Each task claimed exactly once, by one batch or the other; never a 503 (deadlock).
    assert sorted(statuses) == [200] * 6 + [409] * 6
    assert CaseItem.objects.filter(pk__in=ids, state="in_progress").count() == 6


def test_a_batch_writes_per_task_what_the_single_endpoints_write(example, media_root):
    """The held effects (`effects.held`): webhook deliveries, messages, timeline lines and
    audit records, per case, as many after a batch as after the single endpoints."""
    from onestop.integration.models import WebhookDelivery
    from onestop.notifications.models import Notification

    creds = hospital(webhook_url="https://hooks.example.test/in")
    api = Api(creds.token)
    tasks = _cases(example, api, 4)
    single, batched = tasks[:2], tasks[2:]
    for task in single:
        claim = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"]})
        assert claim.status_code == 200
        body = {"result": _result(task["id"]), "expected_version": claim.json()["version"]}
        assert api.post(f"/tasks/{task['id']}/complete", body).status_code == 200
    claims = {"tasks": [{"id": t["id"], "expected_version": t["version"]} for t in batched]}
    claimed = api.post("/tasks/claims", claims).json()["results"]
    assert [r["status"] for r in claimed] == [200, 200]
    completions = {
        "tasks": [
            {"id": r["id"], "result": _result(r["id"]), "expected_version": r["body"]["version"]}
            for r in claimed
        ]
    }
    done = api.post("/tasks/completions", completions).json()["results"]
    assert [r["status"] for r in done] == [200, 200]

    def written(task: dict[str, Any]) -> tuple[int, int, int, int]:
        number = task["case_number"]
        return (
            WebhookDelivery.objects.filter(case_number=number).count(),
            Notification.objects.filter(case__number=number).count(),
            TimelineEntry.objects.filter(case__number=number).count(),
            AuditRecord.objects.filter(stream=number).count(),
        )

    expected = written(single[0])
    assert expected[0] > 0 and expected[1] > 0  # (the test sees webhooks and messages)
    assert written(single[1]) == expected
    assert [written(task) for task in batched] == [expected, expected]


def test_a_parent_gets_the_same_messages_whatever_else_the_batch_holds(example, media_root):
    """Twins: the two certificates of one case completed in one batch. A message joins
    only those of its own state change (each task's), as through the single endpoints —
    not, on the run without savepoints, those of the batch's other tasks of the case;
    so a refused neighbour (the batch run again with savepoints) changes nothing (review
    of session 26)."""
    from onestop.integration.tests.test_twins_api import twins
    from onestop.notifications.models import Notification

    api = Api(hospital().token)
    numbers = []
    for k in (1, 2, 3):
        document = twins(current(example("qinbei-accept")))
        another_newborn(document, k)
        document["newborns"][1]["record_number"] = document["newborns"][0]["record_number"] + "B"
        answer = api.post("/cases", document, key=f"twins-{k}")
        assert answer.status_code == 201, answer.json()
        numbers.append(answer.json()["number"])
    tasks: dict[str, list[dict[str, Any]]] = {}
    for task in api.get("/tasks").json()["tasks"]:
        tasks.setdefault(task["case_number"], []).append(task)
    assert all(len(tasks[number]) == 2 for number in numbers)
    claims = {
        "tasks": [
            {"id": t["id"], "expected_version": t["version"]} for n in numbers for t in tasks[n]
        ]
    }
    version = {
        r["id"]: r["body"]["version"] for r in api.post("/tasks/claims", claims).json()["results"]
    }
    before = {n: Notification.objects.filter(case__number=n).count() for n in numbers}

    def completions(number: str) -> list[dict[str, Any]]:
        return [
            {"id": t["id"], "result": _result(t["id"]), "expected_version": version[t["id"]]}
            for t in tasks[number]
        ]

    single, held, again = numbers
    for entry in completions(single):
        body = {"result": entry["result"], "expected_version": entry["expected_version"]}
        assert api.post(f"/tasks/{entry['id']}/complete", body).status_code == 200
    first = api.post("/tasks/completions", {"tasks": completions(held)}).json()["results"]
    assert [r["status"] for r in first] == [200, 200]
    stale = {"id": tasks[single][0]["id"], "result": _result(1), "expected_version": 1}
    second = api.post("/tasks/completions", {"tasks": [*completions(again), stale]})
    assert [r["status"] for r in second.json()["results"]] == [200, 200, 409]

    def messages(number: str) -> list[str]:
        rows = Notification.objects.filter(case__number=number).order_by("pk")
        return [row.channel for row in rows][before[number] :]

    assert messages(single)  # (the test sees the completions' messages)
    assert messages(held) == messages(single)
    assert messages(again) == messages(single)


def _audit_inserts(queries: Any) -> int:
    return sum(1 for q in queries if q["sql"].startswith('INSERT INTO "audit_auditrecord"'))


def test_a_batchs_audit_records_are_one_insert_and_their_chains_verify(five):
    """Issue 10, session 29 (h-audit): the batch's records — one per task, each in its
    case's stream — written in one INSERT at the end of the request (`audit_held`), not one
    each, and every stream's chain intact."""
    api, tasks, _foreign = five
    ids = [t["id"] for t in tasks]
    with CaptureQueriesContext(connection) as claims:
        answer = api.post("/tasks/claims", {"tasks": [{"id": i} for i in ids]}, key="held-1")
    assert [r["status"] for r in answer.json()["results"]] == [200] * 5
    assert _audit_inserts(claims) == 1
    with CaptureQueriesContext(connection) as completions:
        answer = api.post(
            "/tasks/completions",
            {"tasks": [{"id": i, "result": _result(n)} for n, i in enumerate(ids)]},
            key="held-2",
        )
    assert [r["status"] for r in answer.json()["results"]] == [200] * 5
    assert _audit_inserts(completions) == 1
    numbers = list(Case.objects.filter(items__pk__in=ids).values_list("number", flat=True))
    assert _counts(ids, "item_claimed")[0] == _counts(ids, "item_completed")[0] == 5
    streams = set(AuditRecord.objects.filter(stream__contains="-").values_list("stream", flat=True))
    assert set(numbers) <= streams
    for stream in streams:
        assert verify_chain(stream) == [], stream


def test_an_error_mid_batch_leaves_none_of_its_audit_records(five, monkeypatch):
    """An unexpected error at the third task: the request is rolled back (run again with
    savepoints, where it fails again) and no task's record — held or written — stays."""
    api, tasks, _foreign = five
    ids = sorted(t["id"] for t in tasks)
    real = api_module.item_claim  # type: ignore[attr-defined]

    def failing_at_the_third(**kwargs: Any) -> CaseItem:
        row = real(**kwargs)
        if kwargs["item_id"] == ids[2]:
            raise RuntimeError("模拟：领取后出错")
        return row

    monkeypatch.setattr(api_module, "item_claim", failing_at_the_third)
    before = AuditRecord.objects.count()
    with pytest.raises(RuntimeError):
        api.post("/tasks/claims", {"tasks": [{"id": i} for i in ids]}, key="held-3")
    assert AuditRecord.objects.count() == before
    assert _counts(ids, "item_claimed")[0] == 0
    assert CaseItem.objects.filter(pk__in=ids, state="in_progress").count() == 0
