"""The packaged table against chinese_calendar, its generator, and its run-time imports."""

import importlib.util
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from onestop.calendar.domain import DEFAULT_TABLE, load_default_calendar

REPO = Path(__file__).resolve().parents[3]

HOLIDAYS_2026 = [
    ("2026-01-01", "2026-01-03", "元旦"),
    ("2026-02-15", "2026-02-23", "春节"),
    ("2026-04-04", "2026-04-06", "清明"),
    ("2026-05-01", "2026-05-05", "劳动节"),
    ("2026-06-19", "2026-06-21", "端午"),
    ("2026-09-25", "2026-09-27", "中秋"),
    ("2026-10-01", "2026-10-07", "国庆节"),
]
MAKE_UP_2026 = {
    "2026-01-04": "元旦",
    "2026-02-14": "春节",
    "2026-02-28": "春节",
    "2026-05-09": "劳动节",
    "2026-09-20": "国庆节",
    "2026-10-10": "国庆节",
}


def test_table_equals_chinese_calendar_every_day():
    chinese_calendar = pytest.importorskip("chinese_calendar")
    calendar = load_default_calendar()
    assert (calendar.first_year, calendar.last_year) == (2004, 2026)
    day = date(2004, 1, 1)
    mismatches = []
    while day <= date(2026, 12, 31):
        if calendar.is_working_day(day) != chinese_calendar.is_workday(day):
            mismatches.append(day)
        day += timedelta(days=1)
    assert mismatches == []


def test_generated_file_is_fresh():
    pytest.importorskip("chinese_calendar")
    spec = importlib.util.spec_from_file_location(
        "gen_calendar", REPO / "scripts" / "gen_calendar.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render(module.build_document())
    assert DEFAULT_TABLE.read_text(encoding="utf-8") == expected


def test_document_header_and_order():
    document = json.loads(DEFAULT_TABLE.read_text(encoding="utf-8"))
    assert document["source"] == "chinese_calendar 1.11.0 (State Council notices)"
    assert (document["first_year"], document["last_year"]) == (2004, 2026)
    dates = [entry["date"] for entry in document["days"]]
    assert dates == sorted(dates)
    assert len(dates) == len(set(dates))
    assert document["days"][0] == {"date": "2004-01-01", "kind": "holiday", "name": "元旦"}


def test_2026_special_days_by_hand():
    calendar = load_default_calendar()
    holidays = {}
    for first, last, name in HOLIDAYS_2026:
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last):
            holidays[day] = name
            day += timedelta(days=1)
    table = {s.date: (s.kind, s.name) for s in calendar.special_days if s.date.year == 2026}
    expected = {d: ("holiday", n) for d, n in holidays.items()}
    expected |= {date.fromisoformat(d): ("workday", n) for d, n in MAKE_UP_2026.items()}
    assert table == expected
    make_up = calendar.special_day(date(2026, 10, 10))
    assert make_up is not None
    assert make_up.name == "国庆节"
    assert calendar.special_day(date(2026, 10, 9)) is None


def test_runtime_imports_neither_chinese_calendar_nor_django():
    code = (
        "import sys\n"
        "from onestop.calendar.domain import load_default_calendar\n"
        "import onestop.calendar.clock_rules\n"
        "load_default_calendar()\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(roots & {'chinese_calendar', 'django'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
