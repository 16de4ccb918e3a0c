"""One API request, one database transaction (issue 10, ADR 0024) — and what must
survive a failed request still does: the rate limit counts failing requests too, across
server processes, and nothing a refused request wrote is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from onestop.integration import selectors
from onestop.integration.tests.support import Api, hospital
from onestop.ops.models import RateCounter
from onestop.testing.costs import database_cost
from onestop.testing.processes import ROOT, child_env, free_port_block


def _limit(settings: Any, rate: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": rate}


@pytest.mark.django_db(transaction=True)
def test_a_request_is_one_transaction_with_its_rate_count(settings, media_root):
    api = Api(hospital().token)
    with database_cost() as cost:
        assert api.get("/me").status_code == 200
    if connection.vendor == "postgresql":
        assert cost.transactions == 1, cost
    assert RateCounter.objects.get().hits == 1


@pytest.mark.django_db(transaction=True)
def test_failing_requests_are_counted(settings, media_root, monkeypatch):
    """Errors the API answers (404, 422) and an unexpected exception (500) all count:
    the count is not rolled back with the request's own work."""
    _limit(settings, "3/d")
    api = Api(hospital().token)
    assert api.get("/tasks/999999").status_code == 404
    assert api.get("/tasks?limit=0").status_code == 422
    api.client.raise_request_exception = False

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "task_page", broken)
    assert api.get("/tasks").status_code == 500
    assert RateCounter.objects.get().hits == 3
    answer = api.get("/me")
    assert answer.status_code == 429 and int(answer["Retry-After"]) >= 1
    assert RateCounter.objects.get().hits == 4  # a refused request counts too


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.django_db(transaction=True)
def test_the_limit_bites_across_two_server_processes(tmp_path: Path, media_root, settings):
    """Two gunicorn servers on one PostgreSQL database (as two machines behind a load
    balancer): one client's requests, alternating between them, are limited together."""
    if connection.vendor != "postgresql":
        pytest.skip("two server processes share the database's counters: PostgreSQL")
    token = hospital().token
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = child_env(
        tmp_path / "data",
        DATABASE_URL=url,
        ONESTOP_RATE_API="6/d",
        # The same secrets as this process: the rows it wrote must read the same there.
        ONESTOP_SECRET_KEY=settings.SECRET_KEY,
        ONESTOP_FIELD_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        ONESTOP_INDEX_KEY=settings.BLIND_INDEX_KEY,
        ONESTOP_AUDIT_KEY=",".join(settings.AUDIT_KEYS),
    )
    logs = tmp_path / "servers.log"
    port = free_port_block(2)
    servers = []
    for n in range(2):
        servers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "gunicorn", "-c", "python:onestop.ops.gunicorn_conf"),
                    *("--bind", f"127.0.0.1:{port + n}", "--workers", "1"),
                    "onestop.config.wsgi:application",
                ],
                env=env,
                cwd=ROOT,
                stdout=logs.open("ab"),
                stderr=subprocess.STDOUT,
            )
        )
    try:
        bases = [f"http://127.0.0.1:{port + n}/api/v1/me" for n in range(2)]
        deadline = time.monotonic() + 180
        for base in bases:
            while True:
                try:
                    urllib.request.urlopen(base.replace("/api/v1/me", "/healthz"), timeout=30)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
        answers = [_get(bases[n % 2], token) for n in range(12)]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    assert answers[:6] == [200] * 6, (answers, logs.read_text()[-3000:])
    assert set(answers[6:]) == {429}, answers
    assert os.environ.get("ONESTOP_RATE_API") is None  # the limit was the children's only
