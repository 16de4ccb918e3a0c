"""An API request's plumbing in as few statements as it needs (issue 10, ADR 0045
amendment of session 23), and what it must keep, through HTTP against the database:

- the client, its rate limit's counter and whether an answer to the request's
  Idempotency-Key is stored are read in one statement (the same rows as the three reads);
- the request's nested atomic blocks take no savepoint; where one is left by an error
  the request is rolled back and run again with savepoints: a refused action leaves
  nothing of what it wrote, its key is not spent, and it is counted once.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case
from onestop.common.ratelimit import _window, rate_count, rate_peek
from onestop.integration import api as api_module
from onestop.integration.models import ApiClient, IdempotentResponse, WebhookDelivery
from onestop.integration.tests.support import Api, cache_uses, current, hospital
from onestop.ops.models import RateCounter
from onestop.testing.costs import database_cost
from onestop.workflow import services as workflow_services
from onestop.workflow.models import CaseItem
from onestop.workflow.services import TaskConflict

pytestmark = pytest.mark.django_db


def _limit(settings: Any, rate: str = "1000/d") -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": rate}


def _case_and_task(api: Api, example: Any, key: str = "case") -> tuple[str, dict[str, Any]]:
    number = api.post("/cases", current(example("qinbei-accept")), key=key).json()["number"]
    task = next(t for t in api.get("/tasks").json()["tasks"] if t["case_number"] == number)
    return number, task


def _written(number: str, task_id: int) -> dict[str, Any]:
    """What a task action writes for a case."""
    case = Case.objects.get(number=number)
    item = CaseItem.objects.get(pk=task_id)
    return {
        "item": (item.state, item.version, item.claimed_by_id),
        "audit": AuditRecord.objects.filter(stream=number).count(),
        "timeline": case.timeline.count(),
        "webhooks": WebhookDelivery.objects.count(),
        "answers": IdempotentResponse.objects.count(),
    }


def _hits() -> int:
    return sum(RateCounter.objects.values_list("hits", flat=True))


@pytest.mark.django_db(transaction=True)  # the request's own transaction, not a savepoint
def test_a_keyed_write_reads_its_client_once_and_takes_no_savepoint(settings, example, media_root):
    _limit(settings)
    api = Api(hospital().token)
    _, task = _case_and_task(api, example)
    with database_cost(keep_sql=True) as cost:
        claimed = api.post(f"/tasks/{task['id']}/claim", {}, key="claim-1")
    assert claimed.status_code == 200, claimed.content
    statements = [s.removeprefix("[tx] ").removeprefix("[ac] ") for s in cost.sql]
    assert not [s for s in statements if "SAVEPOINT" in s]
    reads = [s for s in statements if s.startswith("SELECT")]
    # The client's read (its subselects — the webhook stamp, the rate counter — inside).
    assert len([s for s in reads if s.startswith('SELECT "integration_apiclient"."id"')]) == 1
    assert not [s for s in reads if s.startswith("SELECT bucket")]  # the counter: with it
    assert not [s for s in reads if 'FROM "integration_idempotentresponse"' in s[:400]]
    if connection.vendor == "postgresql":
        assert cost.transactions == 1
    assert IdempotentResponse.objects.filter(key="claim-1").count() == 1
    # The replay: the stored answer, found by the same statement, then read whole.
    again = api.post(f"/tasks/{task['id']}/claim", {}, key="claim-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == claimed.json()
    # The same key with another request: refused, as before.
    other = api.post(f"/tasks/{task['id']}/claim", {"expected_version": 1}, key="claim-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db(transaction=True)
def test_an_action_refused_after_it_wrote_leaves_nothing_and_is_counted_once(
    settings, example, media_root, monkeypatch
):
    """The claim writes the task and its audit record, then fails inside its service's
    block (409): the
    request runs again with savepoints and answers the same 409; nothing the claim wrote
    stays, the key is not spent, the request is counted once."""
    _limit(settings)
    api = Api(hospital().token)
    number, task = _case_and_task(api, example)
    before, hits = _written(number, task["id"]), _hits()
    runs: list[int] = []

    def failing(*events: Any) -> None:
        # The claim has written its row and its audit record; its events' effects fail.
        runs.append(CaseItem.objects.get(pk=task["id"]).version)
        raise TaskConflict("任务已被他人领取")

    monkeypatch.setattr(workflow_services, "emit", failing)
    # With a key (the race's look for a concurrent answer runs after the error) and
    # without (nothing runs after it: the answer is made, the mark tells).
    for n, key in enumerate(["k", None], start=1):
        refused = api.post(f"/tasks/{task['id']}/claim", {}, key=key)
        assert refused.status_code == 409 and refused.json()["code"] == "task_conflict"
        assert runs == [task["version"] + 1] * 2 * n  # written, rolled back, run again
        assert _written(number, task["id"]) == before
        assert _hits() == hits + n
    monkeypatch.undo()
    claimed = api.post(f"/tasks/{task['id']}/claim", {}, key="k")
    assert claimed.status_code == 200 and "Idempotent-Replayed" not in claimed
    assert _written(number, task["id"])["item"][1] == task["version"] + 1
    assert _hits() == hits + 3


@pytest.mark.django_db(transaction=True)
def test_a_refused_action_without_a_key_is_counted_once(settings, example, media_root):
    _limit(settings, "4/d")
    api = Api(hospital().token)
    number, task = _case_and_task(api, example)  # 2 requests
    before = _written(number, task["id"])
    stale = api.post(f"/tasks/{task['id']}/claim", {"expected_version": task["version"] + 5})
    assert stale.status_code == 409 and stale.json()["code"] == "task_conflict"
    assert _written(number, task["id"]) == before
    assert _hits() == 3
    assert api.get("/me").status_code == 200
    limited = api.post(f"/tasks/{task['id']}/claim", {}, key="late")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert _written(number, task["id"]) == before and _hits() == 5


def test_a_deactivated_client_is_refused_at_once_on_a_keyed_write(settings, example, media_root):
    _limit(settings)
    issued = hospital()
    api = Api(issued.token)
    _, task = _case_and_task(api, example)
    ApiClient.objects.filter(pk=issued.client.pk).update(active=False)
    refused = api.post(f"/tasks/{task['id']}/claim", {}, key="after")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    user = issued.client.user
    ApiClient.objects.filter(pk=issued.client.pk).update(active=True)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api.post(f"/tasks/{task['id']}/claim", {}, key="after").status_code == 401
    assert (
        Api(issued.token + "x").post(f"/tasks/{task['id']}/claim", {}, key="x").status_code == 401
    )
    assert CaseItem.objects.get(pk=task["id"]).version == task["version"]


def _fields(obj: object) -> dict[str, object]:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


@pytest.mark.parametrize("counted", [True, False])
def test_the_request_read_is_the_querysets(settings, media_root, counted):
    """Each compiled form of the request's client read gives what its queryset gives; its
    counter is the one `rate_peek` reads and `rate_count` writes; its answer the key's."""
    _limit(settings)
    issued = hospital()
    client = ApiClient.objects.get(pk=issued.client.pk)
    key_id = client.key_id
    if counted:
        rate_count(rate_peek("api", f"client:{client.pk}"))
        rate_count(rate_peek("api", f"client:{client.pk}"))
    stored = IdempotentResponse.objects.create(
        client=client,
        key="k1",
        request_digest="d",
        status_code=200,
        body={},
        created_at=client.created_at,
    )
    reads = api_module._CLIENT_READS
    cases: list[tuple[Any, tuple[str, ...]]] = [
        (reads[True, False], (key_id,)),
        (reads[False, True], (key_id, "k1")),
        (reads[False, True], (key_id, "k2")),
        (reads[True, True], (key_id, "k1")),
        (reads[True, True], (key_id, "k2")),
    ]
    for compiled, values in cases:
        for _ in range(2):  # compiled, then reused
            fast: Any = compiled.first(*values)
            slow = compiled.build(*values).first()
            assert fast is not None and slow is not None
            assert _fields(fast) == _fields(slow)
            assert _fields(fast.user) == _fields(slow.user)
        assert compiled._statement_for()[1] is not None  # it compiled
        if len(values) == 2:
            assert fast.answer_id == (stored.pk if values[1] == "k1" else None)
        if compiled is not reads[False, True]:
            window = _window("api", f"client:{client.pk}", settings.RATE_LIMITS["api"])
            row = RateCounter.objects.filter(name=window.name).first()
            assert (fast.rate_bucket, fast.rate_hits) == (
                (row.bucket, row.hits) if row is not None else (None, None)
            )
            assert (row is not None) == counted
    assert compiled.first("osk_none_such", "k1") is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers")
def test_two_claims_at_the_same_moment_one_wins_the_other_leaves_nothing(
    settings, example, media_root
):
    """Without keys: one claim wins; the other, run again after its service refused it
    (without a savepoint), answers 409 and writes nothing; both are counted."""
    _limit(settings)
    creds = hospital()
    number, task = _case_and_task(Api(creds.token), example)
    before, hits = _written(number, task["id"]), _hits()
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def claim() -> None:
        try:
            barrier.wait()
            answers.append(Api(creds.token).post(f"/tasks/{task['id']}/claim", {}))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 409]
    after = _written(number, task["id"])
    assert after["item"][1] == task["version"] + 1
    assert after["audit"] == before["audit"] + 1
    assert after["timeline"] == before["timeline"] + 1
    assert after["answers"] == before["answers"]
    assert _hits() == hits + 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs a concurrent writer")
def test_a_request_run_again_is_looked_at_and_counted_again_once(
    settings, example, media_root, monkeypatch
):
    """Between the two runs of a refused request another request of the client uses up
    its limit: the second run is refused with 429 and counted once; the first run's look
    counts nothing."""
    _limit(settings, "3/d")
    issued = hospital()
    api = Api(issued.token)
    number, task = _case_and_task(api, example)  # 2 requests
    before = _written(number, task["id"])

    def another_request() -> None:
        try:
            rate_count(rate_peek("api", f"client:{issued.client.pk}"))  # committed
        finally:
            connection.close()

    def failing(*events: Any) -> None:
        thread = threading.Thread(target=another_request)
        thread.start()
        thread.join()
        raise TaskConflict("任务已被他人领取")

    monkeypatch.setattr(workflow_services, "emit", failing)
    refused = api.post(f"/tasks/{task['id']}/claim", {}, key="k")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert _written(number, task["id"]) == before
    assert _hits() == 4  # 2 + the other request + this one (refused by its second look)


def _cache_usage(client_pk: int) -> int:
    return cache_uses(client_pk, "1000/d")


@pytest.mark.django_db(transaction=True)
def test_a_request_run_again_is_counted_once_where_the_cache_counts(
    settings, example, media_root, monkeypatch
):
    """With the rate limit counted in a cache (Redis in production: `rate_peek` counts as it
    looks, outside the transaction), a refused action's second run does not count it again
    (session 23 review: it was counted twice)."""
    settings.CACHES = {
        **settings.CACHES,
        "rates": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"},
    }
    settings.RATELIMIT_USE_CACHE = "rates"
    _limit(settings)
    issued = hospital()
    api = Api(issued.token)
    _, task = _case_and_task(api, example)
    client_pk = ApiClient.objects.get(key_id=issued.token.split(".")[0]).pk
    used = _cache_usage(client_pk)
    runs: list[int] = []

    def failing(*events: Any) -> None:
        runs.append(1)
        raise TaskConflict("任务已被他人领取")

    monkeypatch.setattr(workflow_services, "emit", failing)
    refused = api.post(f"/tasks/{task['id']}/claim", {}, key="k")
    assert refused.status_code == 409 and len(runs) == 2  # run again, with savepoints
    assert _cache_usage(client_pk) == used + 1
    assert not RateCounter.objects.exists()  # the database counted nothing


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_is_not_run_again(settings, example, media_root, monkeypatch):
    """A database error (unavailable, a deadlock, a lock timeout) answers 503 as before the
    rerun existed, after one run, and leaves nothing (session 23 review)."""
    from django.db import OperationalError

    _limit(settings)
    api = Api(hospital().token)
    number, task = _case_and_task(api, example)
    before = _written(number, task["id"])
    runs: list[int] = []

    def failing(*events: Any) -> None:
        runs.append(1)
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(workflow_services, "emit", failing)
    answer = api.post(f"/tasks/{task['id']}/claim", {}, key="k")
    assert answer.status_code == 503, answer.content
    assert runs == [1]
    assert _written(number, task["id"]) == before
