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
