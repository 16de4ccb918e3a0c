"""Writing and checking the audit chain. Call inside the transaction of the change."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from onestop.audit.models import AccessRecord, AuditRecord

GENESIS = "0" * 64


def _digest(prev: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()


def _body(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "stream": record.stream,
        "seq": record.seq,
        "actor": record.actor_id,
        "actor_label": record.actor_label,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "detail": record.detail,
    }


def audit_record(
    *,
    stream: str,
    at: datetime,
    actor: Any | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record to ``stream``. The caller holds the lock of the stream's object
    (e.g. the case row), so two writers never extend the same stream at once; the unique
    (stream, seq) constraint turns a mistake into an error, never a fork."""
    last = AuditRecord.objects.filter(stream=stream).order_by("-seq").only("seq", "hash").first()
    record = AuditRecord(
        at=at,
        stream=stream,
        seq=(last.seq + 1) if last else 1,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
        prev_hash=last.hash if last else GENESIS,
    )
    record.hash = _digest(record.prev_hash, _body(record))
    record.save(force_insert=True)
    return record


def verify_chain(stream: str) -> list[str]:
    """Problems found in the stream's chain (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for record in AuditRecord.objects.filter(stream=stream).order_by("seq"):
        if record.seq != expected_seq:
            problems.append(f"记录 {expected_seq} 缺失")
        if record.prev_hash != prev:
            problems.append(f"记录 {record.seq} 的前序摘要不符")
        # Round-trip through the database normalises the time; compare on stored values.
        if _digest(record.prev_hash, _body(record)) != record.hash:
            problems.append(f"记录 {record.seq} 的内容已被改动")
        prev = record.hash
        expected_seq = record.seq + 1
    return problems


def access_record(*, actor: Any, case_number: str, what: str, at: datetime, granted: bool) -> None:
    AccessRecord.objects.create(
        actor=actor, case_number=case_number, what=what, at=at, granted=granted
    )
