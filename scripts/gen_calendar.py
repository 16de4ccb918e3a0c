"""Generate onestop/calendar/data/cn_workdays.json from the chinese_calendar package.

chinese_calendar is a dev dependency only: it transcribes the State Council
holiday notices. This script turns its tables into the JSON the calendar core
reads at run time. Usage:

    .venv/bin/python scripts/gen_calendar.py          # (re)write the file
    .venv/bin/python scripts/gen_calendar.py --check  # exit 1 if the file is stale
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = (
    Path(__file__).resolve().parent.parent / "onestop" / "calendar" / "data" / "cn_workdays.json"
)


def build_document() -> dict[str, Any]:
    """The calendar document: statutory days off and weekend make-up working days, by date."""
    from chinese_calendar.constants import Holiday, holidays, workdays

    version = importlib.metadata.version("chinese_calendar")
    days: list[dict[str, str]] = []
    for kind, table in (("holiday", holidays), ("workday", workdays)):
        for day, english in table.items():
            days.append({"date": day.isoformat(), "kind": kind, "name": Holiday(english).chinese})
    days.sort(key=lambda entry: entry["date"])
    dates = [entry["date"] for entry in days]
    if len(set(dates)) != len(dates):
        raise SystemExit("chinese_calendar lists a date as both a holiday and a workday")
    years = [int(d[:4]) for d in dates]
    return {
        "source": f"chinese_calendar {version} (State Council notices)",
        "first_year": min(years),
        "last_year": max(years),
        "days": days,
    }


def render(document: dict[str, Any]) -> str:
    """JSON text with one day per line, so a new year shows up as a readable diff."""
    lines = ["{"]
    for key in ("source", "first_year", "last_year"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(document[key], ensure_ascii=False)},")
    lines.append('  "days": [')
    days = document["days"]
    for index, entry in enumerate(days):
        comma = "," if index < len(days) - 1 else ""
        lines.append(f"    {json.dumps(entry, ensure_ascii=False)}{comma}")
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check the file is up to date")
    args = parser.parse_args(argv)
    document = build_document()
    text = render(document)
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is stale; run scripts/gen_calendar.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(document['days'])} days)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
