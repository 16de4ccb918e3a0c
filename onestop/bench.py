"""Micro-benchmarks of the domain cores, side by side (``make bench``: ``python -m onestop.bench``).

Not a test: it prints two small tables and asserts nothing about speed.

1. Pre-review of each example case (``onestop/examples``) through `check_case`: *warm*
   with the policy packs and reference data already loaded, and *cold* with
   `load_packs` + `load_reference` on every case (what one ``onestop check`` run pays),
   with the cold/warm ratio.
2. Due-time computation (`due_time` under both clock rules, the working-day calendar
   warm, and the calendar table loaded cold) and `build_plan` for each region's pack,
   each relative to the fastest row.

Every figure is the median of ``--repeats`` timed runs (`time.perf_counter`), each run
doing a fixed number of operations; ``--scale`` multiplies those numbers. The defaults
finish in well under 20 seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from onestop.calendar.clock_rules import ClockRule, due_time
from onestop.calendar.domain import DEFAULT_TABLE, load_calendar_file, load_default_calendar
from onestop.core.clock import BEIJING
from onestop.eligibility.check import check_case
from onestop.policy.loader import load_packs
from onestop.policy.schema import PolicyPack
from onestop.reference.domain import load_reference
from onestop.workflow.domain import ItemSpec, build_plan

EXAMPLES = Path(__file__).parent / "examples"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)

# Operations per timed run at scale 1.
WARM_CASES = 150
COLD_CASES = 2
DUE_TIMES = 1500
CALENDAR_LOADS = 10
PLANS = 1500


@dataclass(frozen=True)
class Timing:
    """The median seconds per operation over the repeats."""

    name: str
    seconds: float

    @property
    def per_second(self) -> float:
        return 1.0 / self.seconds if self.seconds > 0 else float("inf")


def measure(name: str, operation: Callable[[], object], number: int, repeats: int) -> Timing:
    """Median over ``repeats`` runs of ``number`` calls of ``operation``, per call."""
    number = max(1, number)
    runs: list[float] = []
    operation()  # once untimed: imports, caches, first-call costs
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for _ in range(number):
            operation()
        runs.append((time.perf_counter() - start) / number)
    return Timing(name, statistics.median(runs))


def _scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))


# --- what is measured ------------------------------------------------------------


def _examples() -> list[tuple[str, object]]:
    return [
        (path.stem, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(EXAMPLES.glob("*.json"))
    ]


def bench_prereview(scale: float, repeats: int) -> list[tuple[str, str, Timing, Timing]]:
    """(example, decision, warm, cold) for each example case."""
    packs = load_packs()
    reference = load_reference()
    rows: list[tuple[str, str, Timing, Timing]] = []
    for name, raw in _examples():

        def warm(raw: object = raw) -> str:
            return check_case(raw, packs=packs, reference=reference, now=NOW).outcome.value

        def cold(raw: object = raw) -> str:
            packs_now, reference_now = load_packs(), load_reference()
            return check_case(raw, packs=packs_now, reference=reference_now, now=NOW).outcome.value

        decision = warm()
        if cold() != decision:  # both paths must judge alike, or the comparison is moot
            raise AssertionError(f"{name}: the cold path decided differently from the warm one")
        rows.append(
            (
                name,
                decision,
                measure(name, warm, _scaled(WARM_CASES, scale), repeats),
                measure(name, cold, _scaled(COLD_CASES, scale), repeats),
            )
        )
    return rows


# Received times that exercise both Fuzhou branches and the 2026 holidays.
RECEIVED = [
    datetime(2026, 1, 5, 7, 30, tzinfo=BEIJING),
    datetime(2026, 2, 13, 9, 0, tzinfo=BEIJING),
    datetime(2026, 4, 30, 15, 0, tzinfo=BEIJING),
    datetime(2026, 9, 30, 11, 0, tzinfo=BEIJING),
    datetime(2026, 10, 3, 10, 0, tzinfo=BEIJING),
]


def bench_deadlines(scale: float, repeats: int) -> list[Timing]:
    calendar = load_default_calendar()
    timings: list[Timing] = []
    for rule, days in ((ClockRule.STANDARD, 1), (ClockRule.FUZHOU, 1), (ClockRule.STANDARD, 30)):

        def compute(rule: ClockRule = rule, days: int = days) -> object:
            return [due_time(calendar, rule, received, days) for received in RECEIVED]

        timing = measure(
            f"due_time {rule.value}, {days} working day{'s' if days > 1 else ''}",
            compute,
            _scaled(DUE_TIMES // len(RECEIVED), scale),
            repeats,
        )
        timings.append(Timing(timing.name, timing.seconds / len(RECEIVED)))

    timings.append(
        measure(
            "calendar table load (cold)",
            lambda: load_calendar_file(DEFAULT_TABLE),
            _scaled(CALENDAR_LOADS, scale),
            repeats,
        )
    )
    return timings


def _item_specs(pack: PolicyPack) -> list[ItemSpec]:
    return [ItemSpec(e.item, e.department, tuple(e.after), e.time_limit.days) for e in pack.items]


def bench_plans(scale: float, repeats: int) -> list[Timing]:
    packs = load_packs()
    timings: list[Timing] = []
    for region in packs.regions:
        pack = packs.current(region)
        assert pack is not None
        specs = _item_specs(pack)
        chosen = pack.offered

        def plan(specs: Sequence[ItemSpec] = specs, chosen: Sequence[str] = chosen) -> object:
            return build_plan(specs, chosen)

        timings.append(
            measure(
                f"build_plan {region} ({len(chosen)} items)",
                plan,
                _scaled(PLANS, scale),
                repeats,
            )
        )
    return timings


# --- the report ------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}/s" if per_second >= 10 else f"{per_second:.1f}/s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for index, row in enumerate([header, *rows]):
        cells = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def prereview_table(rows: Sequence[tuple[str, str, Timing, Timing]]) -> str:
    fastest = min(warm.seconds for _, _, warm, _ in rows)
    body = [
        [
            name,
            decision,
            _duration(warm.seconds),
            _rate(warm.per_second),
            f"{warm.seconds / fastest:.2f}x",
            _duration(cold.seconds),
            _rate(cold.per_second),
            f"{cold.seconds / warm.seconds:,.0f}x",
        ]
        for name, decision, warm, cold in rows
    ]
    header = [
        "example case",
        "decision",
        "warm/case",
        "warm cases",
        "vs fastest",
        "cold/case",
        "cold cases",
        "cold/warm",
    ]
    return _table(header, body)


def timings_table(title: str, timings: Sequence[Timing]) -> str:
    fastest = min(t.seconds for t in timings)
    body = [
        [t.name, _duration(t.seconds), _rate(t.per_second), f"{t.seconds / fastest:.2f}x"]
        for t in timings
    ]
    return _table([title, "median/op", "ops", "vs fastest"], body)


def run(scale: float = 1.0, repeats: int = 5, out: TextIO | None = None) -> None:
    """Run every benchmark and print the tables to ``out`` (stdout by default)."""
    stream = out if out is not None else sys.stdout
    started = time.perf_counter()
    stream.write(
        f"onestop micro-benchmarks: median of {repeats} runs, scale {scale:g} "
        "(warm = packs and reference data loaded once; cold = loaded for every case)\n\n"
    )
    stream.write("Pre-review (check_case) of each example\n")
    stream.write(prereview_table(bench_prereview(scale, repeats)) + "\n\n")
    stream.write("Deadlines and item plans\n")
    other = bench_deadlines(scale, repeats) + bench_plans(scale, repeats)
    stream.write(timings_table("operation", other) + "\n\n")
    stream.write(sealing_section(scale, repeats) + "\n\n")
    stream.write(f"total {time.perf_counter() - started:.1f} s\n")
    stream.flush()


def sealing_section(scale: float, repeats: int) -> str:
    """Sealing (issue 10): SM2 old vs new, and /verify/ JSON cold vs cached."""
    from onestop.ops.sealbench import bench_sm2, verify_view_in_child

    def timed(name: str, operation: Callable[[], object], number: int) -> Timing:
        return measure(name, operation, number, repeats)

    timings = bench_sm2(timed, scale)
    timings += [Timing(n, s) for n, s in verify_view_in_child(scale, repeats)]
    return "Sealing (SM2-SM3 e-seal, /verify/)\n" + timings_table("operation", timings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onestop.bench", description=__doc__)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the operations per run (default 1)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median)")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.repeats < 1:
        parser.error("--scale must be positive and --repeats at least 1")
    run(args.scale, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
