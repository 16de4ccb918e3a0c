"""Records written before the audit key existed keep verifying after the upgrade, as legacy
(migration 0002, ADR 0019), and the chain goes on keyed from there."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from onestop.audit.integrity import anchor_write, audit_verify
from onestop.audit.models import AuditRecord
from onestop.audit.services import GENESIS, audit_record

pytestmark = pytest.mark.django_db(transaction=True)


def _old_digest(prev: str, body: dict[str, object]) -> str:
    """The chain as it was before keys (onestop/audit/services.py until issue 8)."""
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()


def test_records_from_before_the_key_verify_as_legacy(audit_files, beijing):
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0001_initial")])
    old_apps = executor.loader.project_state([("audit", "0001_initial")]).apps
    OldRecord = old_apps.get_model("audit", "AuditRecord")
    at = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    prev = GENESIS
    for seq, action in enumerate(["case_submitted", "item_completed"], start=1):
        body = {
            "at": at.isoformat(timespec="microseconds"),
            "stream": "OLD1",
            "seq": seq,
            "actor": None,
            "actor_label": "系统",
            "action": action,
            "object_type": "case",
            "object_id": "OLD1",
            "detail": {},
        }
        digest = _old_digest(prev, body)
        OldRecord.objects.create(
            at=at,
            stream="OLD1",
            seq=seq,
            actor=None,
            actor_label="系统",
            action=action,
            object_type="case",
            object_id="OLD1",
            detail={},
            prev_hash=prev,
            hash=digest,
        )
        prev = digest

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert set(AuditRecord.objects.values_list("alg", flat=True)) == {"sha256"}
    audit_record(
        stream="OLD1",
        at=beijing("2026-11-20T09:30:00+08:00"),
        actor=None,
        actor_label="系统",
        action="item_completed",
        object_type="case",
        object_id="OLD1",
    )
    report = audit_verify()
    assert report.intact, report.problems
    assert (report.records, report.legacy) == (3, 2)
    anchor = anchor_write()
    assert anchor is not None and json.loads(anchor.document)["legacy_through"] == max(
        AuditRecord.objects.filter(alg="sha256").values_list("id", flat=True)
    )
    assert audit_verify().intact
