"""The `onestop` command line (spec/interfaces.md): `check` and `deadline`.

Mostly in-process through `onestop.cli.main`, plus a few real subprocess runs of
``python -m onestop``. An unreadable input always gives exit status 2, exactly one line on
stderr, nothing on stdout, and never an "internal error" or a traceback.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop import cli
from onestop.policy.loader import EXTRA_DATA_ENV

EXAMPLES_DIR = Path(cli.__file__).parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
DECISIONS = ("accept", "supplement", "reject")
REGIONS = ("fuzhou", "jilin", "lanzhou", "qinbei", "yuanling")


def expected_decision(path: Path) -> str:
    """The decision the example's file name announces (lanzhou-reject-… → reject)."""
    return next(word for word in path.stem.split("-") if word in DECISIONS)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def assert_one_line_failure(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out, err)
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.endswith("\n")
    assert err.startswith("onestop: error: ")
    assert "internal error" not in err
    assert "Traceback" not in err
    return err


def assert_decision_shape(body: Any) -> None:
    assert isinstance(body, dict)
    assert body["decision"] in DECISIONS
    assert isinstance(body["reasons"], list)
    assert (body["reasons"] == []) == (body["decision"] == "accept")
    for reason in body["reasons"]:
        assert set(reason) >= {"code", "message", "detail"}
        assert reason["code"] and reason["message"]
    assert isinstance(body["plan"], list)
    seen: set[str] = set()
    for planned in body["plan"]:
        assert set(planned) >= {"item", "department", "after", "time_limit_days"}
        assert isinstance(planned["after"], list)
        assert set(planned["after"]) <= seen, "plan is not in dependency order"
        assert planned["time_limit_days"] is None or planned["time_limit_days"] >= 0
        seen.add(planned["item"])


@contextlib.contextmanager
def stdin_bytes(data: bytes) -> Iterator[None]:
    with mock.patch.object(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")):
        yield


# --- check: the example files ----------------------------------------------------


def test_every_region_has_examples() -> None:
    assert len(EXAMPLES) >= 10
    assert {path.stem.split("-")[0] for path in EXAMPLES} == set(REGIONS)
    accepted = {p.stem.split("-")[0] for p in EXAMPLES if expected_decision(p) == "accept"}
    assert accepted == set(REGIONS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_check_each_example(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = check_json(["check", str(path)], capsys)
    assert_decision_shape(body)
    assert body["decision"] == expected_decision(path)
    assert body["region"] == path.stem.split("-")[0]
    assert body["plan"], "every example chooses items the pack offers"


def test_check_accept_plan_lanzhou(capsys: pytest.CaptureFixture[str]) -> None:
    body = check_json(["check", str(EXAMPLES_DIR / "lanzhou-accept.json")], capsys)
    plan = {p["item"]: (p["department"], p["after"], p["time_limit_days"]) for p in body["plan"]}
    assert plan["birth_certificate"] == ("hospital", [], 1)
    assert plan["birth_registration"] == ("police", ["birth_certificate"], 1)
    assert plan["social_security_card"] == ("hrss", ["birth_registration"], 1)
    assert plan["medical_insurance_enrolment"] == ("medical_insurance", ["birth_registration"], 1)


def test_check_from_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES_DIR / "qinbei-accept.json"
    with stdin_bytes(path.read_bytes()):
        from_stdin = check_json(["check", "-"], capsys)
    assert from_stdin == check_json(["check", str(path)], capsys)


def test_check_accepts_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = EXAMPLES_DIR / "jilin-accept-counter.json"
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert check_json(["check", str(bom)], capsys) == check_json(["check", str(path)], capsys)


def test_array_in_gives_array_out_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in reversed(EXAMPLES)]
    bundle = tmp_path / "all.json"
    bundle.write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    results = check_json(["check", str(bundle)], capsys)
    assert isinstance(results, list) and len(results) == len(EXAMPLES)
    singles = [check_json(["check", str(p)], capsys) for p in reversed(EXAMPLES)]
    assert results == singles
    assert [r["decision"] for r in results] == [expected_decision(p) for p in reversed(EXAMPLES)]


def test_array_from_stdin_and_empty_array(capsys: pytest.CaptureFixture[str]) -> None:
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES[:3]]
    with stdin_bytes(json.dumps(documents).encode()):
        results = check_json(["check", "-"], capsys)
    assert [r["region"] for r in results] == [d["region"] for d in documents]
    with stdin_bytes(b"[]"):
        assert check_json(["check", "-"], capsys) == []


# --- check: unreadable inputs ----------------------------------------------------

LANZHOU = (EXAMPLES_DIR / "lanzhou-accept.json").read_text(encoding="utf-8")

UNREADABLE: dict[str, bytes] = {
    "not-json": b"region: lanzhou\n",
    "truncated-json": LANZHOU[: len(LANZHOU) // 2].encode(),
    "empty": b"",
    "whitespace-only": b"  \n\t\r\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xff\xd8",
    "nul-bytes": b"\x00\x00\x00\x00",
    "non-utf8-gbk": LANZHOU.encode("gb18030"),
    "latin1": '{"region": "lanzhou", "name": "Müller"}'.encode("latin-1"),
    "json-number": b"42",
    "json-string": b'"lanzhou"',
    "json-null": b"null",
    "json-true": b"true",
    "array-with-a-number": ("[" + LANZHOU + ", 3]").encode(),
    "array-with-a-string": b'["lanzhou"]',
    "array-with-null": b"[null]",
    "nested-array": ("[[" + LANZHOU + "]]").encode(),
    "object-without-region": b'{"items": ["birth_certificate"]}',
    "region-not-text": b'{"region": 7}',
    "region-blank": b'{"region": "   "}',
    "unknown-region": LANZHOU.replace('"lanzhou"', '"atlantis"').encode(),
    "region-with-newline": LANZHOU.replace('"lanzhou"', '"lan\\nzhou\\r\\u2028x"').encode(),
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "nan-only": b"NaN",
}


@pytest.mark.parametrize("content", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_unreadable_file(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.json"
    path.write_bytes(content)
    assert_one_line_failure(*run(["check", str(path)], capsys))


@pytest.mark.parametrize(
    "name", ["empty", "binary", "non-utf8-gbk", "json-number", "array-with-a-number"]
)
def test_unreadable_stdin(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with stdin_bytes(UNREADABLE[name]):
        assert_one_line_failure(*run(["check", "-"], capsys))


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = assert_one_line_failure(*run(["check", str(tmp_path / "nope.json")], capsys))
    assert "nope.json" in err


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = assert_one_line_failure(*run(["check", str(tmp_path)], capsys))
    assert str(tmp_path) in err


def test_file_name_with_a_line_break(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two\nlines.json"
    path.write_bytes(b"not json")
    assert_one_line_failure(*run(["check", str(path)], capsys))
    assert_one_line_failure(*run(["check", str(tmp_path / "missing\nfile.json")], capsys))


def test_messages_say_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def error_for(content: bytes) -> str:
        path = tmp_path / "case.json"
        path.write_bytes(content)
        return assert_one_line_failure(*run(["check", str(path)], capsys))

    assert "UTF-8" in error_for(UNREADABLE["non-utf8-gbk"])
    assert "empty" in error_for(b"")
    assert "JSON" in error_for(b"{")
    assert "atlantis" in error_for(UNREADABLE["unknown-region"])
    assert "case [1]" in error_for(UNREADABLE["array-with-a-number"])


def test_a_bad_document_in_an_array_prints_no_partial_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.json"
    documents = [json.loads(LANZHOU), {"region": "atlantis"}, json.loads(LANZHOU)]
    path.write_text(json.dumps(documents), encoding="utf-8")
    err = assert_one_line_failure(*run(["check", str(path)], capsys))
    assert "case [1]" in err


def test_a_readable_document_with_bad_fields_is_a_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(LANZHOU)
    document["newborns"] = "twins"
    document["mother"]["id_number"] = 12345
    document["submitted_at"] = "2026-02-30T10:00:00"
    path = tmp_path / "case.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    body = check_json(["check", str(path)], capsys)
    assert_decision_shape(body)
    assert body["decision"] != "accept"


# --- check: --at -----------------------------------------------------------------


def test_at_overrides_submitted_at(capsys: pytest.CaptureFixture[str]) -> None:
    late = str(EXAMPLES_DIR / "lanzhou-reject-registration-after-one-month.json")
    assert check_json(["check", late], capsys)["decision"] == "reject"
    # born 2026-11-05: on 2026-11-20 registration is still within one month
    body = check_json(["check", late, "--at", "2026-11-20T10:00:00+08:00"], capsys)
    assert body["decision"] == "accept", body["reasons"]

    accept = str(EXAMPLES_DIR / "lanzhou-accept.json")
    body = check_json(["check", accept, "--at", "2027-01-10T10:00:00+08:00"], capsys)
    assert body["decision"] == "reject"
    assert [r["code"] for r in body["reasons"]] == ["outside_age_window"]

    body = check_json(["check", accept, "--at", "2026-11-01"], capsys)
    assert "birth_in_future" in [r["code"] for r in body["reasons"]]


def test_at_is_read_as_beijing_time(capsys: pytest.CaptureFixture[str]) -> None:
    accept = str(EXAMPLES_DIR / "lanzhou-accept.json")
    # born 2026-11-05T22:10+08:00; 2026-11-05T14:00Z is 22:00 Beijing, before the birth
    body = check_json(["check", accept, "--at", "2026-11-05T14:00:00Z"], capsys)
    assert "birth_in_future" in [r["code"] for r in body["reasons"]]
    body = check_json(["check", accept, "--at", "2026-11-05T14:20:00Z"], capsys)
    assert body["decision"] == "accept"


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30", "", "2026-13-01T10:00"])
def test_bad_at_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["check", str(EXAMPLES[0]), "--at", value], capsys)
    assert code == 2 and out == ""
    assert "invalid time" in err.splitlines()[-1]
    assert "internal error" not in err and "Traceback" not in err


# --- deadline ----------------------------------------------------------------------


def deadline(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    body = check_json(["deadline", *argv], capsys)
    assert isinstance(body, dict)
    return body


def due(region: str, item: str, received: str, capsys: pytest.CaptureFixture[str]) -> str:
    body = deadline(["--region", region, "--item", item, "--received", received], capsys)
    assert body["region"] == region and body["item"] == item
    value = body["due"]
    assert isinstance(value, str)
    return value


def test_calendar_table_has_the_2026_holidays() -> None:
    """The facts the deadline cases below rely on, read from the packaged table."""
    from onestop.calendar.domain import DEFAULT_TABLE

    days = {
        row["date"]: row["kind"]
        for row in json.loads(DEFAULT_TABLE.read_text(encoding="utf-8"))["days"]
        if row["date"].startswith("2026")
    }
    holidays = {d for d, kind in days.items() if kind == "holiday"}
    workdays = {d for d, kind in days.items() if kind == "workday"}

    def span(month: int, first: int, last: int) -> set[str]:
        return {f"2026-{month:02d}-{day:02d}" for day in range(first, last + 1)}

    assert holidays == (
        span(1, 1, 3)  # New Year
        | span(2, 15, 23)  # Spring Festival
        | span(4, 4, 6)  # Qingming
        | span(5, 1, 5)  # Labour Day
        | span(6, 19, 21)  # Dragon Boat
        | span(9, 25, 27)  # Mid-Autumn
        | span(10, 1, 7)  # National Day
    )
    assert workdays == {
        "2026-01-04",  # Sun, New Year
        "2026-02-14",  # Sat, Spring Festival
        "2026-02-28",  # Sat, Spring Festival
        "2026-05-09",  # Sat, Labour Day
        "2026-09-20",  # Sun, National Day
        "2026-10-10",  # Sat, National Day
    }


EOD = "T23:59:59+08:00"
NOON = "T12:00:00+08:00"

# Standard rule: due at the end of the N-th working day after the day of receipt.
STANDARD = [
    # New Year: Jan 1–3 off, Sun Jan 4 works
    ("lanzhou", "birth_certificate", "2025-12-31T10:00:00+08:00", "2026-01-04" + EOD),
    ("lanzhou", "birth_certificate", "2026-01-02T10:00:00+08:00", "2026-01-04" + EOD),
    ("lanzhou", "birth_certificate", "2026-01-04T10:00:00+08:00", "2026-01-05" + EOD),
    # Spring Festival: Sat Feb 14 works, Feb 15–23 off, Sat Feb 28 works
    ("lanzhou", "birth_certificate", "2026-02-13T17:00:00+08:00", "2026-02-14" + EOD),
    ("lanzhou", "birth_certificate", "2026-02-14T09:00:00+08:00", "2026-02-24" + EOD),
    ("qinbei", "birth_registration", "2026-02-13T09:00:00+08:00", "2026-02-24" + EOD),
    ("lanzhou", "birth_certificate", "2026-02-27T09:00:00+08:00", "2026-02-28" + EOD),
    # Qingming: Apr 4–6 off
    ("lanzhou", "birth_registration", "2026-04-03T09:00:00+08:00", "2026-04-07" + EOD),
    # Labour Day: May 1–5 off, Sat May 9 works
    ("lanzhou", "birth_registration", "2026-04-30T09:00:00+08:00", "2026-05-06" + EOD),
    ("qinbei", "birth_registration", "2026-04-30T09:00:00+08:00", "2026-05-07" + EOD),
    ("lanzhou", "birth_registration", "2026-05-08T09:00:00+08:00", "2026-05-09" + EOD),
    # Dragon Boat: Jun 19–21 off
    ("jilin", "birth_registration", "2026-06-19T09:00:00+08:00", "2026-06-22" + EOD),
    ("lanzhou", "vaccination_certificate", "2026-06-18T09:00:00+08:00", "2026-06-22" + EOD),
    # Mid-Autumn: Sep 25–27 off; Sun Sep 20 works (for National Day)
    ("lanzhou", "birth_certificate", "2026-09-24T09:00:00+08:00", "2026-09-28" + EOD),
    ("lanzhou", "birth_certificate", "2026-09-19T09:00:00+08:00", "2026-09-20" + EOD),
    # National Day: Oct 1–7 off, Sat Oct 10 works
    ("lanzhou", "birth_certificate", "2026-09-30T09:00:00+08:00", "2026-10-08" + EOD),
    ("qinbei", "birth_registration", "2026-10-03T09:00:00+08:00", "2026-10-09" + EOD),
    ("lanzhou", "birth_certificate", "2026-10-09T09:00:00+08:00", "2026-10-10" + EOD),
    # 30 working days across Mid-Autumn and National Day (qinbei SSC)
    ("qinbei", "social_security_card", "2026-09-01T09:00:00+08:00", "2026-10-19" + EOD),
    # 15 working days across Spring Festival (qinbei maternity reimbursement):
    # Feb 11, 12, 13, Sat 14, 24, 25, 26, 27, Sat 28, Mar 2, 3, 4, 5, 6, 9
    ("qinbei", "maternity_reimbursement", "2026-02-10T09:00:00+08:00", "2026-03-09" + EOD),
    # the day of receipt never counts, at any hour
    ("lanzhou", "birth_certificate", "2026-01-05T00:00:00+08:00", "2026-01-06" + EOD),
    ("lanzhou", "birth_certificate", "2026-01-05T23:59:59+08:00", "2026-01-06" + EOD),
    # 0 days (same visit): the day itself if it works, else the next working day
    ("jilin", "birth_registration", "2026-01-05T16:00:00+08:00", "2026-01-05" + EOD),
    ("jilin", "birth_registration", "2026-01-03T10:00:00+08:00", "2026-01-04" + EOD),
    ("yuanling", "birth_certificate", "2026-10-01T10:00:00+08:00", "2026-10-08" + EOD),
    # other offsets and naive times are read as Beijing time
    ("lanzhou", "birth_certificate", "2026-09-29T16:30:00Z", "2026-10-08" + EOD),
    ("lanzhou", "birth_certificate", "2026-09-30T10:00:00", "2026-10-08" + EOD),
]


@pytest.mark.parametrize(("region", "item", "received", "expected"), STANDARD)
def test_deadline_standard_rule(
    region: str, item: str, received: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert due(region, item, received, capsys) == expected


# Fuzhou rule: before 08:00 the day counts; 08:00–12:00 → noon of the N-th working day
# after; after 12:00 or on a day off → as if before 08:00 on the next working day.
FUZHOU = [
    # Mon 2026-01-05, 1 working day
    ("2026-01-05T07:59:59+08:00", "2026-01-05" + EOD, "2026-01-06" + EOD),
    ("2026-01-05T08:00:00+08:00", "2026-01-06" + NOON, "2026-01-06" + EOD),
    ("2026-01-05T11:59:59+08:00", "2026-01-06" + NOON, "2026-01-06" + EOD),
    ("2026-01-05T12:00:00+08:00", "2026-01-06" + NOON, "2026-01-06" + EOD),
    ("2026-01-05T12:00:01+08:00", "2026-01-06" + EOD, "2026-01-06" + EOD),
    ("2026-01-05T18:00:00+08:00", "2026-01-06" + EOD, "2026-01-06" + EOD),
    # a holiday (Sat Jan 3) and the make-up Sunday (Jan 4)
    ("2026-01-03T09:00:00+08:00", "2026-01-04" + EOD, "2026-01-04" + EOD),
    ("2026-01-04T09:00:00+08:00", "2026-01-05" + NOON, "2026-01-05" + EOD),
    ("2026-01-04T07:00:00+08:00", "2026-01-04" + EOD, "2026-01-05" + EOD),
    # an ordinary weekend: Sat 2026-01-10 → Mon Jan 12
    ("2026-01-10T07:00:00+08:00", "2026-01-12" + EOD, "2026-01-12" + EOD),
    # National Day: Wed Sep 30, Thu Oct 1 (off), Fri Oct 9 → Sat Oct 10 (works)
    ("2026-09-30T07:00:00+08:00", "2026-09-30" + EOD, "2026-10-08" + EOD),
    ("2026-09-30T10:00:00+08:00", "2026-10-08" + NOON, "2026-10-08" + EOD),
    ("2026-09-30T15:00:00+08:00", "2026-10-08" + EOD, "2026-10-08" + EOD),
    ("2026-10-01T09:00:00+08:00", "2026-10-08" + EOD, "2026-10-08" + EOD),
    ("2026-10-09T10:00:00+08:00", "2026-10-10" + NOON, "2026-10-10" + EOD),
    # 00:30 UTC is 08:30 in Beijing
    ("2026-01-05T00:30:00Z", "2026-01-06" + NOON, "2026-01-06" + EOD),
]


@pytest.mark.parametrize(("received", "fuzhou", "standard"), FUZHOU)
def test_deadline_fuzhou_rule_against_the_standard_rule(
    received: str, fuzhou: str, standard: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # both packs give the birth certificate 1 working day
    body = deadline(
        ["--region", "fuzhou", "--item", "birth_certificate", "--received", received], capsys
    )
    assert (body["clock_rule"], body["time_limit_days"]) == ("fuzhou", 1)
    assert body["due"] == fuzhou
    body = deadline(
        ["--region", "lanzhou", "--item", "birth_certificate", "--received", received], capsys
    )
    assert (body["clock_rule"], body["time_limit_days"]) == ("standard", 1)
    assert body["due"] == standard


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # 3 working days across Spring Festival: Sat Feb 14 works, Feb 15–23 off
        ("2026-02-13T07:00:00+08:00", "2026-02-24" + EOD),  # Feb 13, 14, 24
        ("2026-02-13T09:00:00+08:00", "2026-02-25" + NOON),  # Feb 14, 24, 25
        ("2026-02-13T13:00:00+08:00", "2026-02-25" + EOD),  # as if 07:00 Feb 14
        ("2026-02-15T09:00:00+08:00", "2026-02-26" + EOD),  # off: as if 07:00 Feb 24
    ],
)
def test_deadline_fuzhou_social_security_card(
    received: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert due("fuzhou", "social_security_card", received, capsys) == expected


def test_deadline_output_fields(capsys: pytest.CaptureFixture[str]) -> None:
    body = deadline(
        ["--region", "qinbei", "--item", "birth_registration", "--received", "2026-04-30T09:00"],
        capsys,
    )
    assert body == {
        "due": "2026-05-07T23:59:59+08:00",
        "region": "qinbei",
        "item": "birth_registration",
        "received": "2026-04-30T09:00:00+08:00",
        "time_limit_days": 2,
        "unit": "working_days",
        "clock_rule": "standard",
        "pack_version": "2024.11.18-1",
    }


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-01-01T10:00:00+08:00", "2026-04-01" + EOD),  # a holiday counts like any day
        ("2026-09-30T23:00:00+08:00", "2026-12-29" + EOD),  # National Day counts too
        ("2026-02-14T08:00:00+08:00", "2026-05-15" + EOD),
    ],
)
def test_deadline_calendar_days(
    received: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = deadline(
        ["--region", "yuanling", "--item", "medical_insurance_payment", "--received", received],
        capsys,
    )
    assert (body["unit"], body["time_limit_days"]) == ("calendar_days", 90)
    assert body["due"] == expected


def test_deadline_in_2027_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deadline", "--region", "lanzhou", "--item", "birth_certificate"]
    err = assert_one_line_failure(*run([*argv, "--received", "2027-03-01T10:00:00+08:00"], capsys))
    assert "2027" in err and "calendar_year_not_covered" in err
    # received in 2026, but the count runs into 2027
    err = assert_one_line_failure(*run([*argv, "--received", "2026-12-31T10:00:00+08:00"], capsys))
    assert "2027" in err
    # fuzhou: a day off in 2027
    fuzhou = ["deadline", "--region", "fuzhou", "--item", "birth_certificate"]
    err = assert_one_line_failure(*run([*fuzhou, "--received", "2027-01-01T10:00"], capsys))
    assert "2027" in err


def test_deadline_assume_weekends(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--region", "lanzhou", "--item", "birth_certificate", "--assume-weekends"]
    # Mon 2027-03-01 → Tue; Fri 2027-03-05 → Mon 2027-03-08
    assert deadline([*base, "--received", "2027-03-01T10:00:00+08:00"], capsys)["due"] == (
        "2027-03-02" + EOD
    )
    assert deadline([*base, "--received", "2027-03-05T10:00:00+08:00"], capsys)["due"] == (
        "2027-03-08" + EOD
    )
    # inside the table the flag changes nothing: National Day still counts
    assert deadline([*base, "--received", "2026-09-30T10:00:00+08:00"], capsys)["due"] == (
        "2026-10-08" + EOD
    )
    fuzhou = ["--region", "fuzhou", "--item", "birth_certificate", "--assume-weekends"]
    assert deadline([*fuzhou, "--received", "2027-03-05T10:00:00+08:00"], capsys)["due"] == (
        "2027-03-08" + NOON
    )


@pytest.mark.parametrize(
    ("region", "item", "words"),
    [
        ("atlantis", "birth_certificate", ["atlantis", "lanzhou"]),
        ("", "birth_certificate", ["unknown region"]),
        ("lanzhou", "medical_insurance_payment", ["medical_insurance_payment", "offered"]),
        ("jilin", "birth_certificate", ["birth_certificate"]),
        ("qinbei", "passport", ["passport"]),
        ("jilin", "medical_insurance_enrolment", ["no time limit"]),
        ("jilin", "social_security_card", ["no time limit"]),
        ("qinbei", "parenting_guidance", ["no time limit"]),
    ],
)
def test_deadline_refusals(
    region: str, item: str, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["deadline", "--region", region, "--item", item, "--received", "2026-03-02T10:00"]
    err = assert_one_line_failure(*run(argv, capsys))
    for word in words:
        assert word in err


@pytest.mark.parametrize("value", ["tomorrow", "2026-02-30T10:00:00", "10:00"])
def test_deadline_bad_received(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deadline", "--region", "lanzhou", "--item", "birth_certificate", "--received", value]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert "invalid time" in err.splitlines()[-1]
    assert "internal error" not in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["check"], ["deadline", "--region", "lanzhou"], ["frobnicate"]):
        code, out, err = run(argv, capsys)
        assert code == 2 and out == "", argv
        assert err.splitlines()[-1].startswith("onestop: error: "), argv
        assert "Traceback" not in err


# --- real subprocesses -----------------------------------------------------------


def run_process(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.pop(EXTRA_DATA_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "onestop", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_subprocess_check_example_and_stdin_array() -> None:
    path = EXAMPLES_DIR / "fuzhou-accept.json"
    result = run_process("check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    single = json.loads(result.stdout.decode("utf-8"))
    assert single["decision"] == "accept"

    both = (
        b"[" + path.read_bytes() + b"," + (EXAMPLES_DIR / "jilin-accept-counter.json").read_bytes()
    )
    result = run_process("check", "-", stdin=both + b"]")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout.decode("utf-8"))
    assert [r["region"] for r in results] == ["fuzhou", "jilin"]
    assert results[0] == single


@pytest.mark.parametrize("name", ["binary", "non-utf8-gbk", "array-with-a-number", "deeply-nested"])
def test_subprocess_unreadable_stdin(name: str) -> None:
    result = run_process("check", "-", stdin=UNREADABLE[name])
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode("utf-8")
    assert len(err.splitlines()) == 1, err
    assert "internal error" not in err and "Traceback" not in err


def test_subprocess_deadline() -> None:
    result = run_process(
        "deadline", "--region", "fuzhou", "--item", "birth_certificate",
        "--received", "2026-09-30T10:00:00+08:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["due"] == "2026-10-08T12:00:00+08:00"
    result = run_process(
        "deadline", "--region", "lanzhou", "--item", "birth_certificate",
        "--received", "2027-05-01T10:00:00+08:00",
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == b""
    assert len(result.stderr.splitlines()) == 1 and b"2027" in result.stderr


# --- property: any JSON value is a decision or a one-line refusal ----------------

EXAMPLE_DOCUMENTS = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]
INTERESTING_TEXT = [
    *REGIONS,
    "atlantis",
    "",
    " ",
    "\n",
    "lan\nzhou",
    "\u2028",
    "\ud800",
    "birth_certificate",
    "social_security_card",
    "mother",
    "father",
    "trustee",
    "married",
    "divorced",
    "mainland",
    "foreign",
    "family",
    "unit_collective",
    "pickup",
    "mail",
    "2026-11-18T15:00:00+08:00",
    "2026-02-30",
    "2027-01-01",
    "1900-01-01T00:00:00Z",
    "620102199405200428",
    "62010219940520042X",
    "lanzhou-mch",
    "620102",
    "01",
    "99",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(INTERESTING_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(sorted(EXAMPLE_DOCUMENTS[0]))),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """An example document with a few values replaced, removed or added, anywhere in it."""
    document = copy.deepcopy(draw(st.sampled_from(EXAMPLE_DOCUMENTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        node: Any = document
        while True:
            keys: list[Any] = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            action = draw(st.sampled_from(["replace", "remove", "add"]))
            if action == "replace":
                node[key] = draw(json_values)
            elif action == "remove":
                del node[key]
            elif isinstance(node, dict):
                node[draw(st.text(max_size=8))] = draw(json_values)
            else:
                node.append(draw(json_values))
            break
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return [document, draw(json_values)]
    return document


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


_load_registries = cli._registries


@functools.cache
def registries() -> tuple[Any, Any]:
    return _load_registries(cli.build_parser().parse_args(["packs"]))


@contextlib.contextmanager
def cached_registries() -> Iterator[None]:
    """Load packs and reference data once; the properties are about reading the input."""
    with mock.patch.object(cli, "_registries", lambda _args: registries()):
        yield


def check_any(value: Any, folder: Path) -> None:
    path = folder / "case.json"
    path.write_text(json.dumps(value, ensure_ascii=True), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with cached_registries(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["check", str(path)])
    assert "internal error" not in err.getvalue(), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if code == 0:
        assert err.getvalue() == ""
        body = json.loads(out.getvalue())
        for decision in body if isinstance(value, list) else [body]:
            assert_decision_shape(decision)
        if isinstance(value, list):
            assert isinstance(body, list) and len(body) == len(value)
    else:
        assert code == 2
        assert out.getvalue() == ""
        assert len(err.getvalue().splitlines()) == 1, err.getvalue()


@PROPERTY
@given(value=json_values)
def test_any_json_value(value: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    check_any(value, tmp_path_factory.getbasetemp())


@PROPERTY
@given(value=mutated_examples())
def test_any_mutated_example(value: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    check_any(value, tmp_path_factory.getbasetemp())


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=64))
def test_any_bytes(content: bytes) -> None:
    with stdin_bytes(content), cached_registries():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["check", "-"])
    assert code in (0, 2)
    assert "internal error" not in err.getvalue()
    if code == 2:
        assert out.getvalue() == "" and len(err.getvalue().splitlines()) == 1
