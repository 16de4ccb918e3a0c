"""Helpers for the integration API tests: API clients, requests and case documents."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.utils import timezone

from onestop.integration.services import IssuedCredentials, api_client_create
from onestop.ops.demo import shift_dates


def issue(department: str, kind: str, code: str, **extra: Any) -> IssuedCredentials:
    return api_client_create(
        name=f"{department}:{code}",
        department=department,
        jurisdiction_kind=kind,
        jurisdiction_code=code,
        **extra,
    )


def hospital(code: str = "qinbei-mch", **extra: Any) -> IssuedCredentials:
    return issue("hospital", "hospital", code, **extra)


# One "now" for every document of a test run: two documents made ``another_newborn`` n
# apart stay n minutes apart at birth however long the run takes between them (shifted to
# two different "now"s a minute apart, the 1st and the 2nd other newborn of the same mother
# were born in the same minute: a duplicate newborn, on a slow machine only).
_RUN_STARTED = timezone.now()


def current(document: dict[str, Any]) -> dict[str, Any]:
    """The example document as if submitted now (ages and intervals kept)."""
    shift_dates(document, _RUN_STARTED)
    return document


def accepted(document: dict[str, Any]) -> Any:
    """The example document submitted now — at its counter by a clerk of it when the
    example names one, else online — and accepted: its case."""
    from onestop.cases.services import case_submit
    from onestop.testing.factories import staff

    counter = document.get("counter")
    if counter:
        clerk = staff("clerk", kind=counter["kind"], code=counter["code"])
        submission = case_submit(
            document=current(document), actor=clerk, counter=(counter["kind"], counter["code"])
        )
    else:
        submission = case_submit(document=current(document), actor=None)
    assert submission.case.status == "in_progress", submission.case.decision
    return submission.case


def admin_edit(admin_client: Any, client: Any, **changes: Any) -> None:
    """The client's admin change form, posted with ``changes`` (as staff edit it)."""
    client.refresh_from_db()
    form = {
        "name": client.name,
        "department": client.department,
        "jurisdiction_kind": client.jurisdiction_kind,
        "jurisdiction_code": client.jurisdiction_code,
        "may_submit_cases": "on" if client.may_submit_cases else "",
        "webhook_url": client.webhook_url,
        "events": json.dumps(client.events),
        "webhook_batch_max": client.webhook_batch_max,
        "webhook_echo": "on" if client.webhook_echo else "",
        "active": "on" if client.active else "",
    }
    form.update(changes)
    answer = admin_client.post(f"/admin/integration/apiclient/{client.pk}/change/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]


class Api:
    """The Django test client speaking JSON with one client's token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._headers(None))

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            data=json.dumps({} if body is None else body, ensure_ascii=False),
            content_type="application/json",
            headers=self._headers(key),
        )


def cache_uses(client_pk: int, rate: str) -> int:
    """The uses of the API's rate limit the shared cache has counted for a client in the
    current window (the limit counted in a cache: Redis in production)."""
    from django_ratelimit.core import get_usage

    usage = get_usage(
        None,
        group="onestop.api",
        key=lambda _group, _request: f"client:{client_pk}",
        rate=rate,
        increment=False,
    )
    assert usage is not None
    return int(usage["count"])
