from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from onestop.audit.models import AuditRecord
from onestop.audit.services import audit_record


@pytest.fixture
def audit_files(settings: Any, tmp_path: Path) -> Path:
    """Anchor file and seal keys of this test only."""
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"
    settings.SEAL_KEYS_DIR = tmp_path / "seal-keys"
    return tmp_path / "audit-anchors.jsonl"


@contextmanager
def _as_database_owner() -> Iterator[None]:
    """The attacker of these tests has the database itself (a superuser or the tables'
    owner): on PostgreSQL they switch the append-only triggers off first."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def tamper() -> Callable[[], AbstractContextManager[None]]:
    return _as_database_owner


@pytest.fixture
def write(beijing: Callable[[str], datetime]) -> Callable[..., AuditRecord]:
    """Append one record to a stream (as the services do)."""

    def make(
        stream: str, action: str = "case_submitted", minute: int = 0, new: bool = False
    ) -> AuditRecord:
        return audit_record(
            new=new,
            stream=stream,
            at=beijing(f"2026-11-20T09:{minute:02d}:00+08:00"),
            actor=None,
            actor_label="系统",
            action=action,
            object_type="case",
            object_id=stream,
            detail={"state": action},
        )

    return make
