"""A reused PostgreSQL connection is health-checked without a transaction (issue 10:
"≤ 30 database transactions per case"; ADR 0045): Django's check was a SELECT 1 at the
start of every request — one transaction each — and the product's backend looks at the
connection's socket instead, asking the server only when the socket has news (a
terminated backend, a restarted server)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="needs a PostgreSQL server"
)


def test_the_product_runs_its_postgresql_backend(settings) -> None:
    assert settings.DATABASES["default"]["ENGINE"] == "onestop.common.postgresql"


@pytest.mark.django_db(transaction=True)
def test_a_healthy_idle_connection_is_usable_without_asking_the_server(monkeypatch) -> None:
    connection.ensure_connection()
    raw = connection.connection

    def no_round_trip(*args: object, **kwargs: object) -> object:
        raise AssertionError("the health check asked the server")

    monkeypatch.setattr(raw, "cursor", no_round_trip)
    monkeypatch.setattr(raw, "execute", no_round_trip)
    assert connection.is_usable() is True


@pytest.mark.django_db(transaction=True)
def test_a_terminated_connection_is_found_unusable_and_replaced() -> None:
    import time

    import psycopg

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # the server's FATAL message reaches the socket
    assert connection.is_usable() is False
    # What Django does at a request's start with health checks on: close and reconnect.
    wrapper: Any = connection
    wrapper.health_check_enabled, wrapper.health_check_done = True, False
    wrapper.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
