"""Web CPU per case, profiled in process (issue 10: "593 ms of web CPU per case").

One case is what the end-to-end benchmark's web tier serves for it: the birth hospital's
system submits it (``POST /api/v1/cases``) and the department systems work every task
to the end — list the ready tasks, read each, claim it, complete it — through the
product's own API views and middleware (Django's test client, the database cache and the
rate limit as in production), as ``onestop simulate`` does over HTTP and as
``onestop/integration/tests/test_api_cost.py`` counts statements.

It prints, for the measured cases (after one warm-up case, so per-process caches are
warm as a running server has them):

- CPU milliseconds per call kind (``time.process_time`` around each call: this process's
  CPU, Django and the driver; PostgreSQL's backend is another process and not included),
  median and total per case;
- the top functions by cumulative CPU time (``cProfile`` with ``time.process_time`` as its
  clock, around the API calls only), from as many further cases run under the profiler
  (its overhead is kept out of the figures above).

Not a test and not a benchmark of the machine: no timings are asserted anywhere. Run::

    python -m onestop.ops.profile_case                       # PostgreSQL, qinbei, 5 cases
    python -m onestop.ops.profile_case --region lanzhou --cases 10 --top 40
    python -m onestop.ops.profile_case --sqlite              # no server: a temporary file
    python -m onestop.ops.profile_case --profile-out /tmp/case.prof   # for snakeviz/pstats

On PostgreSQL it creates a database ``onestop_profile_<random>`` on the server
(``--postgres``, else ``ONESTOP_TEST_POSTGRES_URL``, else the local default) and drops it
afterwards; the data folder (keys, uploads) is a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REGIONS = {
    "qinbei": "qinbei-accept",
    "lanzhou": "lanzhou-accept",
    "fuzhou": "fuzhou-accept",
    "yuanling": "yuanling-accept-trustee",
    "jilin": "jilin-accept-counter",
}


@dataclass
class Profile:
    """CPU seconds per call kind, per measured case; the cProfile of the measured calls."""

    cases: int = 0
    cpu: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # CPU time, not wall time: waiting for PostgreSQL is not this process's cost.
    profiler: cProfile.Profile = field(default_factory=lambda: cProfile.Profile(time.process_time))
    # Only calls of this kind under cProfile (``--kind``, e.g. "POST /api/v1/cases"); "" all.
    profiled_kind: str = ""

    def per_case_ms(self) -> float:
        return sum(sum(v) for v in self.cpu.values()) * 1000 / max(1, self.cases)

    def table(self) -> str:
        lines = [
            "| API call | calls per case | CPU ms per call (median) | CPU ms per case |",
            "|---|---:|---:|---:|",
        ]
        for kind in sorted(self.cpu):
            values = self.cpu[kind]
            lines.append(
                f"| `{kind}` | {len(values) / max(1, self.cases):.1f} "
                f"| {statistics.median(values) * 1000:.1f} "
                f"| {sum(values) * 1000 / max(1, self.cases):.1f} |"
            )
        lines.append(f"| **one case** | | | **{self.per_case_ms():.1f}** |")
        return "\n".join(lines)

    def top(self, count: int, sort: str) -> str:
        out = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=out)
        stats.strip_dirs().sort_stats(sort).print_stats(count)
        return out.getvalue()


def call_kind(method: str, path: str) -> str:
    from onestop.testing.costs import call_kind as kind

    return kind(method, path)


class _Driver:
    """Department systems' calls through Django's test client, each one measured."""

    def __init__(self, profile: Profile | None, cprofile: bool, client: Any) -> None:
        self.client = client
        self.profile = profile
        self.cprofile = cprofile

    @contextlib.contextmanager
    def _measure(self, method: str, url: str) -> Iterator[None]:
        if self.profile is None:
            yield
            return
        if self.cprofile:  # its own cases: the profiler's overhead is not in the CPU figures
            wanted = self.profile.profiled_kind
            if wanted and call_kind(method, url.split("?")[0]) != wanted:
                yield
                return
            self.profile.profiler.enable()
            try:
                yield
            finally:
                self.profile.profiler.disable()
            return
        started = time.process_time()
        yield
        spent = time.process_time() - started
        self.profile.cpu[call_kind(method, url.split("?")[0])].append(spent)

    def __call__(self, cred: Any, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {cred.token}", "Idempotency-Key": str(uuid.uuid4())}
        url = f"/api/v1{path}"
        payload = json.dumps(body or {}, ensure_ascii=False) if method != "GET" else ""
        with self._measure(method, url):
            if method == "GET":
                answer = self.client.get(url, headers=headers)
            else:
                answer = self.client.post(
                    url, payload, content_type="application/json", headers=headers
                )
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.content[:300]!r}")
        return answer.json()


def _document(region: str, index: int, run: str) -> dict[str, Any]:
    from onestop.ops.bench_e2e import bench_document, shift_dates

    template = json.loads((EXAMPLES / f"{REGIONS[region]}.json").read_text("utf-8"))
    shift_dates(template, datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=5))
    return bench_document(template, index, run)


def drive_case(
    region: str,
    index: int,
    run: str,
    profile: Profile | None,
    cprofile: bool = False,
    client: Any = None,
) -> str:
    """Submit one case of ``region`` and work it to the end; its number. ``client``: the
    Django test client to call through — one for every case, as a server's worker serves
    them all: a new client loads the middleware on its first request (whitenoise lists
    every static file), which a running server did once at start."""
    from django.test import Client

    from onestop.cases.models import Case
    from onestop.simulate.credentials import demo_credentials
    from onestop.testing.drive import work_every_task
    from onestop.testing.preview import preview_sign

    credentials = [c for c in demo_credentials() if c.key_id.startswith(f"osk_{region}_")]
    call = _Driver(profile, cprofile, client if client is not None else Client())
    hospital = next(c for c in credentials if c.department == "hospital")
    number = str(call(hospital, "POST", "/cases", _document(region, index, run))["number"])
    listing = "/tasks?state=ready&limit=100"
    work_every_task(call, credentials, listing=listing)
    # Fuzhou holds the birth certificate for the applicant's e-signature (ADR 0035).
    if preview_sign(Case.objects.get(number=number)) is not None:
        work_every_task(call, credentials, listing=listing)
    status = Case.objects.filter(number=number).values_list("status", flat=True).first()
    if status != "completed":
        raise RuntimeError(f"case {number} ended {status!r}, not completed")
    if profile is not None and not cprofile:
        profile.cases += 1
    return number


def drive_cases_in_batches(
    region: str,
    indexes: range,
    run: str,
    profile: Profile | None,
    client: Any,
    cprofile: bool = False,
) -> None:
    """Submit the cases of ``indexes`` of ``region``, then work their tasks as a system
    holding several does: each department's ready tasks claimed in one request and
    completed in one (`work_every_task_in_batches`; issue 10, session 26)."""
    from onestop.cases.models import Case
    from onestop.simulate.credentials import demo_credentials
    from onestop.testing.drive import work_every_task_in_batches
    from onestop.testing.preview import preview_sign

    credentials = [c for c in demo_credentials() if c.key_id.startswith(f"osk_{region}_")]
    call = _Driver(profile, cprofile, client)
    hospital = next(c for c in credentials if c.department == "hospital")
    numbers = [
        str(call(hospital, "POST", "/cases", _document(region, index, run))["number"])
        for index in indexes
    ]
    listing = "/tasks?state=ready&limit=50"
    work_every_task_in_batches(call, credentials, listing=listing)
    if any(preview_sign(case) is not None for case in Case.objects.filter(number__in=numbers)):
        work_every_task_in_batches(call, credentials, listing=listing)
    statuses = set(Case.objects.filter(number__in=numbers).values_list("status", flat=True))
    if statuses != {"completed"}:
        raise RuntimeError(f"cases {numbers} ended {statuses!r}, not all completed")
    if profile is not None and not cprofile:
        profile.cases += len(numbers)


def profile_cases(
    region: str, cases: int, warm: int = 1, profiled: int = 0, kind: str = "", batch: int = 0
) -> Profile:
    """Warm up with ``warm`` cases, measure the CPU of ``cases`` more, then run
    ``profiled`` more under cProfile (the current database; only the calls of ``kind``
    if given)."""
    from django.test import Client

    run = uuid.uuid4().hex[:8]
    client = Client()
    client.get("/healthz")  # the middleware loaded, as a server's worker has it
    for index in range(warm):
        drive_case(region, index, run, None, client=client)
    profile = Profile(profiled_kind=kind)
    if batch > 1:  # ``batch`` cases at a time, their tasks worked by the batch endpoints
        drive_cases_in_batches(region, range(warm, warm + batch), run, None, client)
        start = warm + batch
        for first in range(start, start + cases, batch):
            indexes = range(first, min(first + batch, start + cases))
            drive_cases_in_batches(region, indexes, run, profile, client)
        start += cases
        for first in range(start, start + profiled, batch):
            indexes = range(first, min(first + batch, start + profiled))
            drive_cases_in_batches(region, indexes, run, profile, client, cprofile=True)
        return profile
    for index in range(warm, warm + cases):
        drive_case(region, index, run, profile, client=client)
    for index in range(warm + cases, warm + cases + profiled):
        drive_case(region, index, run, profile, cprofile=True, client=client)
    return profile


def _prepare_database() -> None:
    from django.core.management import call_command

    from onestop.ops.demo import _api_clients, demo_webhooks
    from onestop.reference.services import reference_seed

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    reference_seed()
    _api_clients()
    # As in the end-to-end benchmark: every department system subscribes to webhooks, so
    # the deliveries a case queues are part of what it costs (they are sent by the worker).
    demo_webhooks(enabled=True)


@contextlib.contextmanager
def _database(args: argparse.Namespace, folder: Path) -> Iterator[str]:
    if args.sqlite:
        yield f"sqlite:///{folder / 'profile.sqlite3'}"
        return
    from onestop.ops.bench_e2e import postgres_answers, with_database

    server = args.postgres or os.environ.get("ONESTOP_TEST_POSTGRES_URL") or DEFAULT_PG_URL
    problem = postgres_answers(server)
    if problem:
        raise SystemExit(f"PostgreSQL at {server} does not answer ({problem}); try --sqlite")
    import psycopg

    name = f"onestop_profile_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server, name)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onestop.ops.profile_case", description=__doc__)
    parser.add_argument("--region", choices=sorted(REGIONS), default="qinbei")
    parser.add_argument("--cases", type=int, default=5, help="profiled cases (after 1 warm-up)")
    parser.add_argument("--top", type=int, default=30, help="functions listed (0: none)")
    parser.add_argument("--sort", default="cumulative", help="pstats order (cumulative, tottime)")
    parser.add_argument("--postgres", help=f"server URL (default {DEFAULT_PG_URL})")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    parser.add_argument("--profile-out", help="write the cProfile stats to this file")
    parser.add_argument(
        "--kind", default="", help='profile only this call kind, e.g. "POST /api/v1/cases"'
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="submit this many cases at a time and work their tasks by the batch endpoints "
        "(POST /tasks/claims, /tasks/completions) instead of one task at a time",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="onestop-profile-") as tmp:
        folder = Path(tmp)
        with _database(args, folder) as url:
            os.environ["DATABASE_URL"] = url
            os.environ["ONESTOP_DATA_DIR"] = str(folder)
            os.environ["ONESTOP_SEAL_KEYS_DIR"] = str(folder / "seal-keys")
            os.environ["ONESTOP_RATE_API"] = "1000000/m"  # as bench_e2e: checked, never hit
            os.environ.setdefault("ONESTOP_LOG_LEVEL", "WARNING")
            os.environ["DJANGO_SETTINGS_MODULE"] = "onestop.config.settings"
            import django

            django.setup()
            from django.db import connection

            _prepare_database()
            profiled = args.cases if args.top or args.profile_out else 0
            profile = profile_cases(
                args.region, args.cases, profiled=profiled, kind=args.kind, batch=args.batch
            )
            vendor = connection.vendor
        if args.profile_out:
            profile.profiler.dump_stats(args.profile_out)
        print(
            f"# Web CPU per case: {args.cases} {args.region} case(s) after 1 warm-up, "
            f"{vendor}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
        )
        print(profile.table())
        if args.top:
            print()
            print(profile.top(args.top, args.sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())
