"""Rate limits with 429 and Retry-After, through HTTP (issue 8, "Hardening": "Rate limits
with 429 and Retry-After on: the API per client, ..., the delivery-record lookup (per draft
*and* per parent, not reset by discarding the draft), `/verify/`")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from onestop.audit.models import AccessRecord
from onestop.integration.tests.support import Api, hospital
from onestop.portal.models import Draft
from onestop.portal.tests.support import MOTHER_ID, delivery_record, mother_client, post, step
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db


def _limits(settings: Any, **rates: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}


def _assert_429(response: Any, *, json: bool) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 24 * 3600
    if json:
        assert response.json()["code"] == "rate_limited"
        assert "频繁" in response.json()["message"]
    else:
        assert "频繁" in response.content.decode()


def test_the_api_is_limited_per_client(settings, media_root):
    _limits(settings, api="5/m")
    first, second = Api(hospital().token), Api(hospital("fujian-mch").token)
    answers = [first.get("/me").status_code for _ in range(12)]
    assert answers[:5] == [200] * 5 and set(answers[5:]) == {429}
    _assert_429(first.get("/me"), json=True)
    # Another credential has its own count.
    assert second.get("/me").status_code == 200
    reliability_record("rate limits", "API requests by one client beyond a limit of 5/min", 7)
    reliability_record("rate limits", "of those answered other than 429", answers[5:].count(200))


def test_verify_is_limited_per_ip(settings):
    _limits(settings, verify="4/m")
    client = Client()
    answers = [
        client.get("/verify/", {"serial": "QINBEI-20261120-0001-01"}, REMOTE_ADDR="10.0.0.7")
        for _ in range(10)
    ]
    assert [a.status_code for a in answers[:4]] == [404] * 4
    for response in answers[4:]:
        _assert_429(response, json=False)
    _assert_429(
        client.get("/verify/QINBEI-20261120-0001-01.json", REMOTE_ADDR="10.0.0.7"), json=True
    )
    # Another address is not affected.
    assert client.get("/verify/", REMOTE_ADDR="10.0.0.8").status_code == 200
    reliability_record("rate limits", "/verify/ requests from one IP beyond a limit of 4/min", 6)
    passed = sum(a.status_code != 429 for a in answers[4:])
    reliability_record("rate limits", "of those answered other than 429", passed)


LOOKUP = {
    "mother_residency": "mainland",
    "mother_id_number": MOTHER_ID,
    "newborns_0_hospital": "qinbei-mch",
    "newborns_0_record_number": "ZY2026-11-9999",  # a wrong guess
    "action": "lookup",
}


def _new_draft(client: Client) -> None:
    client.get("/my/apply/qinbei/")
    post(client, step("qinbei", "items"), {"items": ["birth_certificate"], "role": "mother"})


def _lookups() -> int:
    return AccessRecord.objects.filter(what__startswith="delivery_record:").count()


def test_the_delivery_record_lookup_is_limited_per_draft(settings, media_root):
    _limits(settings, lookup_draft="3/h", lookup_parent="100/d")
    delivery_record()
    client = mother_client()
    _new_draft(client)
    answers = [client.post(step("qinbei", "birth"), LOOKUP) for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [302] * 3
    for response in answers[3:]:
        _assert_429(response, json=False)
    assert _lookups() == 3  # the refused tries never reached the hospital's records


def test_discarding_the_draft_does_not_reset_the_parents_limit(settings, media_root):
    _limits(settings, lookup_draft="100/h", lookup_parent="4/d")
    delivery_record()
    client = mother_client()
    tried = 0
    for _round in range(3):  # guess, discard the draft, start again, guess again
        _new_draft(client)
        for _ in range(3):
            client.post(step("qinbei", "birth"), LOOKUP)
            tried += 1
        post(client, "/my/apply/qinbei/discard/", {})
        assert not Draft.objects.exists()
    assert _lookups() == 4
    reached = _lookups()
    _new_draft(client)
    _assert_429(client.post(step("qinbei", "birth"), LOOKUP), json=False)
    # Another parent is not affected.
    other = mother_client("13911112222")
    _new_draft(other)
    assert other.post(step("qinbei", "birth"), LOOKUP).status_code == 302
    reliability_record(
        "rate limits", "delivery-record lookups tried across 3 discarded drafts", tried
    )
    reliability_record(
        "rate limits", "lookups that reached the records (limit 4 per parent)", reached
    )
