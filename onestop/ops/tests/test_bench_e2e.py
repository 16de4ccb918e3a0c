"""The end-to-end benchmark (`onestop.ops.bench_e2e`, ``make bench``) runs, measures every
row and finishes every case — with 3 cases, where a PostgreSQL server answers. Nothing
about speed is asserted (issue 10: "No timed assertions in tests")."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection

from onestop.core.clock import BEIJING
from onestop.eligibility.check import check_case
from onestop.ops import bench_e2e
from onestop.policy.loader import load_packs
from onestop.reference.domain import load_reference
from onestop.reference.idnumber import is_valid_resident_id
from onestop.testing.processes import free_port_block

# --- without a database -------------------------------------------------------------------


def test_every_benchmark_case_is_a_distinct_newborn_of_a_distinct_mother_and_is_accepted() -> None:
    # Issue 8: one newborn may have one active case, so the benchmark's cases must all differ
    # by delivery record and by mother + birth time, and each must pass pre-review.
    documents = [json.loads(body) for _key, body in bench_e2e.bench_documents(12, "a1b2c3")]
    packs, reference = load_packs(()), load_reference([])
    now = datetime.now(BEIJING)
    records = {(d["newborns"][0]["hospital"], d["newborns"][0]["record_number"]) for d in documents}
    mothers = {d["mother"]["id_number"] for d in documents}
    assert len(records) == len(mothers) == 12
    assert {d["region"] for d in documents} == {"qinbei", "lanzhou", "fuzhou", "yuanling", "jilin"}
    for document in documents:
        assert is_valid_resident_id(document["mother"]["id_number"])
        decision = check_case(document, packs=packs, reference=reference, now=now).as_json()
        assert decision["decision"] == "accept", decision["reasons"]


def test_percentiles_and_api_call_names() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench_e2e.percentile(values, 0.5) == 50.0
    assert bench_e2e.percentile(values, 0.95) == 95.0
    assert bench_e2e.percentile(values, 0.99) == 99.0
    assert bench_e2e.percentile([], 0.5) == 0.0
    assert bench_e2e.api_path_pattern("/api/v1/tasks/123/claim") == "/api/v1/tasks/{id}/claim"
    assert bench_e2e.api_path_pattern("/api/v1/tasks") == "/api/v1/tasks"
    assert bench_e2e.api_path_pattern("/api/v1/cases/QB-2026-0001") == "/api/v1/cases/{number}"


def test_the_scaled_rate_is_the_runs_rate_at_the_issues_bound() -> None:
    # 25 cases/s where the issue's box did 5,550 transition transactions a second: a run
    # doing 10 cases/s against its own bound of 2,220 tx/s would do 25 on that box.
    assert bench_e2e.ISSUE_BOUND_TPS == 5_550.0
    assert pytest.approx(25 / 5_550) == bench_e2e.TARGET_SHARE
    assert bench_e2e.scaled_to_issue_box(10.0, 2_220.0) == pytest.approx(25.0)
    assert bench_e2e.scaled_to_issue_box(10.0, 5_550.0) == pytest.approx(10.0)
    assert bench_e2e.scaled_to_issue_box(3.0, 11_100.0) == pytest.approx(1.5)
    # A run exactly at the target share of its own bound scales to the target.
    bound = 1_234.0
    at_target = bench_e2e.TARGET_SHARE * bound
    assert bench_e2e.scaled_to_issue_box(at_target, bound) == pytest.approx(25.0)
    # No bound measured: no figure rather than a division by zero.
    assert bench_e2e.scaled_to_issue_box(10.0, 0.0) == 0.0


def test_the_access_log_gives_server_side_timings_per_call(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "GET /api/v1/tasks 200 1500\n"
        "POST /api/v1/tasks/7/claim 200 2500\n"
        "POST /api/v1/tasks/8/claim 409 3500\n"
        "GET /readyz 200 100\n"
        "garbage line\n"
    )
    timings = bench_e2e.access_log_timings(log)
    assert timings.by_call == {
        "GET /api/v1/tasks": [0.0015],
        "POST /api/v1/tasks/{id}/claim": [0.0025, 0.0035],
    }
    assert timings.errors == {"POST /api/v1/tasks/{id}/claim": 1}


def test_the_latest_run_block_is_replaced_and_the_rest_of_the_page_kept(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    page.write_text(
        "# Performance\n\nintro\n\n"
        f"{bench_e2e.LATEST_START}\nold\n{bench_e2e.LATEST_END}\n\nafter\n"
    )
    bench_e2e.write_latest(page, "| new | table |\n")
    text = page.read_text()
    assert "old" not in text
    assert "| new | table |" in text
    assert text.startswith("# Performance\n\nintro\n") and text.endswith("\nafter\n")


def test_without_postgresql_the_benchmark_says_so_and_skips() -> None:
    closed = free_port_block(1)  # nothing listens there
    out = io.StringIO()
    status = bench_e2e.main(
        ["--cases", "1", "--postgres", f"postgres://x@127.0.0.1:{closed}/x"], out
    )
    assert status == 0
    assert "PostgreSQL not reachable" in out.getvalue()
    assert "skipped" in out.getvalue()


# --- the whole run, on PostgreSQL ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs a PostgreSQL server")
def test_a_tiny_run_finishes_every_case_and_reports_every_row(tmp_path: Path) -> None:
    db = connection.settings_dict
    server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    config = bench_e2e.Config(
        cases=3,
        workers=1,
        clients=2,
        pgbench_seconds=1,
        minimal_seconds=1,
        simulate_poll=1,
        idle_seconds=1,
        postgres=server,
    )
    out = io.StringIO()
    result = bench_e2e.run(config, out, "test")

    assert result.cases_submitted == 3
    assert result.failures == []
    # Every case's items were done (5 or more items per accepted example) and every message
    # sent before the run ended.
    assert result.items_done >= 3 * 5
    assert result.messages_seconds >= result.items_seconds > 0
    assert result.counters["transactions"] > 0
    # The worker sends from the outbox in batches: no background task per message (issue
    # 10's target is at most 10 per case; ADR 0023).
    assert result.counters["tasks"] <= 10 * result.cases_submitted
    assert result.counters["sms"] > 0 and result.counters["webhooks"] > 0
    assert result.statements > result.counters["transactions"] / 10
    for kind in ("web (gunicorn)", "workers", "department simulators", "postgres"):
        assert result.cpu.get(kind, 0) > 0, (kind, result.cpu)
    assert len(result.timings["POST /api/v1/cases"]) >= 3
    # The department systems act on the task.created webhook: claim (whose answer carries
    # the task) and complete, without reading the task first (ADR 0045).
    for call in (
        "POST /api/v1/cases",
        "POST /api/v1/tasks/{id}/claim",
        "POST /api/v1/tasks/{id}/complete",
    ):
        assert result.server_timings.get(call), (call, sorted(result.server_timings))
    # Measured, and near nothing: the workers wait on LISTEN/NOTIFY, the department systems
    # poll every 30 s (ADR 0024; before: 173 statements/s with no case in flight).
    assert 0 <= result.idle_statements_per_second < 20
    # The target as a share of the bound measured in the same run: 25 cases/s where the
    # issue's box did ~5,550 transition transactions a second, and this run scaled to it.
    table = bench_e2e.report(result)
    assert "target ≥ 0.45%: 25 cases/s at the issue's 5,550 tx/s" in table
    full_rate = result.cases_submitted / result.messages_seconds
    scaled = bench_e2e.scaled_to_issue_box(full_rate, result.transition.per_second)
    assert f"scaled to that box: {scaled:.1f} cases/s" in table
    assert result.minimal_per_second > 0 and result.minimal_timings
    assert result.transition.per_second > 0

    text = bench_e2e.report(result)
    for row in (
        "submit only",
        "all items done",
        "fully processed",
        "database transactions per case",
        "SQL statements per case",
        "of which idle background",
        "background tasks per case",
        "outbox rows per case",
        "CPU seconds: web (gunicorn)",
        "CPU seconds: workers",
        "CPU seconds: department simulators",
        "CPU seconds: postgres",
        "`GET /bench/minimal/`",
        "`POST /api/v1/cases` (client side)",
        "`POST /api/v1/tasks/{id}/complete` (server side",
        "minimal Django view",
        "transition transaction",
        "- machine:",
        "- command:",
    ):
        assert row in text, row
