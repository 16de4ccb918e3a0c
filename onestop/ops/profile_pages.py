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
middleware).

The officers' sign-in, as locust's officers make it (each time another officer, a new
browser, its own address): ``officer-login-page`` (``GET /accounts/login/`` without a
cookie), ``officer-signin`` (``POST /accounts/login/`` with the password and the page's
CSRF token: the 302), ``officer-signin-home`` (the ``GET /`` it redirects to: locust
follows it, in the same request name) and ``officer-first-queue`` (the first ``/work/`` of
the new session). Only the request itself
is timed and counted: the new browser, the page fetched for its token, the sign-in before
the first queue are set up outside. Beside each kind the CPU of the password hash checks
it made is printed apart (the hasher's ``verify`` timed where it is called), and what the
request cost without them. Asserts nothing about speed.
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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from django.test import Client

KINDS = (
    "parent-list",
    "parent-case",
    "parent-messages",
    "officer-queue",
    "officer-task",
    "public-verify",
    "api-tasks",
    "officer-login-page",
    "officer-signin",
    "officer-signin-home",
    "officer-first-queue",
    "minimal",
)
TASK_LINK = re.compile(r'href="(/work/tasks/\d+/)"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Prepared:
    """A request kind whose set-up (a new browser, a sign-in first) is not measured:
    ``prepare()`` makes what ``call(prepared)`` needs; only the call is timed and counted."""

    def __init__(self, prepare: Callable[[], Any], call: Callable[[Any], Any]) -> None:
        self.prepare = prepare
        self.call = call


def _child(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from http.cookies import SimpleCookie

    from django.contrib.auth.hashers import get_hashers
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
    who = plan["officers"][0]
    officer = officer_signed_in(who)
    if officer is None:
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

    # The officers' sign-in: another officer each time (as locust's officers), a new
    # browser with no cookie, its own address behind the trusted proxy.
    officers = itertools.cycle(plan["officers"])

    # One client (its handler loads the middleware once, as a web worker does), its cookies
    # emptied for each new browser.
    signing = Client(enforce_csrf_checks=True)

    def browser() -> tuple[Any, dict[str, str]]:
        n = next(addresses)
        signing.cookies = SimpleCookie()
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        signing.defaults["HTTP_X_FORWARDED_FOR"] = address
        return signing, next(officers)

    def login_page() -> Any:
        return browser()[0]

    def with_token() -> tuple[Any, dict[str, Any]]:
        client, who = browser()
        found = CSRF_INPUT.search(client.get("/accounts/login/").content.decode())
        form = {
            "username": who["username"],
            "password": who["password"],
            "csrfmiddlewaretoken": found.group(1) if found else "",
        }
        return client, form

    def sign_in(prepared: tuple[Any, dict[str, Any]]) -> Any:
        client, form = prepared
        # As a browser (and locust) sends a form: URL-encoded, not the test client's multipart.
        body = urlencode(form)
        answer = client.post("/accounts/login/", body, "application/x-www-form-urlencoded")
        if answer.status_code != 302 or answer["Location"] != "/":
            raise RuntimeError(f"officer sign-in failed: {answer.status_code}")
        return answer

    def signed_in() -> Any:
        prepared = with_token()
        sign_in(prepared)
        return prepared[0]

    requests: dict[str, Callable[[], Any] | Prepared] = {
        "parent-list": as_parent(lambda one: "/my/cases/"),
        "parent-case": as_parent(lambda one: f"/my/cases/{one['cases'][0]}/"),
        "parent-messages": as_parent(lambda one: "/my/messages/"),
        "officer-queue": lambda: officer.get("/work/"),
        "officer-task": lambda: officer.get(rng.choice(links) if links else "/work/"),
        "public-verify": verify,
        "api-tasks": lambda: api.get("/api/v1/tasks"),
        "officer-login-page": Prepared(login_page, lambda client: client.get("/accounts/login/")),
        "officer-signin": Prepared(with_token, sign_in),
        "officer-signin-home": Prepared(signed_in, lambda client: client.get("/")),
        "officer-first-queue": Prepared(signed_in, lambda client: client.get("/work/")),
        "minimal": lambda: public.get("/bench/minimal/"),
    }

    # The password hash checks' own CPU, apart (``verify`` of every hasher, timed where it
    # is called: in the sign-in's authentication).
    hash_cpu = [0.0]
    for hasher in get_hashers():
        _time_verify(type(hasher), hash_cpu)

    def measured(
        kind: str, profiler: cProfile.Profile | None = None
    ) -> tuple[float, int, int, float]:
        """One request of ``kind``: its CPU seconds, statements, status code and the CPU
        seconds of its password hash checks (the set-up of a prepared kind neither timed,
        counted nor profiled)."""
        entry = requests[kind]
        prepared = entry.prepare() if isinstance(entry, Prepared) else None
        before = statements["n"]
        hashed = hash_cpu[0]
        shown.clear()
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        answer = entry.call(prepared) if isinstance(entry, Prepared) else entry()
        spent = time.process_time() - started
        if profiler is not None:
            profiler.disable()
        return spent, statements["n"] - before, answer.status_code, hash_cpu[0] - hashed

    kinds = [k for k in KINDS if not args.kinds or k in args.kinds.split(",")]
    print(f"{'request kind':<18} {'CPU ms/req':>10} {'statements':>10}  status")
    results: dict[str, dict[str, float]] = {}
    with connection.execute_wrapper(count):
        for kind in kinds:
            for _ in range(args.warm):
                measured(kind)
            best = None
            stmts = 0
            hashed = 0.0
            codes: set[int] = set()
            for _round in range(args.rounds):
                spent = 0.0
                stmts = 0
                checks = 0.0
                for _ in range(args.requests):
                    cpu, n, code, hash_seconds = measured(kind)
                    spent += cpu
                    stmts += n
                    checks += hash_seconds
                    codes.add(code)
                spent /= args.requests
                if best is None or spent < best:
                    best, hashed = spent, checks
            assert best is not None
            per = stmts / args.requests
            results[kind] = {"cpu_ms": best * 1000, "statements": per}
            status = ",".join(str(c) for c in sorted(codes))
            print(f"{kind:<18} {best * 1000:>10.2f} {per:>10.1f}  {status}", flush=True)
            if hashed:
                hash_ms = hashed / args.requests * 1000
                rest = best * 1000 - hash_ms
                results[kind].update(hash_cpu_ms=hash_ms, cpu_ms_without_hash=rest)
                print(f"{'  password hash':<18} {hash_ms:>10.2f}")
                print(f"{'  without it':<18} {rest:>10.2f}", flush=True)
            if kind == args.sql:
                measured(kind)
                for number, sql in enumerate(shown, 1):
                    print(f"  {number:>2}. {sql[: args.sql_width]}")
            if kind == args.profile:
                profiler = cProfile.Profile(time.process_time)  # CPU, not waits
                for _ in range(args.requests):
                    measured(kind, profiler)
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


def _time_verify(hasher: type[Any], total: list[float]) -> None:
    """Adds the CPU of each ``hasher.verify`` call to ``total[0]`` (measurement only)."""
    verify = hasher.verify
    if getattr(verify, "timed", False):
        return

    def timed(self: Any, password: str, encoded: str) -> bool:
        started = time.process_time()
        try:
            return bool(verify(self, password, encoded))
        finally:
            total[0] += time.process_time() - started

    timed.timed = True  # type: ignore[attr-defined]
    hasher.verify = timed


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


def officer_signed_in(who: dict[str, Any]) -> Client | None:
    """A test client signed in through the login form as a kept run's officer (``who``:
    its plan's username and password); None, said on stderr, where the sign-in fails."""
    from django.test import Client

    client = Client()
    client.get("/accounts/login/")
    answer = client.post(
        "/accounts/login/", {"username": who["username"], "password": who["password"]}
    )
    if answer.status_code != 302:
        print(f"{who['username']}: sign-in failed ({answer.status_code})", file=sys.stderr)
        return None
    return client


def run_on_kept(
    module: str,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    settings_module: str = "",
    **settings: str,
) -> int:
    """Runs ``module`` again with ``--child`` on a kept `bench_users` run's database and
    data folder (``--reuse``), with ``settings`` as environment variables (the profilers'
    one way in: profile_pages and profile_officer)."""
    from onestop.ops.bench_e2e import with_database
    from onestop.testing.processes import child_env

    root = Path(args.reuse)
    name = (root / "database").read_text("utf-8").strip()
    env = child_env(
        root / "data",
        DATABASE_URL=with_database(args.postgres, name),
        ONESTOP_LOG_LEVEL="WARNING",
        # The parents' pages kept rendered per process (ADR 0026 amendment): 0 measures
        # every request rendered (a page changed each time), the default a page re-read.
        ONESTOP_PAGE_CACHE_ENTRIES=str(args.page_cache),
        **settings,
    )
    if settings_module:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    argv = [a for a in (sys.argv[1:] if argv is None else argv)]
    return subprocess.run(
        [sys.executable, "-m", module, *argv, "--child"],
        env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", env["PYTHONPATH"])},
        cwd=root,
        check=False,
    ).returncode


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        return _child(args)
    return run_on_kept(
        "onestop.ops.profile_pages",
        args,
        argv,
        ONESTOP_TRUSTED_PROXIES="1",
        # The per-client API limit would refuse a few hundred requests a minute from one
        # client; the check and its counter still run on every request.
        ONESTOP_RATE_API="1000000/m",
        settings_module="onestop.ops.bench_settings",  # /bench/minimal/
    )


if __name__ == "__main__":
    sys.exit(main())
