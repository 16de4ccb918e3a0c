"""The scale benchmark (issue 10, part 4): the lookups people and systems make, on databases
of growing size filled by `onestop gen-cases`, through the product's own views.

    python -m onestop.ops.bench_scale --postgres URL --sizes 1000000,10000000 \
        [--write docs/performance.md]

For each size a database ``onestop_scale_<size>`` is generated (unless it exists:
``--keep`` keeps it afterwards, otherwise it is dropped), then measured in a child
process set up on it (``--measure``): every lookup through Django's test client with the
product's middleware (sessions, authentication, the API's bearer check), or through the
service the periodic job runs. Per lookup: p50/p99 over random cases, SQL statements per
request, and ``EXPLAIN (ANALYZE)`` of its slowest statement. The report gives the growth
of p99 from the smallest to the largest size (target ≤ 1.5×; lookups p99 < 20 ms,
dashboards < 500 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from onestop.ops.bench_e2e import replace_marked_block

MARK_START = "<!-- bench-scale:latest:start -->"
MARK_END = "<!-- bench-scale:latest:end -->"
DASHBOARDS_START = "<!-- bench-dashboards:latest:start -->"
DASHBOARDS_END = "<!-- bench-dashboards:latest:end -->"
LOOKUP_TARGET_MS = 20.0
DASHBOARD_TARGET_MS = 500.0
GROWTH_TARGET = 1.5
REGION = "jilin"  # the largest region of the generated data (onestop.ops.gencases)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- in the child: one database -------------------------------------------------------


def _explain(sql: str, params: Any) -> list[str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
        return [str(r[0]) for r in cur.fetchall()]


def _measure_one(
    name: str, kind: str, samples: list[Callable[[], Any]], warm: int = 2
) -> dict[str, Any]:
    from django.db import connection

    for call in samples[:warm]:
        call()
    times = []
    for call in samples:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    captured: list[dict[str, Any]] = []

    def collect(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append({"sql": sql, "params": params, "time": time.perf_counter() - started})

    # The statements of a first read: the parents' pages keep a rendered page per process
    # (ADR 0026), and samples[0] was read above; a re-read would show only the stamp's.
    from onestop.common.revalidate import PAGE_CACHE

    PAGE_CACHE.clear()
    with connection.execute_wrapper(collect):
        samples[0]()
    slowest = max(captured, key=lambda q: float(q["time"]), default=None)
    plan: list[str] = []
    if slowest is not None and slowest["sql"].lstrip().upper().startswith("SELECT"):
        try:
            plan = _explain(slowest["sql"], slowest["params"])
        except Exception as exc:  # a statement EXPLAIN cannot take as text
            plan = [f"(no plan: {type(exc).__name__})"]
    return {
        "name": name,
        "kind": kind,
        "n": len(times),
        "p50": percentile(times, 50),
        "p99": percentile(times, 99),
        "statements": len(captured),
        "plan": plan,
        "slowest_sql": (slowest or {}).get("sql", "")[:400],
    }


def _users(sample_phones: list[str]) -> dict[str, Any]:
    from onestop.accounts.models import JurisdictionKind, Role, User
    from onestop.common.fields import index_of

    def user(username: str, **fields: Any) -> User:
        found, _ = User.objects.update_or_create(username=username, defaults=fields)
        return found

    supervisor = user(
        "bench-supervisor",
        role=Role.SUPERVISOR,
        jurisdiction_kind=JurisdictionKind.DIVISION,
        jurisdiction_code="22",
    )
    officer = user(
        "bench-officer",
        role=Role.OFFICER,
        department="police",
        jurisdiction_kind=JurisdictionKind.POLICE_STATION,
        jurisdiction_code="jilin-ps",
    )
    parents = []
    for n, phone in enumerate(sample_phones):
        parents.append(
            user(
                f"bench-parent-{n}",
                role=Role.PARENT,
                phone=phone,
                phone_index=index_of(phone, purpose="phone"),
            )
        )
    return {"supervisor": supervisor, "officer": officer, "parents": parents}


def _catch_up_rollup() -> float | None:
    """Run the roll-up jobs (``efficiency_rollup``, ``cases_rollup`` and ``ratings_rollup``
    of the dashboards) until they have caught up, as the worker would have (hourly) on a
    database that grew day by day; their time (not part of any lookup)."""
    try:
        from onestop.supervision.rollups import efficiency_rollup
    except ImportError:  # the code before the roll-up (a "before" measurement)
        return None
    started = time.perf_counter()
    while efficiency_rollup()["days"]:
        pass
    try:
        from onestop.supervision.case_rollups import cases_rollup
    except ImportError:  # the code before the dashboards
        return time.perf_counter() - started
    while cases_rollup()["days"]:
        pass
    try:
        from onestop.ratings.rollups import ratings_rollup
    except ImportError:  # the code before the ratings' roll-up
        return time.perf_counter() - started
    while ratings_rollup()["days"]:
        pass
    return time.perf_counter() - started


def _dashboard_results(supervisor: Any, now: Any) -> list[dict[str, Any]]:
    """The supervisors' dashboards (ADR 0041): the page with every panel, this month and
    one year, and a year's Excel export of every panel (through the test client)."""
    from django.urls import NoReverseMatch, reverse

    try:
        page = reverse("supervision:dashboards")
    except NoReverseMatch:  # the code before the dashboards
        return []

    def get(path: str) -> Callable[[], Any]:
        def call() -> Any:
            answer = supervisor.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: {answer.status_code}")
            return answer

        return call

    start = (now - timedelta(days=365)).date().isoformat()
    today = now.date().isoformat()
    year = f"?from={start}&to={today}"
    return [
        _measure_one(
            "dashboards `/supervise/dashboards/` (this month, province: every panel)",
            "dashboard",
            [get(page) for _ in range(5)],
            warm=1,
        ),
        _measure_one(
            "dashboards, one year",
            "dashboard",
            [get(page + year) for _ in range(3)],
            warm=1,
        ),
        _measure_one(
            "dashboards export, one year, every panel (`all.xlsx`)",
            "dashboard",
            [get(page + "export/all.xlsx" + year) for _ in range(3)],
            warm=1,
        ),
    ]


def measure_dashboards() -> dict[str, Any]:
    """Only the dashboards (``make bench-dashboards``) on the database Django is set up on."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from onestop.ops.gencases import STATE_TABLE
    from onestop.testing.second_factor import mark_verified

    settings.ALLOWED_HOSTS = ["*"]
    rollup_seconds = _catch_up_rollup()
    with connection.cursor() as cur:
        cur.execute(f"SELECT count, done FROM {STATE_TABLE} WHERE id = 1")
        count, done = cur.fetchone()
    users = _users([])
    supervisor = Client()
    supervisor.force_login(users["supervisor"])
    mark_verified(supervisor, users["supervisor"])
    results = _dashboard_results(supervisor, timezone.now())
    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
        cur.execute(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 1000"
            " ORDER BY n_live_tup DESC"
        )
        rows = dict(cur.fetchall())
    return {
        "cases": done,
        "count": count,
        "database_bytes": size,
        "rows": rows,
        "load": os.getloadavg()[0],
        "rollup_seconds": rollup_seconds,
        "results": results,
    }


def measure(samples: int, seed: int) -> dict[str, Any]:
    """Measure every lookup on the database Django is set up on."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from onestop.cases.models import Case
    from onestop.ops.gencases import STATE_TABLE, id_number_of, phone_of
    from onestop.simulate.credentials import demo_credentials
    from onestop.supervision.services import deadlines_sweep

    settings.ALLOWED_HOSTS = ["*"]
    rollup_seconds = _catch_up_rollup()
    with connection.cursor() as cur:
        cur.execute(f"SELECT count, done FROM {STATE_TABLE} WHERE id = 1")
        count, done = cur.fetchone()
    rng = random.Random(seed)
    # random generated cases: their index gives the parents' numbers (onestop.ops.gencases)
    picks: list[tuple[int, str, str]] = []
    from onestop.common.fields import index_of

    while len(picks) < samples:
        index = rng.randrange(done)
        found = (
            Case.objects.filter(
                mother_phone_index=index_of(phone_of(index, "mother"), purpose="phone")
            )
            .values_list("number", "region")
            .first()
        )
        if found:
            picks.append((index, found[0], found[1]))
    jilin_numbers = list(
        Case.objects.filter(region=REGION, status__in=("completed", "in_progress"))
        .order_by("?")
        .values_list("number", flat=True)[:samples]
        if done < 200_000
        else Case.objects.raw(
            "SELECT id, number FROM cases_case TABLESAMPLE SYSTEM (1)"
            " WHERE region = %s AND status IN ('completed', 'in_progress') LIMIT %s",
            [REGION, samples],
        )
    )
    jilin_numbers = [
        n if isinstance(n, str) else str(getattr(n, "number", n)) for n in jilin_numbers
    ]
    users = _users([phone_of(i, "mother") for i, _, _ in picks[:20]])
    police = next(c for c in demo_credentials() if c.key_id == f"osk_{REGION}_police")
    api = Client()
    auth = {"Authorization": f"Bearer {police.token}"}

    def get(client: Client, path: str, expect: int = 200, **extra: Any) -> Callable[[], Any]:
        def call() -> Any:
            answer = client.get(path, **extra)
            if answer.status_code != expect:
                raise RuntimeError(f"GET {path}: {answer.status_code}")
            return answer

        return call

    from onestop.testing.second_factor import mark_verified

    supervisor = Client()
    supervisor.force_login(users["supervisor"])
    mark_verified(supervisor, users["supervisor"])  # as the TOTP step would
    officer = Client()
    officer.force_login(users["officer"])
    mark_verified(officer, users["officer"])
    # One client for every parent, each request with its parent's session, as a web worker
    # serves them: a client of its own per parent loaded the middleware again on its first
    # request (WhiteNoise's walk of the static files: ~10 ms of CPU), and the parent's case
    # page, each sample a new parent, measured it in all but the warm-up's samples.
    # Each session as a parent's sign-in leaves it: with the time of the sign-in as its last
    # activity (`accounts.middleware._seen_at_sign_in`), so the parent's first page has no
    # session UPDATE to make (`force_login` leaves it out: every sample, each a parent's
    # first request, wrote its session and committed — one statement and a WAL flush
    # that a parent's page after the SMS sign-in does not pay within 30 s of it).
    from onestop.accounts.middleware import SEEN_KEY

    parents_client = Client()
    parent_sessions = []
    for parent in users["parents"]:
        parents_client.cookies.pop("sessionid", None)  # (a sign-in would end the last one's)
        parents_client.force_login(parent)
        session = parents_client.session
        session[SEEN_KEY] = int(timezone.now().timestamp())
        session.save()
        parent_sessions.append(parents_client.cookies["sessionid"].value)

    def as_parent(k: int, path: str) -> Callable[[], Any]:
        def call() -> Any:
            parents_client.cookies["sessionid"] = parent_sessions[k]
            return get(parents_client, path)()

        return call

    def search(id_number: str) -> Callable[[], Any]:
        """The search as a supervisor makes it: the form's POST, answered with the results
        (the number in the POST body only, never in a URL)."""

        def call() -> Any:
            answer = supervisor.post("/supervise/", {"q": id_number})
            if answer.status_code != 200:
                raise RuntimeError(f"POST /supervise/: {answer.status_code}")
            return answer

        return call

    results = []
    results.append(
        _measure_one(
            "case by number: API `GET /api/v1/cases/{number}` (police system)",
            "lookup",
            [get(api, f"/api/v1/cases/{n}", headers=auth) for n in jilin_numbers],
        )
    )
    results.append(
        _measure_one(
            "case by number: parent's page `/my/cases/{number}/`",
            "lookup",
            [as_parent(k, f"/my/cases/{picks[k][1]}/") for k in range(len(parent_sessions))],
        )
    )
    results.append(
        _measure_one(
            "case by number: supervisor's page `/supervise/cases/{number}/`",
            "lookup",
            [get(supervisor, f"/supervise/cases/{n}/") for n in jilin_numbers],
        )
    )
    jilin_picks = [p for p in picks if p[2] == REGION] or picks
    results.append(
        _measure_one(
            "case by a parent's ID number: supervisor search (blind index; the POST answers)",
            "lookup",
            [search(id_number_of(i, "mother")) for i, _, _ in jilin_picks],
        )
    )
    results.append(
        _measure_one(
            "a parent's case list `/my/cases/`",
            "lookup",
            [as_parent(k, "/my/cases/") for k in range(len(parent_sessions))],
        )
    )
    results.append(
        _measure_one(
            "officer queue `/work/` (a police station)",
            "lookup",
            [get(officer, "/work/") for _ in range(20)],
        )
    )
    now = timezone.now()
    results.append(
        _measure_one(
            "deadline sweep (`deadlines_sweep`, ≤ 20 transitions of each kind a run)",
            "dashboard",
            [lambda: deadlines_sweep(now, batch_size=20) for _ in range(5)],
            warm=3,
        )
    )
    results.append(
        _measure_one(
            "efficiency report `/supervise/efficiency/` (this month, province)",
            "dashboard",
            [get(supervisor, "/supervise/efficiency/") for _ in range(5)],
            warm=1,
        )
    )
    start = (now - timedelta(days=365)).date().isoformat()
    results.append(
        _measure_one(
            "efficiency report, one year",
            "dashboard",
            [get(supervisor, f"/supervise/efficiency/?from={start}") for _ in range(3)],
            warm=1,
        )
    )
    results.append(
        _measure_one(
            "deadlines page `/supervise/deadlines/` (province)",
            "dashboard",
            [get(supervisor, "/supervise/deadlines/") for _ in range(5)],
            warm=1,
        )
    )
    results += _dashboard_results(supervisor, now)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
        cur.execute(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 1000"
            " ORDER BY n_live_tup DESC"
        )
        rows = dict(cur.fetchall())
    return {
        "cases": done,
        "count": count,
        "database_bytes": size,
        "rows": rows,
        "load": os.getloadavg()[0],
        "rollup_seconds": rollup_seconds,
        "results": results,
    }


# --- in the parent: every size --------------------------------------------------------


def _db_url(server: str, name: str) -> str:
    base = server.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _psql(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.encode())


def _exists(server: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        )


def _generated_seed(url: str) -> int | None:
    import psycopg

    from onestop.ops.gencases import STATE_TABLE

    with psycopg.connect(url, autocommit=True) as conn:
        try:
            row = conn.execute(f"SELECT seed FROM {STATE_TABLE} WHERE id = 1").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return int(row[0]) if row else None


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="onestop.config.settings",
        ONESTOP_RATE_API="100000/m",
    )
    return env


def run_size(server: str, size: int, args: argparse.Namespace, say: TextIO) -> dict[str, Any]:
    name = f"{args.prefix}_{size}"
    url = _db_url(server, name)
    fresh = not _exists(server, name)
    if fresh:
        _psql(server, f'CREATE DATABASE "{name}"')
    try:
        started = time.monotonic()
        # a kept database resumes with the seed it was generated with (gen-cases refuses
        # another one), e.g. one made by hand with `onestop gen-cases --seed 7`
        seed = None if fresh else _generated_seed(url)
        subprocess.run(
            [sys.executable, "-m", "onestop", "gen-cases", "--count", str(size), "--prepare"]
            + ([] if seed is None else ["--seed", str(seed)]),
            env=_env(url),
            check=True,
        )
        generated = time.monotonic() - started
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "onestop.ops.bench_scale",
                "--measure",
                "--samples",
                str(args.samples),
                *(["--dashboards"] if args.dashboards else []),
            ],
            env=_env(url),
            check=True,
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["generate_seconds"] = generated if fresh else None
        say.write(f"bench-scale: {size:,} cases measured\n")
        return result
    finally:
        if not args.keep:
            _psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _verdict(kind: str, p99: float) -> str:
    target = LOOKUP_TARGET_MS if kind == "lookup" else DASHBOARD_TARGET_MS
    return "met" if p99 < target else "NOT met"


def report(runs: list[dict[str, Any]], command: str) -> str:
    sizes = [r["cases"] for r in runs]
    head = " | ".join(f"p50 / p99 ms at {s:,}" for s in sizes)
    lines = [
        f"| lookup | {head} | growth of p99 | statements | target |",
        "|---|" + "---:|" * len(sizes) + "---:|---:|---|",
    ]
    for k, first in enumerate(runs[0]["results"]):
        cells = []
        for run in runs:
            r = run["results"][k]
            cells.append(f"{r['p50']:.1f} / {r['p99']:.1f}")
        last = runs[-1]["results"][k]
        growth = last["p99"] / first["p99"] if first["p99"] else 0.0
        target = LOOKUP_TARGET_MS if first["kind"] == "lookup" else DASHBOARD_TARGET_MS
        verdict = _verdict(first["kind"], last["p99"])
        grew = (
            ""
            if len(runs) == 1
            else (" (≤ 1.5×: met)" if growth <= GROWTH_TARGET else " (≤ 1.5×: NOT met)")
        )
        lines.append(
            f"| {first['name']} | {' | '.join(cells)} | {growth:.2f}×{grew} |"
            f" {last['statements']} | p99 < {target:.0f} ms: {verdict} |"
        )
    lines.append("")
    for run in runs:
        gb = run["database_bytes"] / 1e9
        biggest = ", ".join(f"{t} {n:,}" for t, n in list(run["rows"].items())[:6])
        gen = run.get("generate_seconds")
        made = f"; generated in {gen / 60:.1f} min" if gen else ""
        lines.append(
            f"- {run['cases']:,} cases: database {gb:.1f} GB ({biggest}){made};"
            f" load average {run['load']:.1f} while measuring"
        )
    lines.append(f"- command: `{command}`")
    lines.append(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    lines.append("")
    lines.append(
        f"Plans at {runs[-1]['cases']:,} cases"
        " (`EXPLAIN ANALYZE` of each lookup's slowest statement):"
    )
    lines.append("")
    for r in runs[-1]["results"]:
        lines.append(f"- {r['name']}:")
        lines.append("  ```")
        lines.extend(f"  {line}" for line in r["plan"][:14])
        lines.append("  ```")
    return "\n".join(lines) + "\n"


def write_latest(path: Path, text: str, *, dashboards: bool = False) -> None:
    if dashboards:
        replace_marked_block(
            path,
            text,
            start=DASHBOARDS_START,
            end=DASHBOARDS_END,
            heading="## Dashboards: latest run (`make bench-dashboards`)",
        )
        return
    replace_marked_block(
        path,
        text,
        start=MARK_START,
        end=MARK_END,
        heading="## Scale: latest run (`make bench-scale`)",
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m onestop.ops.bench_scale")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "ONESTOP_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="cases per database, comma-separated"
    )
    parser.add_argument("--samples", type=int, default=100, help="random cases per lookup")
    parser.add_argument("--prefix", default="onestop_scale", help="database names: <prefix>_<size>")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--write", default="", help="replace the latest-run block of this file")
    parser.add_argument(
        "--dashboards",
        action="store_true",
        help="measure the supervisors' dashboards only (make bench-dashboards)",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse(argv)
    if args.measure:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.config.settings")
        django.setup()
        result = measure_dashboards() if args.dashboards else measure(args.samples, args.seed)
        print(json.dumps(result, ensure_ascii=False))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    runs = [run_size(args.postgres, size, args, out) for size in sizes]
    command = "python -m onestop.ops.bench_scale " + " ".join(argv or sys.argv[1:])
    text = report(runs, command)
    out.write(text)
    if args.write:
        write_latest(Path(args.write), text, dashboards=args.dashboards)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
