"""The officers' pages, item by item (issue 10, parts 3 and 4): ``python -m
onestop.ops.profile_officer --reuse /tmp/onestop-users-… [--dump FOLDER] [--requests 60]
[--profile] [--top 30]``.

`onestop.ops.profile_pages` replays one officer's task pages among the other request
kinds. This tool goes through every desk: the first officer of each desk of a
``bench_users --keep`` run signs in, and up to ``--per-state`` items of each state their
scope holds (waiting, ready, in progress, returned, done, refused, cancelled, …) are
opened — every region, department and state the kept data has — in the product's settings
and middleware, on the kept PostgreSQL database.

- ``--dump FOLDER`` writes each page's HTML (CSRF token values blanked): every chosen task
  page and the queue (both orders, page 2), in Chinese and in English, one file each, to
  compare two trees' output with ``diff -r`` (the same kept data, one after the other).
- Otherwise it measures the task pages and the queue's first render (``--page-cache``
  applies to the parents' pages; the queue is rendered when its stamp is not given back):
  statements per request, Python function calls per request (cProfile, deterministic) and
  CPU milliseconds per request (``time.process_time``, the median of ``--rounds``).
  ``--profile`` prints cProfile's top functions of the task pages. Asserts nothing about
  speed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def _blank(text: str) -> str:
    """The page with its forms' CSRF token values blanked (each render masks anew)."""
    return CSRF.sub(r"\1-\2", text)


def _child(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from onestop.accounts.models import User
    from onestop.accounts.permissions import items_for_officer
    from onestop.ops.profile_pages import officer_signed_in
    from onestop.workflow.models import CaseItem

    plan = json.loads((Path(args.reuse) / "plan.json").read_text("utf-8"))
    desks = [o for o in plan["officers"] if o["username"].endswith("-0")][: args.desks or None]
    statements = {"n": 0}

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        statements["n"] += 1
        return execute(sql, params, many, ctx)

    # (officer, client, state, path) of every task page chosen.
    pages: list[tuple[str, Client, str, str]] = []
    queues: list[tuple[str, Client, str]] = []
    for who in desks:
        client = officer_signed_in(who)
        if client is None:
            return 1
        user = User.objects.get(username=who["username"])
        ids: dict[str, list[int]] = {}
        for pk, state in (
            items_for_officer(user, CaseItem.objects.all())
            .order_by("pk")
            .values_list("pk", "state")
        ):
            ids.setdefault(state, []).append(pk)
        for state, found in sorted(ids.items()):
            step = max(1, len(found) // args.per_state)
            for pk in found[::step][: args.per_state]:
                pages.append((who["username"], client, state, f"/work/tasks/{pk}/"))
        pages.append((who["username"], client, "absent", "/work/tasks/999999999/"))
        for path in ("/work/", "/work/?order=new", "/work/?page=2"):
            queues.append((who["username"], client, path))
    states: dict[str, int] = {}
    for _o, _c, state, _p in pages:
        states[state] = states.get(state, 0) + 1
    print(f"{len(desks)} desks, {len(pages)} task pages: {states}", flush=True)

    if args.dump:
        out = Path(args.dump)
        for language in ("zh-hans", "en"):
            for officer, client, state, path in pages + [(o, c, "queue", p) for o, c, p in queues]:
                client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
                answer = client.get(path)
                name = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
                target = out / language / officer / f"{state}-{name}.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(
                    f"{answer.status_code}\n{_blank(answer.content.decode())}", "utf-8"
                )
        for _o, client, _s, _p in pages:
            client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
        print(f"written to {out}")
        return 0

    task_pages = [(c, p) for _o, c, s, p in pages if s != "absent"]
    queue_pages = [(c, p) for _o, c, p in queues if p == "/work/"]

    def measure(label: str, calls: list[tuple[Any, str]]) -> None:
        n = args.requests
        chosen = [calls[i % len(calls)] for i in range(n)]
        for client, path in chosen[: args.warm]:
            client.get(path)
        spent = []
        codes: set[int] = set()
        with connection.execute_wrapper(count):
            for _round in range(args.rounds):
                statements["n"] = 0
                started = time.process_time()
                for client, path in chosen:
                    codes.add(client.get(path).status_code)
                spent.append((time.process_time() - started) / n * 1000)
                per = statements["n"] / n
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for client, path in chosen:
            client.get(path)
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        calls_per = stats.total_calls / n  # type: ignore[attr-defined]
        rounds = " ".join(f"{s:.2f}" for s in spent)
        print(
            f"{label:<14} statements/req {per:6.2f}  Python calls/req {calls_per:9.0f}  "
            f"CPU ms/req median {statistics.median(spent):6.2f} (rounds {rounds})  "
            f"status {','.join(map(str, sorted(codes)))}",
            flush=True,
        )
        if args.profile and label == "task":
            if args.dump_stats:
                stats.dump_stats(args.dump_stats)
            stats.sort_stats(args.sort).print_stats(args.top)
            print(text.getvalue())

    if args.per_state_statements:
        with connection.execute_wrapper(count):
            by_state: dict[str, set[int]] = {}
            for _o, client, state, path in pages:
                client.get(path)  # once before: what a first read of the process compiles
                statements["n"] = 0
                client.get(path)
                by_state.setdefault(state, set()).add(statements["n"])
        print("statements by state:", {k: sorted(v) for k, v in sorted(by_state.items())})
    measure("task", task_pages)
    measure("queue", queue_pages)
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", required=True, help="a folder a bench_users --keep run left")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--desks", type=int, default=0, help="the first N desks (0: all)")
    parser.add_argument("--per-state", type=int, default=3, help="items per state and desk")
    parser.add_argument("--requests", type=int, default=120, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="the median round counts")
    parser.add_argument("--warm", type=int, default=40, help="requests before measuring")
    parser.add_argument("--page-cache", type=int, default=0, help="ONESTOP_PAGE_CACHE_ENTRIES")
    parser.add_argument("--dump", default="", help="write the pages' HTML to this folder")
    parser.add_argument("--profile", action="store_true", help="print the task pages' profile")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--dump-stats", default="", help="also write the profile to this file")
    parser.add_argument(
        "--per-state-statements", action="store_true", help="statements per page by state"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        return _child(args)
    from onestop.ops.profile_pages import run_on_kept

    return run_on_kept("onestop.ops.profile_officer", args, argv)


if __name__ == "__main__":
    sys.exit(main())
