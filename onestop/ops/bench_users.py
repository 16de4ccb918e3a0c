"""1,000 concurrent users (issue 10, part 3): ``python -m onestop.ops.bench_users
[--users 1000] [--duration 120] [--cases 2000] [--write docs/performance.md]`` (``make
bench-users``).

Issue 10: "1,000 concurrent users with locust (headless, in the repository's dev
dependencies): parents checking progress and messages, officers working queues, department
systems polling, the public checking certificates; 5 s think time; report p50/p95/p99 and
errors; target p95 < 200 ms on this 2-core box."

One run:

1. a fresh PostgreSQL database (`onestop.ops.bench_e2e.fresh_database`), migrated, seeded
   through the product's own services: the reference data, the department systems' API
   clients (the demo credentials), officers of every department of the five regions
   (``--officers-per-desk`` accounts per desk), ``--cases`` cases (the accepted example of
   each region in turn, each a distinct newborn of a distinct mother, as the end-to-end
   benchmark makes them) advanced to a mix of states — items waiting, claimed, done with
   sealed e-licences, returned for supplement, whole cases finished — and one parent
   account per case's mother phone;
2. sessions for the parents, made directly in the session store (the parents sign in with
   an SMS code, which is rate limited per phone and per address and costs an SMS: a load
   test signing 700 parents in through SMS would measure the SMS limiter, not the pages).
   Officers sign in through the login form with their password (the real password hash
   check, once per simulated officer, during the ramp-up);
3. the web server as the end-to-end benchmark starts it (gunicorn with the product's
   config, `onestop.ops.bench_settings` — the product's settings plus a statement
   counter), with ``ONESTOP_TRUSTED_PROXIES=1`` so that each simulated member of the public
   comes from its own address (``X-Forwarded-For``, as nginx in front would set it) and
   the per-address limit of ``/verify/`` applies per person; the API's per-client limit
   is the product's (600/min: the department systems poll below it);
4. locust, headless, as a child process (``onestop/ops/locustfile.py``): ``--users``
   simulated people arriving at ``--spawn-rate`` per second, each waiting 3–7 s (5 s on
   average) between two requests, for ``--duration`` seconds;
5. the machine's bound, right after on the same gunicorn: the minimal Django view
   (`/bench/minimal/`, `onestop.ops.bench_urls`) hit by 4 clients.

Prints one markdown table: p50/p95/p99 and errors per request kind, requests per second,
CPU seconds per process kind, SQL statements per request, the bound; the whole run's p95
against the target and, beside it, that of the requests made once every user had arrived
(``users / spawn_rate`` seconds after the first, `after_arrival`); with ``--write``,
replaces the "1,000 users: latest run" block of that file. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from onestop.ops.bench_e2e import (
    DEFAULT_PG_URL,
    MINIMAL_TABLE_SQL,
    CpuMeter,
    Database,
    Product,
    _load_average,
    bench_documents,
    hammer,
    machine,
    percentile,
    postgres_answers,
    replace_marked_block,
    with_database,
)

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LATEST_START = "<!-- bench-users:latest:start -->"
LATEST_END = "<!-- bench-users:latest:end -->"
TARGET_P95_MS = 200.0
# The password of the benchmark's officer accounts (a throw-away database).
OFFICER_PASSWORD = "bench-users-2026!"
# The user mix (locust weights): parents, officers, the public, department systems.
MIX = {"parents": 70, "officers": 15, "public": 10, "departments": 5}


@dataclass(frozen=True)
class Config:
    users: int = 1000
    duration: int = 120
    spawn_rate: float = 50.0
    cases: int = 2000
    officers_per_desk: int = 3
    web_workers: int = 2
    web_threads: int = 4
    bound_seconds: float = 8.0
    postgres: str = DEFAULT_PG_URL
    keep: bool = False
    reuse: str = ""  # a folder a ``--keep`` run left: its database, keys and plan
    page_cache: int | None = None  # ONESTOP_PAGE_CACHE_ENTRIES of the web (None: the default)
    probe: bool = False  # record where the time goes (see `probe_report`)
    web_env: tuple[tuple[str, str], ...] = ()  # extra environment of the web server
    # bench_e2e.Product reads these; this benchmark runs no background worker.
    workers: int = 0
    simulate_poll: float = 2.0


# --- the seed (runs in a child process with Django set up) ------------------------------------


def _result_for(row: Any) -> dict[str, str]:
    from onestop.departments.selectors import task_view_data
    from onestop.simulate.department import build_result
    from onestop.workflow.domain.results import RESULT_FIELDS

    specs = [
        {
            "name": f.name,
            "pattern": f.pattern,
            "example": f.example,
            "required": f.required,
            "kind": f.kind,
        }
        for f in RESULT_FIELDS.get(row.item, ())
    ]
    return build_result(specs, row.pk, task_view_data(row))


def _advance(case: Any, shape: int, now: datetime) -> None:
    """Move a new case to one of four shapes: 0 untouched (items waiting), 1 first item
    claimed, 2 every item done (e-licences sealed, case finished), 3 first item done and
    the next returned for supplement."""
    from onestop.accounts.models import User
    from onestop.accounts.permissions import can_work_item
    from onestop.workflow.models import CaseItem, ItemState
    from onestop.workflow.services import item_claim, item_complete, item_return

    def ready() -> list[CaseItem]:
        return list(
            CaseItem.objects.filter(case=case, state=ItemState.READY)
            .select_related("case")
            .order_by("position")
        )

    def officer_for(row: CaseItem) -> User | None:
        for user in User.objects.filter(role="officer", department=row.department):
            if can_work_item(user, row):
                return user
        return None

    if shape == 0:
        return
    if shape == 1:
        rows = ready()
        officer = officer_for(rows[0]) if rows else None
        if officer is not None:
            item_claim(item_id=rows[0].pk, actor=officer, now=now)
        return
    if shape == 2:
        for _round in range(20):
            rows = ready()
            if not rows:
                return
            for row in rows:
                with contextlib.suppress(Exception):
                    item_complete(item_id=row.pk, actor=None, result=_result_for(row), now=now)
        return
    rows = ready()
    if rows:
        with contextlib.suppress(Exception):
            item_complete(item_id=rows[0].pk, actor=None, result=_result_for(rows[0]), now=now)
    rows = ready()
    officer = officer_for(rows[0]) if rows else None
    if officer is not None:
        item_return(item_id=rows[0].pk, actor=officer, reasons=["请补充材料（压测）"], now=now)


def _session_for(user: Any) -> str:
    """A signed-in session for ``user`` in the configured session store, as
    ``django.contrib.auth.login`` would leave it: the cookie value."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone

    from onestop.accounts.middleware import SEEN_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[SEEN_KEY] = int(timezone.now().timestamp())
    store.save()
    return str(store.session_key)


def seed(*, cases: int, officers_per_desk: int, run: str, plan: str) -> None:
    """Migrate and fill the (fresh) database; write the locust plan (sessions, case
    numbers, task ids, serials, API tokens) to ``plan``."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone

    from onestop.accounts.models import Role, User
    from onestop.cases.services import case_submit
    from onestop.certificates.models import ELicence
    from onestop.common.fields import index_of
    from onestop.ops.demo import _api_clients, demo_users
    from onestop.reference.services import reference_seed
    from onestop.simulate.credentials import demo_credentials
    from onestop.workflow.models import CaseItem

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    reference_seed()
    _api_clients()
    password = make_password(OFFICER_PASSWORD)  # hashed once: the same for every officer
    officers = []
    for spec in demo_users():
        if spec.role != Role.OFFICER:
            continue
        for n in range(officers_per_desk):
            user = User.objects.create(
                username=f"{spec.username}-{n}",
                role=Role.OFFICER,
                display_name=f"{spec.name}{n}",
                department=spec.department,
                jurisdiction_kind=spec.kind,
                jurisdiction_code=spec.code,
                password=password,
            )
            officers.append(user)
    now = timezone.now()
    parents = []
    started = time.monotonic()
    for index, (_key_id, body) in enumerate(bench_documents(cases, run)):
        document = json.loads(body)
        when = now - timedelta(minutes=cases - index)
        case = case_submit(document=document, actor=None, now=when).case
        _advance(case, index % 4, when + timedelta(seconds=30))
        phone = str(document["mother"]["phone"])
        phone_index = index_of(phone, purpose="phone")
        user, _ = User.objects.get_or_create(
            phone_index=phone_index,
            defaults={
                "username": f"p-{phone_index[:20]}",
                "role": Role.PARENT,
                "phone": phone,
            },
        )
        parents.append({"session": _session_for(user), "cases": [case.number]})
        if index % 200 == 199:
            rate = (index + 1) / (time.monotonic() - started)
            print(f"seeded {index + 1} cases ({rate:.1f}/s)", flush=True)
    tasks: dict[str, list[int]] = {}
    for row in CaseItem.objects.filter(state__in=("ready", "in_progress", "returned")).values(
        "pk", "department", "jurisdiction_kind", "jurisdiction_code", "division"
    ):
        tasks.setdefault(row["department"], []).append(row["pk"])
    payload = {
        "parents": parents,
        "officers": [
            {"username": u.username, "password": OFFICER_PASSWORD, "department": u.department}
            for u in officers
        ],
        "serials": list(ELicence.objects.values_list("serial", flat=True)[:5000]),
        "api_tokens": [c.token for c in demo_credentials()],
        "counts": {
            "cases": cases,
            "items": CaseItem.objects.count(),
            "open items": sum(len(v) for v in tasks.values()),
            "e-licences": ELicence.objects.count(),
            "officers": len(officers),
            "parents": len(parents),
        },
    }
    Path(plan).write_text(json.dumps(payload), "utf-8")


# --- locust's results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    per_second: float


def read_locust_stats(path: Path) -> list[Row]:
    """Locust's ``<prefix>_stats.csv``: one row per request name, and the aggregate."""
    rows: list[Row] = []
    if not path.exists():
        return rows
    with path.open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle):

            def number(key: str, record: dict[str, str] = record) -> float:
                value = record.get(key) or "0"
                return float(value) if value not in ("N/A", "") else 0.0

            name = record["Name"] if record.get("Type") else "all requests"
            if record.get("Name") == "Aggregated":
                name = "all requests"
            else:
                name = f"{record.get('Type', '')} {record['Name']}".strip()
            rows.append(
                Row(
                    name=name,
                    requests=int(number("Request Count")),
                    failures=int(number("Failure Count")),
                    p50=number("50%"),
                    p95=number("95%"),
                    p99=number("99%"),
                    per_second=number("Requests/s"),
                )
            )
    return rows


def read_locust_failures(path: Path) -> list[str]:
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            out.append(
                f"{record.get('Method', '')} {record.get('Name', '')}: "
                f"{record.get('Error', '')[:160]} ×{record.get('Occurrences', '')}"
            )
    return out


# --- one run ------------------------------------------------------------------------------------


@dataclass
class Result:
    config: Config
    rows: list[Row]
    failures: list[str]
    cpu: dict[str, float]
    seconds: float
    statements: int
    minimal_per_second: float
    minimal_p: tuple[float, float, float]
    counts: dict[str, int]
    machine: dict[str, str]
    command: str
    started_at: datetime
    seed_seconds: float
    minimal_errors: int = 0
    problems: list[str] = field(default_factory=list)
    probe: str = ""  # `probe_report`'s text with --probe
    # The requests that started once every user had arrived (`after_arrival`).
    after: tuple[int, float, float, float] | None = None


@contextlib.contextmanager
def fresh_database(server_url: str, keep: bool) -> Iterator[str]:
    """A new database ``onestop_bench_users_<random>``, dropped afterwards unless ``keep``
    (as `bench_e2e.fresh_database`, named for this benchmark)."""
    import psycopg

    name = f"onestop_bench_users_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        if not keep:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class UsersProduct(Product):
    """The web server only (no background worker, no simulators), with the product's API
    rate limit and one trusted proxy (each simulated person has its own address)."""

    def __init__(self, root: Path, database_url: str, config: Config) -> None:
        super().__init__(root, database_url, config)  # type: ignore[arg-type]
        self.env.pop("ONESTOP_RATE_API", None)
        self.env["ONESTOP_TRUSTED_PROXIES"] = "1"
        if config.page_cache is not None:
            self.env["ONESTOP_PAGE_CACHE_ENTRIES"] = str(config.page_cache)
        self.env.update(config.web_env)
        if config.probe:
            self.env["ONESTOP_SERVER_PROBE"] = str(self.probe_folder)

    @property
    def probe_folder(self) -> Path:
        return self.root / "probe"


def run(config: Config, out: TextIO, command: str) -> Result:
    started_at = datetime.now(UTC)
    if config.reuse:
        # Tuning runs (gunicorn workers and threads) on the data of a kept run: no seeding.
        root = Path(config.reuse)
        name = (root / "database").read_text("utf-8").strip()
        return _run(config, out, command, with_database(config.postgres, name), root, started_at)
    root = Path(tempfile.mkdtemp(prefix="onestop-users-"))
    try:
        with fresh_database(config.postgres, config.keep) as url:
            (root / "database").write_text(urlsplit(url).path.lstrip("/"), "utf-8")
            return _run(config, out, command, url, root, started_at)
    finally:
        if config.keep:
            out.write(f"kept: {root}\n")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _run(
    config: Config, out: TextIO, command: str, url: str, root: Path, started_at: datetime
) -> Result:
    product = UsersProduct(root, url, config)
    clock = time.monotonic()

    def say(text: str) -> None:
        out.write(f"  {time.monotonic() - clock:7.1f} s  {text}\n")
        out.flush()

    plan = root / "plan.json"
    if plan.exists():
        counts = json.loads(plan.read_text("utf-8"))["counts"]
        say(f"reusing {root}: {counts}")
        return _load(config, out, command, url, root, started_at, product, counts, 0.0, say)
    say(f"database {urlsplit(url).path.lstrip('/')}: migrating, seeding {config.cases} cases")
    script = (
        "from onestop.ops.bench_users import seed\n"
        f"seed(cases={config.cases}, officers_per_desk={config.officers_per_desk}, "
        f"run={uuid.uuid4().hex[:6]!r}, plan={str(plan)!r})\n"
    )
    seed_started = time.monotonic()
    with (product.logs / "seed.log").open("ab") as log:
        subprocess.run(
            [sys.executable, "-c", script],
            env={**product.env, "PGOPTIONS": "-c synchronous_commit=off"},  # set-up only
            cwd=root,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=3600,
        )
    seed_seconds = time.monotonic() - seed_started
    counts = json.loads(plan.read_text("utf-8"))["counts"]
    say(f"seeded in {seed_seconds:.0f} s: {counts}")
    return _load(config, out, command, url, root, started_at, product, counts, seed_seconds, say)


def _load(
    config: Config,
    out: TextIO,
    command: str,
    url: str,
    root: Path,
    started_at: datetime,
    product: UsersProduct,
    counts: dict[str, int],
    seed_seconds: float,
    say: Callable[[str], None],
) -> Result:
    plan = root / "plan.json"
    db = Database(url)
    db.conn.execute("VACUUM ANALYZE")
    cpu = CpuMeter()
    load_process: subprocess.Popen[bytes] | None = None
    try:
        product.start_web()
        product.wait_ready()
        say(f"web up ({config.web_workers} workers × {config.web_threads} threads)")
        prefix = root / "locust"
        locust = [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            product.base_url,
            "-u",
            str(config.users),
            "-r",
            str(config.spawn_rate),
            "-t",
            f"{config.duration}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ]
        env = {**os.environ, "ONESTOP_LOCUST_PLAN": str(plan)}
        # Every request's start and time, for the split at the users' arrival (and --probe).
        times = product.probe_folder / "locust-times.csv"
        shutil.rmtree(product.probe_folder, ignore_errors=True)
        product.probe_folder.mkdir(parents=True)
        env["ONESTOP_LOCUST_TIMES"] = str(times)
        load_before = _load_average()
        statements_before = product.statements()
        log = (product.logs / "locust.log").open("ab")
        process = subprocess.Popen(locust, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        load_process = process
        cpu.roots = {**product.kinds(), process.pid: "locust (load generator)"}
        cpu.postgres_pids = db.backend_pids
        cpu.start()
        begun = time.monotonic()
        say(f"locust: {config.users} users at {config.spawn_rate:g}/s for {config.duration} s")
        while process.poll() is None:
            time.sleep(1.0)
            product.check_alive()
        seconds = time.monotonic() - begun
        cpu_seconds = cpu.stop()
        load_after = _load_average()
        statements = product.statements() - statements_before
        log.close()
        rows = read_locust_stats(Path(f"{prefix}_stats.csv"))
        failures = read_locust_failures(Path(f"{prefix}_failures.csv"))
        say("bound: minimal Django view")
        db.conn.execute(MINIMAL_TABLE_SQL)
        hammer(product.base_url, "/bench/minimal/", 4, 1.0)  # warm
        requests, elapsed, minimal = hammer(
            product.base_url, "/bench/minimal/", 4, config.bound_seconds
        )
        values = next(iter(minimal.by_call.values()), [])
        minimal_p = (
            percentile(values, 0.5) * 1000,
            percentile(values, 0.95) * 1000,
            percentile(values, 0.99) * 1000,
        )
        server_version = str(db.value("SHOW server_version"))
        product.stop_all()
        probe = probe_report(product.probe_folder, config) if config.probe else ""
        problems = []
        if not rows:
            problems.append("locust wrote no statistics:\n" + product.tail()[-3000:])
        minimal_errors = sum(minimal.errors.values())
        if minimal_errors:
            problems.append(f"the minimal view answered {minimal_errors} errors: no bound")
        return Result(
            config=config,
            rows=rows,
            failures=failures,
            cpu=cpu_seconds,
            seconds=seconds,
            statements=statements,
            minimal_per_second=requests / elapsed if elapsed else 0.0,
            minimal_p=minimal_p,
            minimal_errors=minimal_errors,
            counts=counts,
            machine={
                **machine(),
                "postgres": server_version,
                "load": f"{load_before} before the load, {load_after} at the end",
            },
            command=command,
            started_at=started_at,
            seed_seconds=seed_seconds,
            problems=problems,
            probe=probe,
            after=after_arrival(times, config),
        )
    except BaseException:
        with contextlib.suppress(Exception):
            out.write(product.tail()[-6000:] + "\n")
        raise
    finally:
        cpu.stopping.set()
        if load_process is not None and load_process.poll() is None:
            load_process.kill()
            load_process.wait()
        product.stop_all()
        db.close()


# --- where the time goes (--probe) -------------------------------------------------------------


def _ms(values: Sequence[float]) -> str:
    """count, p50/p95/p99/max of milliseconds."""
    if not values:
        return "0 | – | – | – | –"
    return (
        f"{len(values)} | {percentile(values, 0.5):.0f} | {percentile(values, 0.95):.0f} | "
        f"{percentile(values, 0.99):.0f} | {max(values):.0f}"
    )


def read_times(path: Path) -> list[tuple[float, str, float]]:
    """locust's per-request record (the locustfile's ``ONESTOP_LOCUST_TIMES``): start
    (epoch seconds), request name, milliseconds."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text("utf-8").splitlines():
        start, rest = line.split(",", 1)
        name, ms, _failed = rest.rsplit(",", 2)
        rows.append((float(start), name, float(ms)))
    return rows


def after_arrival(path: Path, config: Config) -> tuple[int, float, float, float] | None:
    """Count, p50, p95, p99 (ms) of the requests that started once every user had arrived
    (``users / spawn_rate`` seconds after the first request) — the 1,000 users at once,
    with the backlog of their arrival still draining in it. None without times."""
    client = read_times(path)
    if not client:
        return None
    t0 = min(t for t, _, _ in client)
    arrival = config.users / config.spawn_rate if config.spawn_rate else 0.0
    late = [ms for t, _, ms in client if t - t0 >= arrival]
    if not late:
        return None
    return (
        len(late),
        percentile(late, 0.5),
        percentile(late, 0.95),
        percentile(late, 0.99),
    )


def probe_report(folder: Path, config: Config, window: float = 10.0) -> str:
    """The run's latencies split by time, beside what the web workers recorded
    (`onestop.ops.gunicorn_conf`'s probe): per ``window`` seconds from the first request,
    the clients' times, how long requests waited for a worker thread, the threads' own
    times and CPU, and the garbage collections; then the arrival of the users (the first
    ``users / spawn_rate`` seconds) against the rest, per request kind. CPU times hold on a
    busy machine; the waits and pauses in wall time do not."""
    times = folder / "locust-times.csv"
    if not times.exists():
        return "no probe: locust wrote no times\n"
    client = read_times(times)
    if not client:
        return "no probe: no requests\n"
    t0 = min(t for t, _, _ in client)
    t1 = max(t + ms / 1000 for t, _, ms in client)
    waits: list[list[float]] = []  # [queued at, wait, thread, thread CPU] (s)
    pauses: list[list[float]] = []  # [start, generation, pause, CPU] (s)
    for path in sorted(folder.glob("probe-*.json")):
        data = json.loads(path.read_text("utf-8"))
        # Only the locust run's span (not the start's checks, not the bound after it).
        waits += [r for r in data["requests"] if t0 <= r[0] <= t1]
        pauses += [g for g in data["gc"] if t0 <= g[0] <= t1]
    lines = [
        f"**Where the time goes** (`--probe`; windows of {window:g} s from the first request; "
        "ms; *wait*: a request ready in a worker until one of its threads took it; "
        "*thread*: the thread's time for it, and its CPU; GC: the web workers' garbage "
        "collections, their CPU)",
        "",
        "| seconds | requests | p50 | p95 | p99 | max | wait p95 | wait max | thread p95 | "
        "thread CPU p95 | GC ≥ 10 ms CPU | GC CPU (all) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    k = 0
    while t0 + k * window <= t1:
        lo, hi = t0 + k * window, t0 + (k + 1) * window
        values = [ms for t, _, ms in client if lo <= t < hi]
        rows = [r for r in waits if lo <= r[0] < hi]
        g = [p[3] * 1000 for p in pauses if lo <= p[0] < hi]
        lines.append(
            f"| {k * window:.0f}–{(k + 1) * window:.0f} | {_ms(values)} | "
            f"{percentile([r[1] * 1000 for r in rows], 0.95):.0f} | "
            f"{max((r[1] * 1000 for r in rows), default=0):.0f} | "
            f"{percentile([r[2] * 1000 for r in rows], 0.95):.0f} | "
            f"{percentile([r[3] * 1000 for r in rows], 0.95):.0f} | "
            f"{sum(1 for x in g if x >= 10)} | {sum(g):.0f} |"
        )
        k += 1
    arrival = config.users / config.spawn_rate if config.spawn_rate else 0.0
    lines += [
        "",
        f"| request kind | arrival (0–{arrival:.0f} s): n, p50, p95, p99, max | "
        "after: n, p50, p95, p99, max | whole run: n, p50, p95, p99, max |",
        "|---|---|---|---|",
    ]
    for name in [*sorted({n for _, n, _ in client}), "all requests"]:
        picked = [(t, ms) for t, n, ms in client if name in (n, "all requests")]
        early = [ms for t, ms in picked if t - t0 < arrival]
        late = [ms for t, ms in picked if t - t0 >= arrival]
        lines.append(f"| {name} | {_ms(early)} | {_ms(late)} | {_ms([ms for _, ms in picked])} |")
    by_gen: dict[int, list[list[float]]] = {}
    for pause in pauses:
        by_gen.setdefault(int(pause[1]), []).append(pause)
    span = t1 - t0

    def quantiles(index: int) -> str:
        values = [r[index] * 1000 for r in waits]
        return "/".join(f"{percentile(values, q):.1f}" for q in (0.5, 0.95, 0.99))

    lines += [
        "",
        "- GC per generation (count; CPU ms: total, max; pause ms: max): "
        + "; ".join(
            f"gen {gen}: {len(v)}; {sum(p[3] for p in v) * 1000:.0f}, "
            f"{max(p[3] for p in v) * 1000:.1f}; {max(p[2] for p in v) * 1000:.1f}"
            for gen, v in sorted(by_gen.items())
        )
        + f" — over {span:.0f} s",
        f"- requests the web workers recorded: {len(waits)}; wait p50/p95/p99 "
        f"{quantiles(1)} ms; thread p50/p95/p99 {quantiles(2)} ms; thread CPU p50/p95/p99 "
        f"{quantiles(3)} ms, {sum(r[3] for r in waits) * 1000 / max(1, len(waits)):.2f} ms "
        "on average",
        "- the most CPU a request took in a thread (ms, its path, seconds from the start): "
        + ", ".join(
            f"{r[3] * 1000:.0f} {r[4] if len(r) > 4 else '?'} @{r[0] - t0:.0f}"
            for r in sorted(waits, key=lambda r: -r[3])[:8]
        ),
    ]
    return "\n".join(lines) + "\n"


# --- the report ---------------------------------------------------------------------------------


def report(result: Result) -> str:
    c = result.config
    total = next((r for r in result.rows if r.name == "all requests"), None)
    lines = [
        "| request kind | requests | errors | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(result.rows, key=lambda r: (r.name == "all requests", r.name)):
        name = f"**{row.name}**" if row.name == "all requests" else f"`{row.name}`"
        lines.append(
            f"| {name} | {row.requests} | {row.failures} | {row.p50:.0f} | {row.p95:.0f} | "
            f"{row.p99:.0f} | {row.per_second:.1f} |"
        )
    p = result.minimal_p
    lines.append(
        "| bound: `GET /bench/minimal/` (4 clients, same gunicorn, after the load) | – | "
        f"{result.minimal_errors} | "
        f"{p[0]:.1f} | {p[1]:.1f} | {p[2]:.1f} | {result.minimal_per_second:.0f} |"
    )
    lines.append("")
    if total is not None:
        met = "met" if total.p95 < TARGET_P95_MS else "NOT met"
        share = total.per_second / result.minimal_per_second if result.minimal_per_second else 0
        lines.append(
            f"- **all requests: p95 {total.p95:.0f} ms (target < {TARGET_P95_MS:.0f} ms: "
            f"{met})**, {total.per_second:.1f} req/s served ({share:.1%} of the minimal view's "
            f"rate), {total.failures} errors of {total.requests}"
        )
        if result.after is not None:
            n, p50, p95, p99 = result.after
            arrival = c.users / c.spawn_rate if c.spawn_rate else 0.0
            lines.append(
                f"- once every user had arrived (requests started {arrival:.0f} s or more "
                f"after the first, the arrival's backlog still draining): p50 {p50:.0f} / "
                f"p95 {p95:.0f} / p99 {p99:.0f} ms over {n} requests (target < "
                f"{TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'NOT met'}); "
                "the verdict above is the whole run's, arrival included"
            )
        if total.requests:
            web = result.cpu.get("web (gunicorn)", 0.0)
            lines.append(
                f"- per request served: {web / total.requests * 1000:.1f} ms of web CPU "
                f"(gunicorn), {result.cpu.get('postgres', 0.0) / total.requests * 1000:.1f} ms "
                "of PostgreSQL CPU, "
                f"{result.statements / total.requests:.1f} SQL statements (counted in Django's "
                "execute wrapper) — these hold on a busy machine better than the latencies"
            )
    cpu = result.cpu
    order = ["web (gunicorn)", "postgres", "locust (load generator)"]
    parts = [
        f"{kind} {cpu.get(kind, 0.0):.1f} s ({cpu.get(kind, 0.0) / result.seconds:.2f} cores)"
        for kind in order + sorted(k for k in cpu if k not in order)
        if result.seconds
    ]
    lines.append(f"- CPU seconds over the {result.seconds:.0f} s of load: " + ", ".join(parts))
    counts = ", ".join(f"{v} {k}" for k, v in result.counts.items())
    m = result.machine
    lines += [
        f"- data: {counts} ("
        + (
            f"seeded through the product's services in {result.seed_seconds:.0f} s)"
            if result.seed_seconds
            else "a kept run's, reused)"
        ),
        f"- users: {c.users} (parents {MIX['parents']} %, officers {MIX['officers']} %, "
        f"public {MIX['public']} %, department systems {MIX['departments']} %), "
        f"{c.spawn_rate:g} new per second, 3–7 s think time, {c.duration} s",
        f"- date: {result.started_at:%Y-%m-%d %H:%M} UTC",
        f"- command: `{result.command}`",
        f"- web: gunicorn {c.web_workers} workers × {c.web_threads} threads "
        "(`onestop.ops.gunicorn_conf`); no background worker",
        f"- machine: {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, PostgreSQL "
        f"{m['postgres']}, Python {m['python']}; load average (1 min) {m.get('load', '?')}",
    ]
    if result.failures:
        lines.append("- errors: " + "; ".join(result.failures[:8]))
    lines += [f"- **problem**: {problem}" for problem in result.problems]
    if result.probe:
        lines += ["", result.probe]
    return "\n".join(lines) + "\n"


def write_latest(path: Path, text: str) -> None:
    replace_marked_block(
        path, text, start=LATEST_START, end=LATEST_END, heading="### 1,000 users: latest run"
    )


# --- command line -------------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m onestop.ops.bench_users",
        description="1,000 concurrent users with locust against the web tier on PostgreSQL.",
    )
    default = Config()
    parser.add_argument("--users", type=int, default=default.users)
    parser.add_argument("--duration", type=int, default=default.duration, help="seconds")
    parser.add_argument("--spawn-rate", type=float, default=default.spawn_rate)
    parser.add_argument("--cases", type=int, default=default.cases, help="cases to seed")
    parser.add_argument("--officers-per-desk", type=int, default=default.officers_per_desk)
    parser.add_argument("--web-workers", type=int, default=default.web_workers)
    parser.add_argument("--web-threads", type=int, default=default.web_threads)
    parser.add_argument("--bound-seconds", type=float, default=default.bound_seconds)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ONESTOP_TEST_POSTGRES_URL") or DEFAULT_PG_URL,
        help="a PostgreSQL server URL (a fresh database is created there and dropped)",
    )
    parser.add_argument(
        "--page-cache",
        type=int,
        default=None,
        help="pages each web process keeps rendered (ONESTOP_PAGE_CACHE_ENTRIES; 0: none)",
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="record each request's time and the web workers' thread waits and garbage "
        "collections; report them split by time",
    )
    parser.add_argument(
        "--web-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable of the web server (repeatable), e.g. to compare settings",
    )
    parser.add_argument("--write", type=Path, help="update the latest-run block of this file")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument(
        "--reuse",
        default="",
        help="the folder a --keep run printed: load its database again, no seeding",
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.users < 1 or args.duration < 1 or args.cases < 4:
        out.write("--users and --duration must be at least 1, --cases at least 4\n")
        return 2
    config = Config(
        users=args.users,
        duration=args.duration,
        spawn_rate=args.spawn_rate,
        cases=args.cases,
        officers_per_desk=args.officers_per_desk,
        web_workers=args.web_workers,
        web_threads=args.web_threads,
        bound_seconds=args.bound_seconds,
        postgres=args.postgres,
        keep=args.keep,
        reuse=args.reuse,
        page_cache=args.page_cache,
        probe=args.probe,
        web_env=tuple(tuple(item.split("=", 1)) for item in args.web_env),
    )
    out.write(f"\n== {config.users} users, {config.duration} s, PostgreSQL ==\n")
    why = postgres_answers(config.postgres)
    if why is not None:
        out.write(f"PostgreSQL not reachable at {config.postgres} ({why}): skipped.\n")
        return 0
    if not Path(sys.executable).with_name("locust").exists():
        out.write("locust is not installed (a dev dependency: `uv sync`): skipped.\n")
        return 0
    command = (
        f"python -m onestop.ops.bench_users --users {config.users} --duration "
        f"{config.duration} --spawn-rate {config.spawn_rate:g} --cases {config.cases} "
        f"--web-workers {config.web_workers} --web-threads {config.web_threads}"
        + (f" --page-cache {config.page_cache}" if config.page_cache is not None else "")
        + "".join(f" --web-env {name}={value}" for name, value in config.web_env)
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.ops.bench_settings")
    result = run(config, out, command)
    text = report(result)
    out.write("\n" + text)
    if args.write:
        write_latest(args.write, text)
        out.write(f"\nwritten to {args.write}\n")
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
