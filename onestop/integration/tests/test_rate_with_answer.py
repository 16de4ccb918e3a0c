"""A keyed write counts its use of the rate limit in its stored answer's INSERT (issue 10,
session 29, ADR 0024 amendment): one statement less per write, and every use still
counted exactly once — a stored answer, a refused write, a replay, a batch, a lost race
on the key, a revoked client's next call."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onestop.integration import idempotency
from onestop.integration.models import ApiClient, IdempotentResponse
from onestop.integration.services import api_client_rotate_secret
from onestop.integration.tests.support import Api, hospital
from onestop.ops.models import RateCounter

UNKNOWN = 999_999_999


def _claims(*ids: int) -> dict[str, Any]:
    return {"tasks": [{"id": task_id} for task_id in ids]}


def _hits() -> int:
    return sum(RateCounter.objects.values_list("hits", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_stored_answer_carries_its_count(settings, media_root):
    api = Api(hospital().token)
    with CaptureQueriesContext(connection) as captured:
        answer = api.post("/tasks/claims", _claims(UNKNOWN), key=uuid.uuid4().hex)
    assert answer.status_code == 200, answer.content
    assert IdempotentResponse.objects.count() == 1
    assert _hits() == 1
    counting = [q["sql"] for q in captured.captured_queries if "onestop_rate_counter" in q["sql"]]
    if connection.vendor == "postgresql":
        # The client's read (the counter looked at) and the answer's INSERT (counted).
        assert len(counting) == 2, counting
        assert counting[1].startswith("WITH counted AS (INSERT INTO onestop_rate_counter")
        assert "integration_idempotentresponse" in counting[1]


@pytest.mark.django_db(transaction=True)
def test_a_batch_counts_each_task_in_its_answer(settings, media_root):
    api = Api(hospital().token)
    answer = api.post("/tasks/claims", _claims(UNKNOWN, UNKNOWN - 1, UNKNOWN - 2), key="b-1")
    assert answer.status_code == 200, answer.content
    assert _hits() == 3


@pytest.mark.django_db(transaction=True)
def test_refused_and_replayed_writes_count_once_each(settings, media_root):
    """A refused write stores no answer and is counted at the end of its transaction; a
    replay stores none either and is counted; the limit then refuses (429), counting."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "4/d"}
    api = Api(hospital().token)
    assert api.post(f"/tasks/{UNKNOWN}/claim", {}, key="r-1").status_code == 404
    assert IdempotentResponse.objects.count() == 0
    assert _hits() == 1
    assert api.post("/tasks/claims", _claims(UNKNOWN), key="r-2").status_code == 200
    assert _hits() == 2
    replay = api.post("/tasks/claims", _claims(UNKNOWN), key="r-2")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert _hits() == 3
    assert api.post("/tasks/claims", _claims(UNKNOWN), key="r-3").status_code == 200
    assert _hits() == 4
    refused = api.post("/tasks/claims", _claims(UNKNOWN), key="r-4")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert _hits() == 5  # a refused request counts too
    assert IdempotentResponse.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_lost_race_on_the_key_is_counted_once(settings, media_root, monkeypatch):
    """The answer's INSERT refused (another request stored the key's answer between the
    look and the write): the count in it is rolled back with it, the request is run again
    and counted once, and it answers as a replay."""
    api = Api(hospital().token)
    assert api.post("/tasks/claims", _claims(UNKNOWN), key="race").status_code == 200
    assert _hits() == 1
    real = idempotency._stored
    blind = [2]  # the first run does not see the stored answer: before and after its write

    def stored(*args: Any, **kwargs: Any) -> Any:
        if blind[0] > 0:
            blind[0] -= 1
            return None
        return real(*args, **kwargs)

    monkeypatch.setattr(idempotency, "_stored", stored)
    again = api.post("/tasks/claims", _claims(UNKNOWN), key="race")
    assert again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotentResponse.objects.count() == 1
    assert blind == [0]  # the race was run
    assert _hits() == 2


@pytest.mark.django_db(transaction=True)
def test_a_rotated_or_revoked_client_is_refused_at_once_and_not_counted(settings, media_root):
    issued = hospital()
    api = Api(issued.token)
    assert api.post("/tasks/claims", _claims(UNKNOWN), key="k-1").status_code == 200
    rotated = api_client_rotate_secret(client_id=issued.client.pk)
    assert api.post("/tasks/claims", _claims(UNKNOWN), key="k-2").status_code == 401
    fresh = Api(rotated.token)
    assert fresh.post("/tasks/claims", _claims(UNKNOWN), key="k-3").status_code == 200
    ApiClient.objects.filter(pk=issued.client.pk).update(active=False)
    refused = fresh.post("/tasks/claims", _claims(UNKNOWN), key="k-4")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    assert refused.json()["code"] == "unauthorized"
    assert _hits() == 2  # the accepted ones; a refused credential is no client's use
    assert IdempotentResponse.objects.count() == 2
