"""Anchors of the audit log and the full integrity check (ADR 0019).

The keyed chains (``audit.services``) show that a record was edited, or that a record in
the middle of a stream is missing; they cannot show that the newest records of a stream,
or a whole stream, were deleted. Anchors do:

- ``anchor_write`` (periodic job ``audit_anchor``) pins every record up to the newest id: a
  rolling SHA-256 over ``id:stream:seq:hash`` of each record in id order, continued from the
  previous anchor, plus the number of records and of streams and the last id. The anchor is
  signed with the platform's seal key (``certificates.keystore``, issuer
  ``settings.AUDIT_ANCHOR_ISSUER``), stored in the database and appended to
  ``settings.AUDIT_ANCHOR_FILE`` outside it. Anchors chain too (each names the digest of
  the previous one).
- ``audit_verify`` checks every chain, every anchor's signature, that the database and the
  file hold the same anchors, and that today's records still give each anchor's count and
  digest: a record at or before an anchor that was deleted or changed is found.
- ``audit_verify_and_alert`` (daily job) does the same and tells administrators.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from onestop.audit.events import AuditChainBroken
from onestop.audit.models import AuditAnchor, AuditRecord
from onestop.audit.services import (
    GENESIS,
    HMAC_SHA256,
    LEGACY_SHA256,
    ChainCheck,
    check_chains,
)
from onestop.certificates.keystore import KeyStore
from onestop.certificates.seal import ALGORITHMS, canonical_json
from onestop.core.clock import format_time, to_beijing
from onestop.core.events import emit

log = logging.getLogger(__name__)

ANCHOR_FORMAT = "onestop-audit-anchor/1"


def _keystore() -> KeyStore:
    return KeyStore(settings.SEAL_KEYS_DIR, algorithm_name=settings.SEAL_ALGORITHM)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _row_line(row: tuple[int, str, int, str]) -> bytes:
    return f"{row[0]}:{row[1]}:{row[2]}:{row[3]}\n".encode()


def _rows_after(last_id: int) -> Iterator[tuple[int, str, int, str]]:
    qs = AuditRecord.objects.filter(id__gt=last_id).order_by("id")
    yield from qs.values_list("id", "stream", "seq", "hash").iterator(chunk_size=2000)


# --- writing anchors ------------------------------------------------------------------


def _append_to_file(anchor: AuditAnchor) -> None:
    path = Path(settings.AUDIT_ANCHOR_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"document": anchor.document, "signature": anchor.signature})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def anchors_in_file() -> list[dict[str, str]]:
    path = Path(settings.AUDIT_ANCHOR_FILE)
    if not path.exists():
        return []
    entries: list[dict[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            entries.append(
                {"document": str(value["document"]), "signature": str(value["signature"])}
            )
        except (ValueError, KeyError, TypeError):
            entries.append({"document": "", "signature": "", "line": str(number)})
    return entries


def _sync_file() -> bool:
    """Append database anchors the file lacks (a crash between commit and append). False
    when the file holds a newer anchor than the database: anchors were deleted there."""
    in_file: set[int] = set()
    for entry in anchors_in_file():
        try:
            in_file.add(int(json.loads(entry["document"])["seq"]))
        except (ValueError, KeyError, TypeError):
            continue
    newest = 0
    for anchor in AuditAnchor.objects.order_by("seq"):
        newest = anchor.seq
        if anchor.seq not in in_file:
            _append_to_file(anchor)
    return max(in_file, default=0) <= newest


def anchor_write(now: datetime | None = None) -> AuditAnchor | None:
    """Anchor every record written since the last anchor; ``None`` when there is none.
    Call it outside a transaction (the periodic job does)."""
    now = now or timezone.now()
    if not _sync_file():
        # Never paper over it with a new anchor of the same number: the check reports it.
        log.error("audit anchor not written: the anchor file holds anchors the database lacks")
        return None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # SHARE waits for every transaction still inserting records and holds new ones
                # back for the moment it takes, so no record below the anchored id can commit
                # later; the anchor table's own lock serialises two workers anchoring at once.
                cursor.execute("LOCK TABLE audit_auditanchor IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute("LOCK TABLE audit_auditrecord IN SHARE MODE")
        previous = AuditAnchor.objects.order_by("-seq").first()
        since = previous.last_id if previous else 0
        digest = hashlib.sha256((previous.digest if previous else GENESIS).encode())
        last_id = since
        for row in _rows_after(since):
            digest.update(_row_line(row))
            last_id = row[0]
        if last_id == since:
            return None
        upto = AuditRecord.objects.filter(id__lte=last_id)
        if previous is not None:
            legacy_through = int(json.loads(previous.document).get("legacy_through", 0))
        else:
            # Legacy (unkeyed) records are those before the first keyed one; a "legacy"
            # record after it can only be a keyed record rewritten to escape the key.
            first_keyed = upto.filter(alg=HMAC_SHA256).aggregate(m=Min("id"))["m"]
            legacy = upto.filter(alg=LEGACY_SHA256)
            if first_keyed is not None:
                legacy = legacy.filter(id__lt=first_keyed)
            legacy_through = legacy.aggregate(m=Max("id"))["m"] or 0
        signer = _keystore().signer(settings.AUDIT_ANCHOR_ISSUER, now=now)
        document: dict[str, Any] = {
            "format": ANCHOR_FORMAT,
            "seq": (previous.seq + 1) if previous else 1,
            "at": format_time(now),
            "last_id": last_id,
            "records_total": upto.count(),
            "streams_total": upto.values("stream").distinct().count(),
            "digest": digest.hexdigest(),
            "prev": hashlib.sha256(previous.document.encode()).hexdigest() if previous else GENESIS,
            "legacy_through": legacy_through,
            "kid": signer.key_id,
            "alg": signer.algorithm,
        }
        text = canonical_json(document)
        anchor = AuditAnchor.objects.create(
            seq=document["seq"],
            at=now,
            last_id=last_id,
            records_total=document["records_total"],
            streams_total=document["streams_total"],
            digest=document["digest"],
            key_id=signer.key_id,
            document=text.decode(),
            signature=_b64(signer.sign(text)),
        )
    # After the commit (the worker calls this outside any transaction): a crash in between
    # leaves the file one anchor short, which the next run's _sync_file repairs.
    _append_to_file(anchor)
    return anchor


# --- checking -------------------------------------------------------------------------


@dataclass
class IntegrityReport(ChainCheck):
    """What checking the chains found, plus the anchors."""

    anchors: int = 0
    last_anchor: dict[str, Any] | None = None
    unanchored: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> list[str]:
        """The result in plain words, one sentence a line."""
        lines = [
            f"审计记录 {self.records} 条，涉及 {self.streams} 个对象；"
            f"其中密钥摘要 {self.records - self.legacy} 条，旧格式（无密钥）{self.legacy} 条。",
        ]
        if self.by_key:
            keys = "，".join(f"{kid}: {n} 条" for kid, n in sorted(self.by_key.items()))
            lines.append(f"按审计密钥核验通过：{keys}。")
        if self.last_anchor:
            at = to_beijing(datetime.fromisoformat(self.last_anchor["at"]))
            lines.append(
                f"签名锚点 {self.anchors} 个；最近一个锚点 {at:%Y年%m月%d日 %H:%M}，"
                f"锚定记录 {self.last_anchor['records_total']} 条、"
                f"对象 {self.last_anchor['streams_total']} 个；"
                f"其后新写入 {self.unanchored} 条（尚未锚定）。"
            )
        else:
            lines.append("尚无签名锚点：记录被整条删除时无法发现（运行 manage.py audit_anchor）。")
        if self.intact:
            lines.append("结论：审计日志完整，未发现改动或删除。")
        else:
            lines.append(f"结论：发现 {len(self.problems)} 处问题：")
            lines.extend(f"  - {p}" for p in self.problems)
        return lines


def _check_anchor_document(text: str, signature: str, keys: dict[str, Any]) -> str | None:
    """Why the signed anchor is not valid, or None."""
    try:
        doc = json.loads(text)
        sig = _unb64(signature)
    except (ValueError, TypeError):
        return "无法解析"
    if not isinstance(doc, dict) or doc.get("format") != ANCHOR_FORMAT:
        return "格式不符"
    key = keys.get(str(doc.get("kid", "")))
    if key is None:
        return f"签名密钥 {doc.get('kid')} 不存在"
    if key.issuer != settings.AUDIT_ANCHOR_ISSUER:
        return f"签名密钥 {key.key_id} 不属于审计锚点签发方"
    if doc.get("alg") != key.algorithm or key.algorithm not in ALGORITHMS:
        return "签名算法与密钥不符"
    if not ALGORITHMS[key.algorithm].verify(key.public_key, text.encode(), sig):
        return "签名无效（锚点被伪造或改动）"
    if key.revoked:
        return f"签名密钥 {key.key_id} 已吊销"
    return None


def _anchors(report: IntegrityReport) -> list[dict[str, Any]]:
    """The valid anchors (database and file together), in order; problems noted."""
    keys = _keystore().public_keys()
    db = {a.seq: a for a in AuditAnchor.objects.order_by("seq")}
    file_entries = anchors_in_file()
    file_by_seq: dict[int, dict[str, str]] = {}
    for line in file_entries:
        if "line" in line:
            report.problems.append(f"锚点文件第 {line['line']} 行无法解析")
            continue
        try:
            seq = int(json.loads(line["document"])["seq"])
        except (ValueError, KeyError, TypeError):
            report.problems.append("锚点文件中有一个锚点无法解析")
            continue
        if seq in file_by_seq and file_by_seq[seq] != line:
            report.problems.append(f"锚点文件中锚点 {seq} 出现两次且内容不同")
            continue
        file_by_seq[seq] = line
    valid: dict[int, tuple[str, dict[str, Any]]] = {}
    for seq in sorted(set(db) | set(file_by_seq)):
        versions: list[tuple[str, str, str]] = []
        row = db.get(seq)
        if row is not None:
            versions.append(("数据库", row.document, row.signature))
        entry = file_by_seq.get(seq)
        if entry is not None:
            versions.append(("锚点文件", entry["document"], entry["signature"]))
        if row is None:
            report.problems.append(f"锚点 {seq} 在锚点文件中有、在数据库中缺失（被删除）")
        elif entry is None:
            report.problems.append(f"锚点 {seq} 在数据库中有、在锚点文件中缺失")
        elif (row.document, row.signature) != (entry["document"], entry["signature"]):
            report.problems.append(f"锚点 {seq} 在数据库中与锚点文件中不一致")
        for where, text, signature in versions:
            why = _check_anchor_document(text, signature, keys)
            if why:
                report.problems.append(f"{where}中的锚点 {seq}：{why}")
                continue
            doc = json.loads(text)
            if (
                where == "数据库"
                and row is not None
                and (
                    row.last_id,
                    row.records_total,
                    row.streams_total,
                    row.digest,
                )
                != (doc["last_id"], doc["records_total"], doc["streams_total"], doc["digest"])
            ):
                report.problems.append(f"数据库中的锚点 {seq}：字段与签名内容不符（被改动）")
            if doc.get("seq") != seq:
                report.problems.append(f"{where}中的锚点 {seq}：序号与签名内容不符")
                continue
            if seq not in valid:
                valid[seq] = (text, doc)
    ordered: list[dict[str, Any]] = []
    for seq in sorted(valid):
        text, doc = valid[seq]
        if seq == 1 or seq - 1 in valid:
            expected = (
                GENESIS if seq == 1 else hashlib.sha256(valid[seq - 1][0].encode()).hexdigest()
            )
            if doc.get("prev") != expected:
                report.problems.append(f"锚点 {seq} 与前一个锚点衔接不上（锚点被删除或替换）")
        elif seq - 1 not in db and seq - 1 not in file_by_seq:
            report.problems.append(f"锚点 {seq - 1} 在数据库和锚点文件中都不存在（被删除）")
        ordered.append(doc)
    return ordered


def audit_verify() -> IntegrityReport:
    """Check every chain and every anchor. Read-only."""
    report = IntegrityReport()
    anchors = _anchors(report)
    report.anchors = len(anchors)
    report.last_anchor = anchors[-1] if anchors else None
    legacy_through = int(anchors[0].get("legacy_through", 0)) if anchors else None

    records = AuditRecord.objects.order_by("stream", "seq").iterator(chunk_size=2000)
    chains = check_chains(records, legacy_through=legacy_through)
    report.problems.extend(chains.problems)
    report.records, report.streams = chains.records, chains.streams
    report.legacy, report.by_key = chains.legacy, chains.by_key

    # Today's records against each anchor, in one pass in id order.
    rows = _rows_after(0)
    pending = next(rows, None)
    digest_before, count, streams = GENESIS, 0, set()
    for anchor in sorted(anchors, key=lambda a: int(a["last_id"])):
        last_id = int(anchor["last_id"])
        digest = hashlib.sha256(digest_before.encode())
        in_range = 0
        while pending is not None and pending[0] <= last_id:
            digest.update(_row_line(pending))
            streams.add(pending[1])
            in_range += 1
            pending = next(rows, None)
        count += in_range
        label = f"锚点 {anchor['seq']}（截至记录 {last_id}）"
        if count != anchor["records_total"]:
            report.problems.append(
                f"{label}锚定 {anchor['records_total']} 条记录，现存 {count} 条："
                f"{'有记录被删除' if count < anchor['records_total'] else '有记录被插入'}"
            )
        if len(streams) != anchor["streams_total"]:
            gone = len(streams) < anchor["streams_total"]
            report.problems.append(
                f"{label}锚定 {anchor['streams_total']} 个对象，现存 {len(streams)} 个："
                f"{'有对象的全部记录被删除' if gone else '对象数不符'}"
            )
        if digest.hexdigest() != anchor["digest"]:
            report.problems.append(f"{label}的累积摘要不符：此前的记录被删除、插入或改动")
        # Continue from the signed value, so one break is reported once, where it is.
        digest_before = str(anchor["digest"])
    while pending is not None:
        report.unanchored += 1
        pending = next(rows, None)
    return report


def audit_verify_and_alert(now: datetime | None = None) -> IntegrityReport:
    """The daily job: check, and on any break log an ERROR line and send administrators a
    work message (no personal data: counts, case numbers and record numbers only)."""
    now = now or timezone.now()
    report = audit_verify()
    if report.intact:
        log.info("audit integrity check: intact (%d records)", report.records)
        return report
    log.error(
        "audit integrity check FAILED: %d problem(s); run manage.py audit_verify",
        len(report.problems),
    )
    fingerprint = hashlib.sha256("\n".join(report.problems).encode()).hexdigest()[:16]
    with transaction.atomic():  # the administrators' work message: supervision's handler
        emit(AuditChainBroken(at=now, problems=tuple(report.problems), fingerprint=fingerprint))
    return report
