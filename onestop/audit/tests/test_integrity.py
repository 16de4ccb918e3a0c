"""The keyed audit chain, signed anchors and the integrity check (issue 8: "Audit chain:
keyed (HMAC with a key outside the database) so that editing a record and recomputing the
hashes is detected; the chain head is periodically anchored (signed with the platform's
seal key) so that deleting the newest records is detected; a `manage.py audit_verify`
command and a daily job that alert on any break").

The attacker here has the database (and, in the last tests, the anchor file) but not the
audit key or the seal key: they edit rows with SQL and recompute what they can."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import stat
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.db import transaction

from onestop.accounts.models import Role
from onestop.audit.integrity import anchor_write, audit_verify, audit_verify_and_alert
from onestop.audit.models import AuditAnchor, AuditRecord
from onestop.audit.services import GENESIS, _body, _digest, key_id, verify_chain
from onestop.certificates.seal import Sm2Sm3, canonical_json
from onestop.ops.schedule import SCHEDULE
from onestop.supervision.models import StaffMessage
from onestop.testing.factories import staff
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db

TRIED: dict[str, int] = {}


def _verify_command() -> tuple[int, str]:
    """Run `manage.py audit_verify`: (exit status, everything it printed)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    return status, out.getvalue() + err.getvalue()


def _rechain_plain(stream: str, *, downgrade: bool) -> None:
    """What an attacker without the key can do: recompute every hash of the stream with
    plain SHA-256 (optionally marking the records as the unkeyed legacy format)."""
    prev = GENESIS
    for record in AuditRecord.objects.filter(stream=stream).order_by("seq"):
        if downgrade:
            record.alg, record.key_id = "sha256", ""
        record.prev_hash = prev
        record.hash = _digest(prev, _body(record))
        AuditRecord.objects.filter(pk=record.pk).update(
            alg=record.alg, key_id=record.key_id, prev_hash=record.prev_hash, hash=record.hash
        )
        prev = record.hash


def test_records_carry_a_keyed_mac_and_the_key_id(settings, write, audit_files):
    record = write("C1")
    assert record.alg == "hmac-sha256"
    assert record.key_id == key_id(settings.AUDIT_KEYS[0])
    # Not the plain SHA-256 anyone can recompute.
    assert record.hash != _digest(record.prev_hash, _body(record))
    assert verify_chain("C1") == []


def test_legacy_records_still_verify_and_are_pinned_by_the_first_anchor(
    write, audit_files, beijing
):
    """Records written before the key existed (migration 0002 marks them "sha256") verify
    as legacy; the first anchor pins which ids may be legacy."""
    old = AuditRecord(
        at=beijing("2026-11-19T09:00:00+08:00"),
        stream="OLD",
        seq=1,
        actor_label="系统",
        action="case_submitted",
        object_type="case",
        object_id="OLD",
        detail={},
        prev_hash=GENESIS,
        alg="sha256",
    )
    old.hash = _digest(GENESIS, _body(old))
    old.save(force_insert=True)
    write("OLD", "item_completed", 1)  # the chain goes on keyed
    report = audit_verify()
    assert report.intact, report.problems
    assert report.legacy == 1
    anchor = anchor_write()
    assert anchor is not None and json.loads(anchor.document)["legacy_through"] == old.pk
    assert audit_verify().intact


def test_key_rotation_old_records_verify_with_the_old_key(settings, write, audit_files):
    old_key = settings.AUDIT_KEYS[0]
    write("C1")
    settings.AUDIT_KEYS = ["b" * 64, old_key]  # a new key first, the old one kept
    second = write("C1", "item_completed", 1)
    assert second.key_id == key_id("b" * 64)
    report = audit_verify()
    assert report.intact, report.problems
    assert report.by_key == {key_id(old_key): 1, key_id("b" * 64): 1}
    settings.AUDIT_KEYS = ["b" * 64]  # the old key dropped too early: said, not hidden
    assert any("未配置" in p for p in audit_verify().problems)


def test_the_anchor_is_signed_stored_and_appended_to_a_private_file(write, audit_files):
    write("C1")
    write("C2")
    assert anchor_write() is not None
    assert anchor_write() is None  # nothing new, nothing to anchor
    write("C1", "item_completed", 1)
    second = anchor_write()
    assert second is not None and second.seq == 2 and second.records_total == 3
    assert second.streams_total == 2 and second.last_id == AuditRecord.objects.latest("id").pk
    lines = [json.loads(line) for line in audit_files.read_text().splitlines()]
    assert [line["document"] for line in lines] == list(
        AuditAnchor.objects.order_by("seq").values_list("document", flat=True)
    )
    assert stat.S_IMODE(os.stat(audit_files).st_mode) == 0o600
    assert json.loads(second.document)["alg"] == "SM2-SM3"
    status, text = _verify_command()
    assert status == 0, text
    assert "审计日志完整" in text and "签名锚点 2 个" in text


# --- tampering: what the attacker does, and what the check must say --------------------


def _edit_and_rechain(write, tamper, anchors, *, downgrade: bool) -> list[str]:
    for minute, action in enumerate(["case_submitted", "item_completed", "item_completed"]):
        write("C1", action, minute)
    write("C2")
    anchor_write()
    assert audit_verify().intact
    with tamper():
        AuditRecord.objects.filter(stream="C1", seq=1).update(action="case_withdrawn")
        _rechain_plain("C1", downgrade=downgrade)
    return ["对象 C1 的第 1 条记录", "降级" if downgrade else "密钥摘要不符"]


def _downgrade_before_any_anchor(write, tamper, anchors) -> list[str]:
    """A keyed record rewritten as legacy after a keyed one in the same stream."""
    write("C1")
    write("C1", "item_completed", 1)
    with tamper():
        record = AuditRecord.objects.get(stream="C1", seq=2)
        record.alg, record.key_id = "sha256", ""
        AuditRecord.objects.filter(pk=record.pk).update(
            alg="sha256", key_id="", hash=_digest(record.prev_hash, _body(record))
        )
    return ["对象 C1 的第 2 条记录", "降级"]


def _whole_stream_downgraded_after_anchor(write, tamper, anchors) -> list[str]:
    """A stream written keyed after the first anchor, rewritten wholly as legacy."""
    write("C1")
    anchor_write()
    write("NEW", minute=5)
    with tamper():
        _rechain_plain("NEW", downgrade=True)
    return ["对象 NEW 的第 1 条记录", "降级"]


def _newest_record_deleted(write, tamper, anchors) -> list[str]:
    write("C1")
    write("C1", "item_completed", 1)
    write("C2", minute=2)
    anchor_write()
    with tamper():
        AuditRecord.objects.filter(stream="C1", seq=2).delete()
    assert verify_chain("C1") == []  # the chain alone cannot see a missing tail
    return ["锚定 3 条记录，现存 2 条"]


def _whole_stream_deleted(write, tamper, anchors) -> list[str]:
    write("C1")
    write("C2", minute=1)
    write("C2", "item_completed", 2)
    write("C3", minute=3)
    anchor_write()
    with tamper():
        AuditRecord.objects.filter(stream="C2").delete()
    return ["锚定 3 个对象，现存 2 个", "全部记录被删除"]


def _anchor_forged(write, tamper, anchors) -> list[str]:
    """A stream deleted, then the anchor rewritten to match in the database and in the
    file, signed with a key of the attacker's own under the platform key's id."""
    write("C1")
    write("C2", minute=1)
    anchor = anchor_write()
    assert anchor is not None
    with tamper():
        AuditRecord.objects.filter(stream="C2").delete()
        doc = json.loads(anchor.document)
        rows = AuditRecord.objects.order_by("id").values_list("id", "stream", "seq", "hash")
        digest = hashlib.sha256(GENESIS.encode())
        for row in rows:
            digest.update(f"{row[0]}:{row[1]}:{row[2]}:{row[3]}\n".encode())
        doc.update(records_total=1, streams_total=1, digest=digest.hexdigest())
        text = canonical_json(doc)
        sm2 = Sm2Sm3()
        forged = sm2.sign(sm2.new_private_key(), text).hex()
        AuditAnchor.objects.filter(pk=anchor.pk).update(
            document=text.decode(),
            signature=forged,
            records_total=1,
            streams_total=1,
            digest=doc["digest"],
        )
        anchors.write_text(json.dumps({"document": text.decode(), "signature": forged}) + "\n")
    return ["签名无效"]


def _anchor_and_newest_record_deleted(write, tamper, anchors) -> list[str]:
    write("C1")
    write("C1", "item_completed", 1)
    anchor_write()
    with tamper():
        AuditRecord.objects.filter(stream="C1", seq=2).delete()
        AuditAnchor.objects.all().delete()
    return ["在数据库中缺失", "锚定 2 条记录，现存 1 条"]


SCENARIOS: dict[str, Callable[..., list[str]]] = {
    "edit + plain SHA-256 rechain": partial(_edit_and_rechain, downgrade=False),
    "edit + rechain as unkeyed legacy": partial(_edit_and_rechain, downgrade=True),
    "keyed record rewritten as legacy": _downgrade_before_any_anchor,
    "new stream rewritten as legacy after an anchor": _whole_stream_downgraded_after_anchor,
    "newest record of a stream deleted after an anchor": _newest_record_deleted,
    "whole stream (one case) deleted after an anchor": _whole_stream_deleted,
    "anchor forged in database and file": _anchor_forged,
    "anchor and newest record deleted from the database": _anchor_and_newest_record_deleted,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_tampering_is_detected_and_said_in_plain_words(name, write, audit_files, tamper):
    expected = SCENARIOS[name](write, tamper, audit_files)
    status, text = _verify_command()
    assert status == 1, text
    for words in expected:
        assert words in text, (words, text)


class _Undo(Exception):
    pass


def test_reliability_figures_for_tampering(write, audit_files, tamper, settings, tmp_path):
    """Every attempt in turn, each undone afterwards: how many were made, how many found."""
    made = detected = 0
    for number, scenario in enumerate(SCENARIOS.values()):
        settings.AUDIT_ANCHOR_FILE = tmp_path / f"anchors-{number}.jsonl"
        with contextlib.suppress(_Undo), transaction.atomic():
            scenario(write, tamper, settings.AUDIT_ANCHOR_FILE)
            made += 1
            detected += 0 if audit_verify().intact else 1
            raise _Undo
    reliability_record("audit", "tampering attempts made (edit, delete, forge, downgrade)", made)
    reliability_record("audit", "tampering attempts detected by audit_verify", detected)
    reliability_record("audit", "tampering attempts missed", made - detected)
    assert made == detected == len(SCENARIOS)


def test_the_daily_job_alerts_administrators_and_logs_an_error(
    client, write, audit_files, tamper, caplog
):
    admin = staff(Role.ADMIN)
    write("C1")
    write("C1", "item_completed", 1)
    anchor_write()
    assert audit_verify_and_alert().intact
    assert not StaffMessage.objects.exists()
    with tamper():
        AuditRecord.objects.filter(stream="C1", seq=2).delete()
    with caplog.at_level(logging.INFO, logger="onestop.audit.integrity"):
        report = audit_verify_and_alert()
        audit_verify_and_alert()  # the same break, the same day: one message
    assert not report.intact
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "audit integrity check FAILED" in errors[0].getMessage()
    message = StaffMessage.objects.get(user=admin)
    assert message.kind == "audit" and "审计日志完整性检查发现" in message.body
    # The administrator reads it on the work-messages page.
    client.force_login(admin)
    page = client.get("/work/messages/")
    assert page.status_code == 200 and "审计日志完整性检查发现" in page.content.decode()


def test_the_worker_anchors_hourly_and_checks_daily(write, audit_files):
    jobs = {job.name: job for job in SCHEDULE}
    assert jobs["audit_anchor"].every == timedelta(hours=1)
    assert jobs["audit_verify"].every == timedelta(days=1)
    write("C1")
    assert jobs["audit_anchor"].run() == {"anchor": 1, "records": 1}
    assert jobs["audit_anchor"].run() is None
    assert jobs["audit_verify"].run() == {"intact": True, "problems": 0}


@pytest.mark.django_db(transaction=True)  # the command line closes the connection at its end
def test_the_command_line_reports_in_plain_words(write, audit_files, tamper):
    from onestop.cli import main

    write("C1")
    anchor_write()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["audit-verify"]) == 0
    assert "审计日志完整" in out.getvalue()
    with tamper():
        AuditRecord.objects.all().delete()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["audit-verify"]) == 1
    assert "有记录被删除" in err.getvalue()


def test_no_new_anchor_papers_over_a_deleted_one(write, audit_files, tamper, caplog):
    write("C1")
    anchor_write()
    write("C1", "item_completed", 1)
    anchor_write()
    with tamper():
        AuditAnchor.objects.filter(seq=2).delete()
    write("C1", "item_completed", 2)
    with caplog.at_level(logging.ERROR, logger="onestop.audit.integrity"):
        assert anchor_write() is None
    assert "anchor not written" in caplog.text
    assert AuditAnchor.objects.count() == 1
    assert any("锚点 2 在锚点文件中有、在数据库中缺失" in p for p in audit_verify().problems)
