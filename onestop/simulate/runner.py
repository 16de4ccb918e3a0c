"""`onestop simulate`: one process per department system, each with its API credentials,
its webhook receiver and its worker; stops cleanly on SIGTERM/SIGINT (or, with ``--once``,
by itself when no work came for ``--idle`` seconds)."""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from onestop.simulate.credentials import (
    DEPARTMENTS,
    HOOK_PORT_ENV,
    Credential,
    demo_credentials,
    hook_port,
    load_credentials,
)
from onestop.simulate.department import Behaviour, DepartmentSystem, parse_outages


def _rate(value: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return rate


def _outages(value: str) -> tuple[tuple[float, float], ...]:
    try:
        return parse_outages(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _departments(value: str) -> list[str]:
    chosen = [d.strip() for d in value.split(",") if d.strip()]
    unknown = [d for d in chosen if d not in DEPARTMENTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown departments {', '.join(unknown)} (known: {', '.join(DEPARTMENTS)})"
        )
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the platform")
    parser.add_argument(
        "--departments",
        type=_departments,
        default=list(DEPARTMENTS),
        help=f"comma-separated (default: all of {','.join(DEPARTMENTS)})",
    )
    parser.add_argument("--delay", type=float, default=1.0, help="seconds per task (default 1)")
    parser.add_argument("--refusal-rate", type=_rate, default=0.0, help="0..1 (default 0)")
    parser.add_argument(
        "--outage",
        type=_outages,
        default=(),
        metavar="START-END[,START-END…]",
        help="seconds after start during which webhooks get 503 and no task is worked",
    )
    parser.add_argument(
        "--poll", type=float, default=2.0, help="seconds between polls without webhooks"
    )
    parser.add_argument(
        "--safety-poll",
        type=float,
        default=30.0,
        help="seconds between polls while webhooks arrive (a safety net; default 30)",
    )
    parser.add_argument(
        "--once", action="store_true", help="exit when no work came for --idle seconds"
    )
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds for --once")
    parser.add_argument(
        "--credentials",
        type=Path,
        help="JSON list of {department, token, webhook_secret} (default: the demo clients)",
    )
    parser.add_argument(
        "--hook-port-base",
        type=int,
        default=None,
        help=f"webhook receiver ports: base + department index (default ${HOOK_PORT_ENV} or 8100)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="tasks each department system works at the same time (default 4)",
    )
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="claim and complete each task by its own requests, never several in one "
        "(POST /tasks/claims, /tasks/completions)",
    )
    parser.add_argument("--no-webhooks", action="store_true", help="no receivers: polling only")
    parser.add_argument("--seed", type=int, default=None, help="random seed (refusals)")


def run_department(
    department: str,
    base_url: str,
    credentials: Sequence[Credential],
    behaviour: Behaviour,
    port: int | None,
) -> None:
    """The body of one department's process."""
    system = DepartmentSystem(
        department=department,
        base_url=base_url,
        credentials=credentials,
        behaviour=behaviour,
        hook_port=port,
        out=sys.stdout,
    )

    def stop(signum: int, frame: object) -> None:
        system.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    system.run()


def run(args: argparse.Namespace, out: TextIO) -> int:
    credentials = load_credentials(args.credentials) if args.credentials else demo_credentials()
    behaviour = Behaviour(
        delay=args.delay,
        refusal_rate=args.refusal_rate,
        outages=tuple(args.outage),
        poll=args.poll,
        safety_poll=args.safety_poll,
        idle_exit=args.idle if args.once else None,
        seed=args.seed,
        concurrency=max(1, args.concurrency),
        batches=not args.one_at_a_time,
    )
    context = multiprocessing.get_context("spawn")
    children: dict[str, multiprocessing.process.BaseProcess] = {}
    for index, department in enumerate(args.departments):
        mine = [c for c in credentials if c.department == department]
        if not mine:
            out.write(f"[{department}] no credentials: skipped\n")
            continue
        port = None if args.no_webhooks else hook_port(department, args.hook_port_base)
        seeded = Behaviour(**{**behaviour.__dict__, "seed": None})
        if behaviour.seed is not None:
            seeded = Behaviour(**{**behaviour.__dict__, "seed": behaviour.seed + index})
        children[department] = context.Process(
            target=run_department,
            args=(department, args.base_url, mine, seeded, port),
            name=f"onestop-simulate-{department}",
        )
    if not children:
        out.write("no department system to run\n")
        return 2
    out.write(
        f"模拟部门系统 simulated departments: {', '.join(children)} → {args.base_url}"
        f" (delay {args.delay}s, refusal rate {args.refusal_rate})\n"
    )
    out.flush()
    for child in children.values():
        child.start()

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and any(c.is_alive() for c in children.values()):
        time.sleep(0.2)
    for child in children.values():
        if child.is_alive() and child.pid is not None:
            child.terminate()  # SIGTERM: the child stops its loop and receiver
    for child in children.values():
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
    failed = [name for name, c in children.items() if c.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        out.write(f"department processes failed: {', '.join(failed)}\n")
        return 1
    return 0
