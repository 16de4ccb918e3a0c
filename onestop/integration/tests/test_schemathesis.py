"""Schemathesis against /api/v1/openapi.json, in process: every operation with generated
valid and invalid requests (authenticated, also on a real case and task) must answer
without a server error. The count is printed in the test run and must be 0."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from onestop.integration.tests.support import Api, current, hospital
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12


@contextmanager
def wsgi_app() -> Iterator[WSGIHandler]:
    """The WSGI app without closing the test's connection after each request (as Django's
    test client does), so every request sees the test transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _run(strategy: Any, record: Any) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(case: Any) -> None:
        record(case, case.call())

    # Unsatisfiable: e.g. no invalid request exists for an operation without inputs.
    with suppress(Unsatisfiable):
        check()


def test_schemathesis_finds_no_server_error(example, media_root, capsys):
    creds = hospital()
    api = Api(creds.token)
    number = api.post("/cases", current(example("qinbei-accept")), key="seed").json()["number"]
    task = CaseItem.objects.get(case__number=number, item="birth_certificate")

    with wsgi_app() as app:
        statuses, server_errors, count = _fuzz(app, creds.token, number, task.pk)
    total = sum(statuses.values())
    with capsys.disabled():
        print(
            f"\nschemathesis /api/v1/openapi.json: {count} operations, "
            f"{total} requests, server errors (5xx): {len(server_errors)}; "
            f"statuses {dict(sorted(statuses.items()))}"
        )
    assert total > 100
    assert server_errors == [], "\n".join(server_errors[:20])


def _fuzz(app: Any, token: str, number: str, task_id: int) -> tuple[Counter[int], list[str], int]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []

    def record(case: Any, response: Any) -> None:
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append(
                f"{case.method} {case.formatted_path} → {response.status_code}: "
                f"{response.text[:300]}"
            )

    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    for operation in operations:
        fixed: dict[str, Any] = {}
        if "{task_id}" in operation.path:
            fixed = {"task_id": task_id}
        elif "{number}" in operation.path:
            fixed = {"number": number}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation.as_strategy(generation_mode=mode, headers=auth), record)
            if fixed:
                strategy = operation.as_strategy(
                    generation_mode=mode, headers=auth, path_parameters=fixed
                )
                _run(strategy, record)
        _run(operation.as_strategy(), record)  # without credentials
    return statuses, server_errors, len(operations)
