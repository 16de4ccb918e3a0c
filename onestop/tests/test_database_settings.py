"""The product's PostgreSQL sessions run without the JIT compiler (issue 10: "the API's
visibility filter … is estimated so costly that PostgreSQL JIT-compiles every lookup
(`jit=off`: p50 17 → 5.5 ms)")."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs a PostgreSQL server")
def test_postgresql_sessions_run_without_jit() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def _database_settings(data_dir: object, **env: str) -> dict[str, object]:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json; from onestop.config import settings as s; "
        "d = s.DATABASES['default']; "
        "print(json.dumps({k: d.get(k) for k in ('CONN_MAX_AGE', 'CONN_HEALTH_CHECKS', "
        "'OPTIONS')}, default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ONESTOP_", "DATABASE"))}
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **clean,
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "ONESTOP_DATA_DIR": str(data_dir),
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, object] = json.loads(run.stdout)
    return answer


def test_the_connection_pool_is_opt_in_and_replaces_the_per_request_health_check(
    tmp_path: object,
) -> None:
    # Issue 10 (docs/performance.md, run 5): a persistent connection is health-checked with
    # a SELECT 1 — a transaction — each time a request reuses it; the pool is not.
    default = _database_settings(tmp_path)
    assert default["CONN_MAX_AGE"] == 60 and default["CONN_HEALTH_CHECKS"] is True
    assert "pool" not in default["OPTIONS"]  # type: ignore[operator]
    pooled = _database_settings(tmp_path, ONESTOP_PG_POOL="on", ONESTOP_PG_POOL_SIZE="5")
    assert pooled["CONN_MAX_AGE"] == 0 and pooled["CONN_HEALTH_CHECKS"] is False
    assert pooled["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 5}  # type: ignore[index]
