"""Shared pytest fixtures. Database tests use pytest-django's test database (SQLite in
memory by default; PostgreSQL when DATABASE_URL points there)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# No per-example time limit in property tests: Hypothesis's default (200 ms) is a timed
# assertion, and on a 2-core box shared with other test runs it fails code that is right
# (workflow/tests/test_properties.py did, session 19). Tests that set their own keep them.
hypothesis_settings.register_profile("onestop", deadline=None)
hypothesis_settings.load_profile("onestop")

EXAMPLES = Path(__file__).parent / "onestop" / "examples"


@pytest.fixture
def example() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of an example case document by name (without .json)."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
        return copy.deepcopy(data)

    return load


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    settings.SMS_LOG = tmp_path / "sms.log"
    return root


@pytest.fixture
def beijing() -> Callable[[str], datetime]:
    from onestop.core.clock import parse_time

    return parse_time


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_second_factor: force_login does not mark the staff session as TOTP-verified",
    )


@pytest.fixture(autouse=True)
def _force_login_passes_second_factor(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Client.force_login`` of a staff member also passes the second factor (see
    onestop/testing/second_factor.py), unless the test is marked ``real_second_factor``."""
    if request.node.get_closest_marker("real_second_factor"):
        return
    from django.test import Client

    from onestop.testing.second_factor import mark_verified

    original = Client.force_login

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        original(self, user, backend)
        mark_verified(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True, scope="session")
def _flush_past_audit_triggers() -> Any:
    """On PostgreSQL the audit tables refuse TRUNCATE (audit.0003). Tests that run in real
    transactions are cleaned up with TRUNCATE: that one statement runs with triggers off
    (``session_replication_role = replica``, which only a superuser may set: the test
    database's user is one, a deployment's application role is not)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]
