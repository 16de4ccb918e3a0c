"""The simulator's own logic, without a server: valid results, outage windows, options,
and the demo credentials matching the demo data."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from onestop.reference.idnumber import is_valid_resident_id, parse_resident_id
from onestop.simulate.credentials import (
    DEMO_EXTRA_STATIONS,
    DEMO_JURISDICTIONS,
    DEPARTMENTS,
    demo_credentials,
)
from onestop.simulate.department import build_result, citizen_id, parse_outages
from onestop.simulate.runner import add_arguments
from onestop.workflow.domain.results import RESULT_FIELDS, NewbornFacts, validate_result


@pytest.mark.parametrize("item", sorted(RESULT_FIELDS))
@pytest.mark.parametrize("task_id", [1, 42, 987654321])
def test_built_results_satisfy_the_result_fields(item, task_id):
    fields = [
        {
            "name": f.name,
            "label": f.label,
            "pattern": f.pattern,
            "example": f.example,
            "required": f.required,
            "kind": f.kind,
            "max_length": f.max_length,
        }
        for f in RESULT_FIELDS[item]
    ]
    data = {
        "newborns": [{"born_at": "2026-11-10T23:50:00+08:00", "sex": "2"}],
        "birth_registration": {"follows": "father"},
        "father": {"hukou_division": "620102"},
    }
    result = build_result(fields, task_id, data)
    cleaned, problems = validate_result(
        item, result, newborns=[NewbornFacts(date(2026, 11, 10), "2")], today=date(2026, 11, 20)
    )
    assert problems == []
    assert cleaned == result
    if item == "birth_registration":
        # issue 8, defect 6: a made-up citizen ID carries a valid GB 11643 check digit
        number = result["citizen_id_number"]
        parsed = parse_resident_id(number)
        assert (parsed.division, parsed.birth_date, parsed.sex) == (
            "620102",
            date(2026, 11, 10),
            "2",
        )


@pytest.mark.parametrize("task_id", range(1, 1200, 37))
def test_made_up_citizen_ids_are_always_valid(task_id):
    for division in ("450703", "bad", None):
        data = {
            "newborns": [{"born_at": "2026-01-31T00:10:00+08:00", "sex": "1"}],
            "mother": {"hukou_division": division},
        }
        number = citizen_id(data, task_id)
        assert number is not None and is_valid_resident_id(number)
    assert citizen_id({"newborns": [{"born_at": "not a time"}]}, task_id) is None


def test_results_differ_per_task():
    fields = [{"name": "bmc_number", "pattern": r"[A-Z]\d{9}", "example": "Q450123456"}]
    assert build_result(fields, 7) != build_result(fields, 8)


def test_outage_windows():
    assert parse_outages("10-20, 60-90.5") == ((10.0, 20.0), (60.0, 90.5))
    assert parse_outages("") == ()
    for bad in ("10", "20-10", "x-y"):
        with pytest.raises(ValueError):
            parse_outages(bad)


def test_options():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--departments", "police,cdc", "--refusal-rate", "0.25", "--outage", "5-10", "--once"]
    )
    assert args.departments == ["police", "cdc"]
    assert args.outage == ((5.0, 10.0),) and args.once
    for bad in (["--refusal-rate", "2"], ["--departments", "army"], ["--outage", "9-1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_demo_credentials_cover_every_demo_jurisdiction():
    from onestop.ops.demo import REGIONS

    assert [(r, h, s, d) for r, h, s, _c, d in REGIONS] == list(DEMO_JURISDICTIONS)
    creds = demo_credentials()
    assert len(creds) == len(REGIONS) * len(DEPARTMENTS) + len(DEMO_EXTRA_STATIONS)
    assert len({c.key_id for c in creds}) == len(creds)
    assert all(len(c.key_id) <= 32 and c.token.startswith(c.key_id + ".") for c in creds)


def test_closing_a_session_lets_go_of_every_threads_kept_alive_connection():
    """A department system that stops closes the connection each of its threads kept
    alive (the platform's side, and the database connection a server thread holds for it,
    is let go at once, not at the keep-alive timeout)."""
    import http.server
    import json
    import threading

    from onestop.simulate.session import ApiSession

    open_now: set[int] = set()
    changed = threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def setup(self) -> None:
            super().setup()
            with changed:
                open_now.add(id(self))
                changed.notify_all()

        def finish(self) -> None:
            super().finish()
            with changed:
                open_now.discard(id(self))
                changed.notify_all()

        def do_GET(self) -> None:
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        session = ApiSession(f"http://127.0.0.1:{server.server_address[1]}", "x.y")
        callers = [threading.Thread(target=session.get, args=("/me",)) for _ in range(3)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        with changed:
            assert changed.wait_for(lambda: len(open_now) == 3, timeout=10), open_now
        session.close_all()  # from another thread than the three that opened them
        with changed:
            assert changed.wait_for(lambda: not open_now, timeout=10), open_now
    finally:
        server.shutdown()
        server.server_close()
