"""The backup and restore drill (issue 8: "backs up and restores (a restore drill script
whose row counts and checksums match)"): a database with cases, encrypted uploads and an
anchored audit log is dumped with its data folder, restored into a fresh database and
folder, and compared table by table; the restored copy passes audit_verify."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from onestop.audit.integrity import anchor_write
from onestop.cases.services import case_submit
from onestop.ops.restore_drill import _with_database, drill, report, table_figures

pytestmark = [
    pytest.mark.django_db(transaction=True),  # pg_dump sees committed rows only
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="pg_dump/pg_restore"),
]


def _server_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


def test_a_backup_restores_with_equal_rows_checksums_files_and_audit_chain(
    settings: Any, tmp_path: Path, example: Any, beijing: Any
) -> None:
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(data / "media")},
        },
    }
    settings.SMS_LOG = data / "sms.log"
    settings.SEAL_KEYS_DIR = data / "seal-keys"
    settings.AUDIT_ANCHOR_FILE = data / "audit-anchors.jsonl"
    # The restored copy runs with the keys of its own data folder, as a real restore does.
    for name, value in (
        ("audit_key", ",".join(django_settings.AUDIT_KEYS)),
        ("field_keys", ",".join(django_settings.FIELD_ENCRYPTION_KEYS)),
        ("index_key", django_settings.BLIND_INDEX_KEY),
        ("secret_key", django_settings.SECRET_KEY),
    ):
        (data / name).write_text(value + "\n")
    for name in ("qinbei-accept", "lanzhou-accept"):
        case_submit(document=example(name), actor=None, now=beijing("2026-11-20T09:30:00+08:00"))
    assert anchor_write() is not None

    server = _server_url()
    source = _with_database(server, connection.settings_dict["NAME"])
    out = io.StringIO()
    result = drill(
        server_url=server,
        source_url=source,
        data_dir=data,
        work=tmp_path / "work",
        backup_dir=None,
        out=out,
    )
    report(result, out)
    text = out.getvalue()
    assert result.ok, text
    rows = {table: before for table, before, _after, _same in result.tables}
    assert rows["audit_auditrecord"] >= 2 and rows["cases_case"] == 2
    assert rows["audit_auditanchor"] == 1
    assert result.files[0] >= 5 and result.files == (result.files[0], result.files[0])
    assert "审计日志完整" in result.audit_output
    assert "演练结果：通过" in text
    # The checksums are real: one changed row changes its table's figure.
    before = table_figures(source)["cases_case"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case SET status = status || 'x' "
            "WHERE id = (SELECT min(id) FROM cases_case)"
        )
    assert table_figures(source)["cases_case"] != before
