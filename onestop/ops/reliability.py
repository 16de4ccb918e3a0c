"""`make reliability`: run the attack and fault tests and print what they tried and what
got through, as one table (``python -m onestop.ops.reliability``).

The tests record their figures with `onestop.testing.reliability.reliability_record`;
this runner finds every test module that records figures, runs them once on the embedded
default (SQLite) and, where a PostgreSQL server answers, once more on PostgreSQL, and
prints a Markdown table with one column per database. Figures of the same measure from
several tests are added up. The exit code is pytest's (non-zero if any test failed), so
the table is never printed from a run whose assertions did not hold without saying so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "reliability_record("
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def test_modules() -> list[str]:
    """Test files that record reliability figures (the recorder module itself excluded)."""
    found = []
    for folder in ("onestop", "tests"):
        for path in sorted((ROOT / folder).rglob("test_*.py")):
            if MARKER in path.read_text(encoding="utf-8"):
                found.append(str(path.relative_to(ROOT)))
    return found


def run_pass(modules: list[str], env: dict[str, str], extra: list[str]) -> tuple[int, Path]:
    out = Path(tempfile.mkstemp(prefix="reliability-", suffix=".jsonl")[1])
    run_env = {**os.environ, **env, "ONESTOP_RELIABILITY_OUT": str(out)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *modules]
    code = subprocess.call(command, cwd=ROOT, env=run_env)
    return code, out


def read_figures(path: Path) -> dict[tuple[str, str], int | float | str]:
    figures: dict[tuple[str, str], int | float | str] = {}
    if not path.exists():
        return figures
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        key = (row["area"], row["measure"])
        value = row["value"]
        previous = figures.get(key)
        if isinstance(value, int | float) and isinstance(previous, int | float):
            figures[key] = previous + value
        else:
            figures[key] = value
    return figures


def table(columns: dict[str, dict[tuple[str, str], int | float | str]]) -> str:
    """One row per measure: areas in alphabetical order, measures in the order the tests
    recorded them (so "tried" and "of those …" rows stay together)."""
    keys: dict[tuple[str, str], None] = {}
    for figures in columns.values():
        for key in figures:
            keys.setdefault(key, None)
    names = list(columns)
    lines = [
        "| area | measure | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    for area, measure in sorted(keys, key=lambda key: key[0]):
        cells = [str(columns[n].get((area, measure), "–")) for n in names]
        lines.append(f"| {area} | {measure} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def postgres_reachable(url: str) -> bool:
    check = [sys.executable, "-m", "onestop.ops.pgcheck", url]
    return subprocess.call(check, cwd=ROOT) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", default=os.environ.get("ONESTOP_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    modules = test_modules()
    if not modules:
        print("no test records reliability figures", file=sys.stderr)
        return 2
    # The fault-injection tests (marker "faults") run here even where `make test` skips them.
    extra = ["-m", "faults or not faults"]
    columns: dict[str, dict[tuple[str, str], int | float | str]] = {}
    worst = 0
    code, out = run_pass(modules, {}, extra)
    worst = max(worst, code)
    columns["SQLite"] = read_figures(out)
    out.unlink(missing_ok=True)
    if not args.sqlite_only and postgres_reachable(args.postgres):
        pg_env = {"DATABASE_URL": args.postgres, "ONESTOP_TEST_DB_NAME": "test_onestop_rel"}
        code, out = run_pass(modules, pg_env, [*extra[:1], "(faults or not faults) and django_db"])
        worst = max(worst, code)
        columns["PostgreSQL"] = read_figures(out)
        out.unlink(missing_ok=True)
    print()
    print(table(columns))
    print()
    print("tests: " + ("all passed" if worst == 0 else f"FAILED (pytest exit {worst})"))
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
