"""The `onestop` command line (`spec/interfaces.md`).

- ``onestop check CASE.json [--at T]``: pre-review; JSON on stdout; exit 0 for any
  decision, 2 with a one-line error on stderr for an unreadable document.
- ``onestop deadline --region R --item I --received T [--assume-weekends]``: the due time.
- ``onestop demo``: pre-review of the shipped example cases, printed as a table.
- ``onestop packs``: the loaded policy packs and their versions.
- ``onestop guide --region R [--format markdown|json] [--at DATE]``: a region's service guide
  (办事指南) from its pack and the catalogue; Markdown (default) or JSON on stdout; exit 2
  with a one-line error for an unknown region.
- ``onestop verify QR_CONTENT [--keys keys.json|URL|DIR]``: offline e-seal verification;
  JSON on stdout; exit 0 valid, 1 not valid, 2 unreadable input or keys.
- ``onestop serve``: the product (web server + worker) with demo data.
- ``onestop worker``: the background worker alone.
- ``onestop audit-verify``: check the audit log (keyed chains, signed anchors); exit 0
  intact, 1 with each problem listed (the same as ``manage.py audit_verify``).
- ``onestop simulate``: department systems working through the HTTP API and webhooks.
- ``onestop gen-cases --count N [--database-url URL]``: fill a PostgreSQL database with N
  generated cases for the scale benchmark (`onestop.ops.gencases`), and their ratings;
  ``--ratings-only`` adds only the ratings to a database generated before.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

from onestop.core.clock import BEIJING, end_of_day, format_time, parse_time, to_beijing
from onestop.core.errors import OnestopError, UnreadableDocument

EXAMPLES = Path(__file__).parent / "examples"


class _Fail(Exception):
    """Stop with exit status 2 and this one-line message on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other error: the usage is one `--help` away.
        raise _Fail(f"{message} (see: {self.prog} --help)")


def _time_arg(value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {value!r}: use ISO 8601, e.g. 2026-11-20T09:30:00+08:00"
        ) from None


def _data_dirs(args: argparse.Namespace) -> tuple[Path, ...]:
    from onestop.policy.loader import extra_data_dirs_from_env

    dirs = extra_data_dirs_from_env() + tuple(Path(d) for d in args.extra_data or ())
    for folder in dirs:
        if not folder.is_dir():
            raise _Fail(f"extra data folder {folder} does not exist")
    return dirs


def _registries(args: argparse.Namespace) -> tuple[Any, Any]:
    from onestop.policy.loader import load_packs
    from onestop.reference.domain import load_reference

    dirs = _data_dirs(args)
    packs = load_packs(dirs)
    reference = load_reference([d / "reference" for d in dirs if (d / "reference").is_dir()])
    return packs, reference


def _read_input(source: str) -> object:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise _Fail(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Fail(f"{source} is not UTF-8 text") from None
    if not text.strip():
        raise _Fail(f"{source} is empty, not a case document")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _Fail(f"{source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise _Fail(f"{source} is nested too deeply to be a case document") from None


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.eligibility.check import check_case

    raw = _read_input(args.case)
    packs, reference = _registries(args)
    now = datetime.now(BEIJING)
    documents = raw if isinstance(raw, list) else [raw]
    results = []
    for index, document in enumerate(documents):
        try:
            decision = check_case(document, packs=packs, reference=reference, now=now, at=args.at)
        except UnreadableDocument as exc:
            where = f"case [{index}]: " if isinstance(raw, list) else ""
            raise _Fail(f"{where}not a readable case document: {exc.message}") from None
        results.append(decision.as_json())
    body: object = results if isinstance(raw, list) else results[0]
    out.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    return 0


def _cmd_deadline(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.calendar.clock_rules import ClockRule, due_time
    from onestop.calendar.domain import load_default_calendar

    packs, _reference = _registries(args)
    received = to_beijing(args.received)
    pack = packs.current(args.region, received)
    if pack is None:
        raise _Fail(f"unknown region {args.region!r} (known: {', '.join(packs.regions)})")
    entry = pack.item(args.item)
    if entry is None:
        raise _Fail(
            f"region {args.region} does not offer item {args.item!r} "
            f"(offered: {', '.join(pack.offered)})"
        )
    limit = entry.time_limit
    if limit.days is None:
        raise _Fail(f"item {args.item} has no time limit in the {args.region} pack")
    if limit.unit == "calendar_days":
        due = end_of_day(received.date() + timedelta(days=limit.days))
    else:
        calendar = load_default_calendar(assume_weekends=args.assume_weekends)
        due = due_time(calendar, ClockRule(pack.clock_rule), received, limit.days)
    body = {
        "due": format_time(due),
        "region": pack.region,
        "item": entry.item,
        "received": format_time(received),
        "time_limit_days": limit.days,
        "unit": limit.unit,
        "clock_rule": pack.clock_rule,
        "pack_version": pack.version,
    }
    out.write(json.dumps(body, ensure_ascii=False) + "\n")
    return 0


def _cmd_packs(args: argparse.Namespace, out: TextIO) -> int:
    packs, _reference = _registries(args)
    for region in packs.regions:
        for pack in packs.versions[region]:
            items = ", ".join(pack.offered)
            out.write(f"{region}\t{pack.version}\t{pack.effective_from}\t{pack.name}\t{items}\n")
    return 0


def _region_named(packs: Any, given: str, at: datetime) -> str | None:
    """The region ``given`` names: its code (any case), or a word of its name (兰州, 钦北,
    Lanzhou) that names one region only."""
    text = given.strip()
    if text.lower() in packs.regions:
        return str(text.lower())
    if not text:
        return None
    found = set()
    for region in packs.regions:
        pack = packs.current(region, at) or packs.versions[region][-1]
        if text in pack.name or pack.name_en.lower().startswith(text.lower()):
            found.add(region)
    return found.pop() if len(found) == 1 else None


def _cmd_guide(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.eligibility.guide_book import guide_markdown, service_guide

    packs, _reference = _registries(args)
    at = to_beijing(args.at) if args.at is not None else datetime.now(BEIJING)
    region = _region_named(packs, args.region, at)
    if region is None:
        raise _Fail(f"unknown region {args.region!r} (known: {', '.join(packs.regions)})")
    pack = packs.current(region, at)  # before the first version: the first version
    assert pack is not None
    guide = service_guide(pack)
    if args.format == "json":
        out.write(json.dumps(guide.as_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(guide_markdown(guide))
    return 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.eligibility.check import check_case

    packs, reference = _registries(args)
    now = datetime.now(BEIJING)
    out.write("出生一件事 — pre-review of the example cases (onestop/examples)\n\n")
    for path in sorted(EXAMPLES.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        decision = check_case(raw, packs=packs, reference=reference, now=now)
        codes = ", ".join(r.code for r in decision.reasons) or "-"
        out.write(f"{path.stem:<40} {decision.outcome.value:<11} {codes}\n")
        for reason in decision.reasons:
            out.write(f"{'':<42}· {reason.message}\n")
        if decision.outcome.value == "accept":
            for planned in decision.plan:
                after = ", ".join(planned.after) or "—"
                unit = decision.time_limit_units.get(planned.item, "working_days")
                limit = (
                    "no time limit"
                    if planned.time_limit_days is None
                    else f"{planned.time_limit_days} {unit.replace('_', ' ')}"
                )
                out.write(
                    f"{'':<42}→ {planned.item} ({planned.department}; after {after}; {limit})\n"
                )
    return 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.certificates.offline import load_keys, verify_offline
    from onestop.certificates.seal import SealFormatError, parse_content

    content = sys.stdin.read() if args.content == "-" else args.content
    try:
        keys = load_keys(args.keys)
    except (OSError, SealFormatError) as exc:
        raise _Fail(f"cannot read the public keys {args.keys or ''}: {exc}") from None
    try:
        parse_content(content)
    except (SealFormatError, ValueError):
        raise _Fail("not the QR content of an e-licence (OS1.<document>.<signature>)") from None
    body = verify_offline(content, keys)
    out.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    return 0 if body["valid"] else 1


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.ops.serve import serve

    return serve(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir),
        out=out,
        simulate=args.simulate,
        demo=args.demo,
    )


def _cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.simulate.runner import run

    return run(args, out)


def _cmd_worker(args: argparse.Namespace, out: TextIO) -> int:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["onestop", "worker"])
    return 0


def _cmd_audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.config.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["onestop", "audit_verify", *(["--alert"] if args.alert else [])])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _cmd_gen_cases(args: argparse.Namespace, out: TextIO) -> int:
    import os

    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.config.settings")
    from django.core.management import execute_from_command_line

    argv = ["onestop", "gen_cases", "--count", str(args.count), "--chunk", str(args.chunk)]
    argv += ["--seed", str(args.seed)] + (["--prepare"] if args.prepare else [])
    argv += ["--ratings-only"] if args.ratings_only else []
    execute_from_command_line(argv)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="onestop", description="出生一件事: the newborn one-stop platform")
    parser.add_argument(
        "--extra-data",
        action="append",
        metavar="DIR",
        help="extra data folder with packs/*.yaml and reference/*.csv (repeatable)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser("check", help="pre-review case documents (JSON out)")
    check.add_argument("case", help="case document file, or - for stdin")
    check.add_argument("--at", type=_time_arg, help="evaluation time (ISO 8601)")
    check.set_defaults(run=_cmd_check)

    deadline = commands.add_parser("deadline", help="when an item received at a time is due")
    deadline.add_argument("--region", required=True)
    deadline.add_argument("--item", required=True)
    deadline.add_argument("--received", required=True, type=_time_arg)
    deadline.add_argument(
        "--assume-weekends",
        action="store_true",
        help="for years the calendar has no data for, count Monday–Friday as working days",
    )
    deadline.set_defaults(run=_cmd_deadline)

    packs = commands.add_parser("packs", help="list the loaded policy packs")
    packs.set_defaults(run=_cmd_packs)

    guide = commands.add_parser(
        "guide", help="print a region's service guide (办事指南): Markdown or JSON"
    )
    guide.add_argument("--region", required=True, help="region code (see: onestop packs)")
    guide.add_argument("--format", choices=("markdown", "json"), default="markdown")
    guide.add_argument("--at", type=_time_arg, help="the pack in force at this time (ISO 8601)")
    guide.set_defaults(run=_cmd_guide)

    demo = commands.add_parser("demo", help="pre-review the shipped example cases")
    demo.set_defaults(run=_cmd_demo)

    verify = commands.add_parser("verify", help="verify an e-licence's seal offline (JSON out)")
    verify.add_argument(
        "content", help="the QR content (OS1.…) or its /verify/?c= URL; - for stdin"
    )
    verify.add_argument(
        "--keys", help="published keys: keys.json file or URL, or a keys folder (default: local)"
    )
    verify.set_defaults(run=_cmd_verify)

    serve = commands.add_parser("serve", help="run the product: web server, worker, demo data")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", default="./var", help="SQLite database and uploads")
    serve.add_argument(
        "--simulate",
        action="store_true",
        help="also run the simulated department systems (cases complete by themselves)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load demo accounts and API tokens even with DATABASE_URL (SQLite: always)",
    )
    serve.set_defaults(run=_cmd_serve)

    worker = commands.add_parser("worker", help="run the background worker (tasks, sweeps)")
    worker.set_defaults(run=_cmd_worker)

    audit = commands.add_parser(
        "audit-verify", help="check the audit log: keyed chains and signed anchors"
    )
    audit.add_argument("--alert", action="store_true", help="alert administrators on a break")
    audit.set_defaults(run=_cmd_audit_verify)

    from onestop.simulate.runner import add_arguments as simulate_arguments

    simulate = commands.add_parser(
        "simulate", help="simulated department systems over the HTTP API and webhooks"
    )
    simulate_arguments(simulate)
    simulate.set_defaults(run=_cmd_simulate)

    gen = commands.add_parser(
        "gen-cases", help="fill a PostgreSQL database with N generated cases (scale benchmark)"
    )
    gen.add_argument("--count", type=int, default=0, help="cases in total")
    gen.add_argument(
        "--ratings-only",
        action="store_true",
        help="only add ratings (好差评) to an already generated database (idempotent)",
    )
    gen.add_argument("--database-url", default="", help="the database (default: DATABASE_URL)")
    gen.add_argument("--chunk", type=int, default=5000, help="cases per transaction")
    gen.add_argument("--seed", type=int, default=1, help="random seed")
    gen.add_argument("--prepare", action="store_true", help="migrate and seed first")
    gen.set_defaults(run=_cmd_gen_cases)
    return parser


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes (``\\n``).

    Error messages quote user input (a region code, a file name) that may hold a line break;
    the error must still be one line on stderr.
    """
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        else ch
        for ch in text
    )


def _error(text: str) -> int:
    print(_one_line(text), file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.run(args, sys.stdout))
    except _Fail as exc:
        return _error(f"onestop: error: {exc}")
    except OnestopError as exc:
        return _error(f"onestop: error: {exc.code}: {exc.message}")
    except Exception as exc:  # never a traceback for a user: one line, exit 2
        return _error(f"onestop: internal error: {type(exc).__name__}: {exc}")
