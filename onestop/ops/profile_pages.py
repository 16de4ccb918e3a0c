"""CPU and SQL statements per request kind of the 1,000-users mix, in process (issue 10,
part 3): ``python -m onestop.ops.profile_pages --reuse /tmp/onestop-users-… [--requests 40]
[--profile parent-case] [--top 25]``.

The load test (`onestop.ops.bench_users`) measures latencies that, on a shared 2-core box,
are mostly queueing behind other jobs. What a request *costs* holds under any load: this
tool replays each request kind of the locust mix (`onestop/ops/locustfile.py`) through
Django's test client — the product's settings, every middleware, the kept PostgreSQL
database of a ``bench_users --keep`` run, its keys — warm (a few requests first), and
prints per kind: CPU milliseconds per request (``time.process_time`` of this process:
Django, templates, the ORM, the database driver; PostgreSQL's own CPU is not in it), SQL
statements per request, and the answer's status. ``--profile KIND`` adds cProfile's top
functions of that kind (``--sort tottime`` or ``cumulative``).

The request kinds: ``parent-list`` (``/my/cases/``), ``parent-case`` (``/my/cases/<number>/``),
``parent-messages`` (``/my/messages/``), ``officer-queue`` (``/work/``), ``officer-task``
(``/work/tasks/<id>/``), ``public-verify`` (``/verify/<serial>/``, each request from its own
address as behind the trusted proxy), ``api-tasks`` (``GET /api/v1/tasks``) and, as the
floor, ``minimal`` (``/bench/minimal/``: a minimal Django view through the same
middleware). Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

KINDS = (
    "parent-list",
    "parent-case",
    "parent-messages",
    "officer-queue",
    "officer-task",
    "public-verify",
    "api-tasks",
    "minimal",
)
TASK_LINK = re.compile(r'href="(/work/tasks/\d+/)"')


def _child(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from onestop.ops.bench_e2e import MINIMAL_TABLE_SQL

    plan = json.loads((Path(args.reuse) / "plan.json").read_text("utf-8"))
    with connection.cursor() as cursor:  # the bound's table (bench_e2e drops it after a run)
        cursor.execute(MINIMAL_TABLE_SQL)
    rng = random.Random(7)
    statements = {"n": 0}
    shown: list[str] = []

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        statements["n"] += 1
        shown.append(sql)
        return execute(sql, params, many, ctx)

    parent = Client()
    officer = Client()
    who = plan["officers"][0]
    officer.get("/accounts/login/")
    answer = officer.post(
        "/accounts/login/", {"username": who["username"], "password": who["password"]}
    )
    if answer.status_code != 302:
        print(f"officer sign-in failed: {answer.status_code}", file=sys.stderr)
        return 1
    links = TASK_LINK.findall(officer.get("/work/").content.decode())
    public = Client()
    addresses = iter(range(1, 10**7))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {plan['api_tokens'][0]}")
    # --verify-serials N: the public asks about the first N serials only (1: the same
    # licence every time, the kept answer of `certificates.kept`); 0: any of them.
    serials = plan["serials"][: args.verify_serials or None] or ["none"]

    # Eight parents in turn (different cases and regions); few enough that each one's
    # session was written by the warm-up (the idle timeout's last-seen time is written
    # at most every 30 s per person: in the load test, about one request in six).
    parents = itertools.cycle(plan["parents"][:8])

    def as_parent(path: Callable[[dict[str, Any]], str]) -> Callable[[], Any]:
        def call() -> Any:
            one = next(parents)
            parent.cookies["sessionid"] = one["session"]
            return parent.get(path(one))

        return call

    def verify() -> Any:
        n = next(addresses)
        return public.get(
            f"/verify/{rng.choice(serials)}/",
            HTTP_X_FORWARDED_FOR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
        )

    requests: dict[str, Callable[[], Any]] = {
        "parent-list": as_parent(lambda one: "/my/cases/"),
        "parent-case": as_parent(lambda one: f"/my/cases/{one['cases'][0]}/"),
        "parent-messages": as_parent(lambda one: "/my/messages/"),
        "officer-queue": lambda: officer.get("/work/"),
        "officer-task": lambda: officer.get(rng.choice(links) if links else "/work/"),
        "public-verify": verify,
        "api-tasks": lambda: api.get("/api/v1/tasks"),
        "minimal": lambda: public.get("/bench/minimal/"),
    }
    kinds = [k for k in KINDS if not args.kinds or k in args.kinds.split(",")]
    print(f"{'request kind':<18} {'CPU ms/req':>10} {'statements':>10}  status")
    results: dict[str, dict[str, float]] = {}
    with connection.execute_wrapper(count):
        for kind in kinds:
            call = requests[kind]
            for _ in range(args.warm):
                call()
            best = None
            stmts = 0
            codes: set[int] = set()
            for _round in range(args.rounds):
                statements["n"] = 0
                started = time.process_time()
                for _ in range(args.requests):
                    codes.add(call().status_code)
                spent = (time.process_time() - started) / args.requests
                stmts = statements["n"]
                best = spent if best is None else min(best, spent)
            assert best is not None
            per = stmts / args.requests
            results[kind] = {"cpu_ms": best * 1000, "statements": per}
            status = ",".join(str(c) for c in sorted(codes))
            print(f"{kind:<18} {best * 1000:>10.2f} {per:>10.1f}  {status}", flush=True)
            if kind == args.sql:
                shown.clear()
                call()
                for number, sql in enumerate(shown, 1):
                    print(f"  {number:>2}. {sql[: args.sql_width]}")
            if kind == args.profile:
                profiler = cProfile.Profile(time.process_time)  # CPU, not waits
                profiler.enable()
                for _ in range(args.requests):
                    call()
                profiler.disable()
                text = io.StringIO()
                stats = pstats.Stats(profiler, stream=text)
                if args.dump:
                    stats.dump_stats(args.dump)
                restrict = [args.only, args.top] if args.only else [args.top]
                stats.sort_stats(args.sort).print_stats(*restrict)
                print(text.getvalue())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), "utf-8")
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", required=True, help="a folder a bench_users --keep run left")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=40, help="requests per round and kind")
    parser.add_argument("--rounds", type=int, default=3, help="the best round counts")
    parser.add_argument("--warm", type=int, default=5, help="requests before measuring")
    parser.add_argument(
        "--page-cache",
        type=int,
        default=1000,
        help="parents' pages kept rendered per process (0: render every request)",
    )
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    parser.add_argument(
        "--verify-serials",
        type=int,
        default=0,
        help="public-verify asks about the first N serials only (1: a re-read; 0: any)",
    )
    parser.add_argument("--profile", default="", choices=("", *KINDS))
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--only", default="", help="profile lines matching this regex, e.g. onestop"
    )
    parser.add_argument("--dump", default="", help="also write --profile's stats to this file")
    parser.add_argument("--sql", default="", choices=("", *KINDS), help="print its statements")
    parser.add_argument("--sql-width", type=int, default=160)
    parser.add_argument("--json", default="", help="also write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        return _child(args)
    from onestop.ops.bench_e2e import with_database
    from onestop.testing.processes import child_env

    root = Path(args.reuse)
    name = (root / "database").read_text("utf-8").strip()
    env = child_env(
        root / "data",
        DATABASE_URL=with_database(args.postgres, name),
        ONESTOP_TRUSTED_PROXIES="1",
        ONESTOP_LOG_LEVEL="WARNING",
        # The per-client API limit would refuse a few hundred requests a minute from one
        # client; the check and its counter still run on every request.
        ONESTOP_RATE_API="1000000/m",
        # The parents' pages kept rendered per process (ADR 0026 amendment): 0 measures
        # every request rendered (a page changed each time), the default a page re-read.
        ONESTOP_PAGE_CACHE_ENTRIES=str(args.page_cache),
    )
    env["DJANGO_SETTINGS_MODULE"] = "onestop.ops.bench_settings"  # /bench/minimal/
    argv = [a for a in (sys.argv[1:] if argv is None else argv)]
    return subprocess.run(
        [sys.executable, "-m", "onestop.ops.profile_pages", *argv, "--child"],
        env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", env["PYTHONPATH"])},
        cwd=root,
        check=False,
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
