"""The 1,000-user benchmark (`onestop.ops.bench_users`): locust's statistics read per
request kind, the report against the target, the latest-run block of the page; on
PostgreSQL, a tiny run end to end (seed, sign-ins, every kind of person served)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from onestop.ops import bench_users
from onestop.testing.processes import free_port_block

STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,\
80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,parent: /my/cases/<number>/,1000,2,40,55,10,900,5000,20.5,0.0,40,50,60,70,90,150,200,\
300,800,900,900
GET,public: /verify/<serial>/,100,0,20,22,5,90,3000,2.0,0.0,20,22,24,25,30,40,60,80,90,90,90
,Aggregated,1100,2,38,52,5,900,4800,22.5,0.0,38,48,58,68,88,140,190,290,790,900,900
"""


def test_locust_statistics_are_read_per_request_kind_with_the_aggregate(tmp_path: Path) -> None:
    path = tmp_path / "x_stats.csv"
    path.write_text(STATS)
    rows = {row.name: row for row in bench_users.read_locust_stats(path)}
    assert set(rows) == {
        "GET parent: /my/cases/<number>/",
        "GET public: /verify/<serial>/",
        "all requests",
    }
    page = rows["GET parent: /my/cases/<number>/"]
    assert (page.requests, page.failures, page.p50, page.p95, page.p99) == (1000, 2, 40, 150, 300)
    assert rows["all requests"].per_second == 22.5


def _result(tmp_path: Path, **given: Any) -> bench_users.Result:
    """A run's result with `STATS` as locust's statistics, and what ``given`` says."""
    path = tmp_path / "x_stats.csv"
    path.write_text(STATS)
    fields: dict[str, Any] = {
        "config": bench_users.Config(),
        "rows": bench_users.read_locust_stats(path),
        "failures": [],
        "cpu": {"web (gunicorn)": 100.0, "postgres": 20.0},
        "seconds": 120.0,
        "statements": 11000,
        "minimal_per_second": 1000.0,
        "minimal_p": (3.0, 6.0, 9.0),
        "counts": {"cases": 4},
        "machine": {"cores": "2", "cpu": "x", "memory": "1 GiB", "postgres": "15", "python": "3"},
        "command": "python -m onestop.ops.bench_users",
        "started_at": datetime(2026, 11, 26, tzinfo=UTC),
        "seed_seconds": 1.0,
    }
    return bench_users.Result(**{**fields, **given})


def test_the_report_compares_p95_with_the_target_and_replaces_its_block(tmp_path: Path) -> None:
    result = _result(tmp_path)
    text = bench_users.report(result)
    assert "p95 140 ms (target < 200 ms: met)" in text
    assert "90.9 ms of web CPU (gunicorn), 18.2 ms of PostgreSQL CPU, 10.0 SQL statements" in text
    assert "web (gunicorn) 100.0 s (0.83 cores)" in text
    page = tmp_path / "performance.md"
    page.write_text(
        f"# P\n\nbefore\n\n{bench_users.LATEST_START}\nstale figures\n"
        f"{bench_users.LATEST_END}\nafter\n"
    )
    bench_users.write_latest(page, text)
    written = page.read_text()
    assert "stale figures" not in written and "before" in written and "after" in written
    assert "target < 200 ms: met" in written


def test_without_postgresql_the_benchmark_says_so_and_skips() -> None:
    closed = free_port_block(1)
    out = io.StringIO()
    status = bench_users.main(["--postgres", f"postgres://x@127.0.0.1:{closed}/x"], out)
    assert status == 0 and "skipped" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs a PostgreSQL server")
def test_a_tiny_run_serves_every_kind_of_person_without_errors() -> None:
    db = connection.settings_dict
    server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    config = bench_users.Config(
        users=12,
        duration=12,
        spawn_rate=12,
        cases=8,
        officers_per_desk=1,
        bound_seconds=1,
        postgres=server,
        probe=True,
    )
    result = bench_users.run(config, io.StringIO(), "test")
    assert result.problems == []
    rows = {row.name: row for row in result.rows}
    assert rows["all requests"].requests > 0
    assert rows["all requests"].failures == 0, result.failures
    assert result.counts["e-licences"] > 0 and result.counts["parents"] == 8
    assert any(name.startswith("GET parent:") for name in rows)
    assert result.cpu.get("web (gunicorn)", 0) > 0
    # The bound is measured from answers, not errors (its table was once missing: 500s).
    assert result.minimal_per_second > 0 and result.minimal_errors == 0
    # Every run splits off the requests made once every user had arrived.
    assert result.after is not None and result.after[0] > 0
    # --probe: the workers recorded their requests (with their paths) and collections, the
    # web workers loaded the application before serving (no request paid for the URLconf).
    assert "**Where the time goes**" in result.probe and "| 0–10 |" in result.probe
    recorded = result.probe.split("requests the web workers recorded: ", 1)[1]
    assert int(recorded.split(";", 1)[0]) > 0
    heaviest = result.probe.split("the most CPU a request took", 1)[1]
    assert re.search(r"\d+ /\S* @\d+", heaviest), heaviest


def test_the_probe_splits_the_run_by_time_beside_the_workers_waits_and_collections(
    tmp_path: Path,
) -> None:
    """`--probe`: locust's per-request times and the web workers' records (thread waits,
    garbage collections) reported per window and for the users' arrival against the rest."""
    import json

    t0 = 1_000_000.0
    lines = [f"{t0 + i * 0.5:.4f},parent: /my/cases/,{100 + i},0" for i in range(20)]
    lines += [
        f"{t0 + 12 + i:.4f},officer: POST /accounts/login/ (password check),400,0" for i in (0, 1)
    ]
    (tmp_path / "locust-times.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "probe-1.json").write_text(
        json.dumps(
            {
                "gc": [
                    [t0 + 1, 2, 0.090, 0.070],
                    [t0 + 2, 0, 0.0002, 0.0001],
                    [t0 + 11, 1, 0.015, 0.012],
                    [t0 + 100, 2, 0.5, 0.5],  # after the run (the bound): left out
                ],
                "requests": [
                    [t0 + 1, 0.030, 0.008, 0.006, "/my/cases/"],
                    [t0 + 12, 0.002, 0.050, 0.040, "/accounts/login/"],
                    [t0 - 5, 0.0, 0.001, 0.001],  # before the run: left out
                ],
            }
        )
    )
    text = bench_users.probe_report(tmp_path, bench_users.Config(users=10, spawn_rate=1.0))
    windows = [line for line in text.splitlines() if line.startswith(("| 0–10", "| 10–20"))]
    # 0–10 s: 20 requests of 100…119 ms; one request waited 30 ms for a thread, its thread
    # took 8 ms (6 of CPU); a 70 ms (CPU) full collection and a tiny one.
    assert windows[0] == "| 0–10 | 20 | 109 | 118 | 119 | 119 | 30 | 30 | 8 | 6 | 1 | 70 |"
    assert windows[1] == "| 10–20 | 2 | 400 | 400 | 400 | 400 | 2 | 2 | 50 | 40 | 1 | 12 |"
    # The arrival is users / spawn rate = the first 10 s: the logins come after it here.
    login = next(line for line in text.splitlines() if line.startswith("| officer: POST"))
    assert login.startswith("| officer: POST /accounts/login/ (password check) | 0 | – |")
    assert "| 2 | 400 | 400 | 400 | 400 | 2 | 400 |" in login
    assert "gen 0: 1; 0, 0.1; 0.2; gen 1: 1; 12, 12.0; 15.0; gen 2: 1; 70, 70.0; 90.0" in text
    assert "requests the web workers recorded: 2;" in text
    assert "23.00 ms on average" in text
    assert "40 /accounts/login/ @12, 6 /my/cases/ @1" in text


def test_without_locust_times_the_probe_says_so(tmp_path: Path) -> None:
    assert "no probe" in bench_users.probe_report(tmp_path, bench_users.Config())


def test_the_requests_after_the_users_arrival_are_reported_beside_the_whole_run(
    tmp_path: Path,
) -> None:
    """Every run records locust's per-request times: the report gives the whole run's p95
    (the verdict) and, beside it, the requests that started once every user had arrived
    (``users / spawn_rate`` seconds after the first request)."""
    t0 = 2_000_000.0
    times = tmp_path / "locust-times.csv"
    arrival = [f"{t0 + i * 0.1:.4f},parent: /my/cases/,{900 + i},0" for i in range(50)]
    after = [f"{t0 + 10 + i * 0.1:.4f},parent: /my/cases/,{40 + i % 10},0" for i in range(100)]
    times.write_text("\n".join(arrival + after) + "\n")
    config = bench_users.Config(users=100, spawn_rate=10.0)
    # 100 users at 10 a second: from 10 s on, the 100 requests of 40…49 ms.
    assert bench_users.after_arrival(times, config) == (100, 44.0, 49.0, 49.0)
    assert bench_users.after_arrival(tmp_path / "none.csv", config) is None
    result = _result(tmp_path, config=config, after=bench_users.after_arrival(times, config))
    text = bench_users.report(result)
    assert "p95 140 ms (target < 200 ms: met)" in text
    assert (
        "once every user had arrived (requests started 10 s or more after the first, the "
        "arrival's backlog still draining): p50 44 / p95 49 / p99 49 ms over 100 requests "
        "(target < 200 ms: met)" in text
    )
