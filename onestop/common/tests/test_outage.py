"""A database outage is 503 with Retry-After, never a 500 or a traceback (issue 8, defect 9:
"A database outage gives 500 instead of 503 with Retry-After"), and gunicorn's access log
carries no ID number or phone (defect 11).

Not mocked: the product runs in a child process whose database really is unreachable — a
PostgreSQL URL on a closed port, or a SQLite file in a folder that does not exist.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from onestop.testing.processes import ROOT, child_env
from onestop.testing.reliability import reliability_record

MOTHER_ID = "450703199203150220"
PHONE = "13800000000"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return child_env(tmp_path / "data", DATABASE_URL=database_url)


UNREACHABLE = {
    "postgresql": lambda tmp: f"postgres://onestop@127.0.0.1:{_closed_port()}/onestop",
    "sqlite": lambda tmp: f"sqlite:///{tmp / 'no-such-folder' / 'onestop.sqlite3'}",
}

CLIENT_SCRIPT = r"""
import json
import django
django.setup()
from django.test import Client

def answer(response):
    return {
        "status": response.status_code,
        "retry_after": response.get("Retry-After"),
        "type": response.get("Content-Type", ""),
        "body": response.content.decode("utf-8", "replace")[:3000],
    }

anonymous = Client(raise_request_exception=False)
signed_in = Client(raise_request_exception=False)
signed_in.cookies["sessionid"] = "a" * 32  # the session must be read from the database
out = {
    "verify": answer(anonymous.get("/verify/QINBEI-20261120-0001-01/")),
    "verify_json": answer(anonymous.get("/verify/QINBEI-20261120-0001-01.json")),
    "api": answer(anonymous.get("/api/v1/tasks", HTTP_AUTHORIZATION="Bearer osk_k1.secret")),
    "staff_page": answer(signed_in.get("/work/")),
    "parent_page": answer(signed_in.get("/my/cases/")),
    "readyz": answer(anonymous.get("/readyz")),
    "healthz": answer(anonymous.get("/healthz")),
}
print(json.dumps(out))
"""


@pytest.mark.parametrize("database", sorted(UNREACHABLE))
def test_an_unreachable_database_is_503_with_retry_after(database, tmp_path):
    env = _env(tmp_path, UNREACHABLE[database](tmp_path))
    run = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answers: dict[str, dict[str, Any]] = json.loads(run.stdout.strip().splitlines()[-1])
    assert answers.pop("healthz")["status"] == 200  # the process itself is alive
    ready = answers.pop("readyz")
    assert ready["status"] == 503 and ready["retry_after"]
    for name, response in answers.items():
        assert response["status"] == 503, (name, response)
        assert int(response["retry_after"]) > 0
        assert "Traceback" not in response["body"] and "OperationalError" not in response["body"]
        if name in ("api", "verify_json"):
            assert json.loads(response["body"])["code"] == "service_unavailable"
        else:
            assert "text/html" in response["type"] and "服务暂时不可用" in response["body"]
    reliability_record("faults", f"requests during a {database} outage", len(answers) + 2)
    failed = sum(r["status"] != 503 for r in answers.values())
    reliability_record("faults", f"of those not answered 503 + Retry-After ({database})", failed)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_gunicorn_answers_503_and_logs_no_id_numbers(tmp_path):
    """The web server as `onestop serve` and a deployment run it (gunicorn with the product's
    logger class), with PostgreSQL down."""
    port = _closed_port()
    env = _env(tmp_path, UNREACHABLE["postgresql"](tmp_path))
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:onestop.ops.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",  # gthread, as served (the sync worker keeps no connection alive)
                "2",
                "onestop.config.wsgi:application",
            ],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(base + "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
            status, headers, body = _get(base + "/verify/QINBEI-20261120-0001-01/")
            assert status == 503 and int(headers["Retry-After"]) > 0
            assert "服务暂时不可用" in body.decode()
            status, headers, body = _get(
                base + "/api/v1/tasks", {"Authorization": "Bearer osk_k1.secret"}
            )
            assert status == 503 and json.loads(body)["code"] == "service_unavailable"
            assert _get(base + "/readyz")[0] == 503
            # A person's next request 3 s later on the same keep-alive connection is
            # answered (gunicorn's default 2 s closed it as the client sent: session 21).
            kept_alive = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                for _ in range(2):
                    kept_alive.request("GET", "/healthz")
                    assert kept_alive.getresponse().read() and kept_alive.sock is not None
                    time.sleep(3)
            finally:
                kept_alive.close()
            # Personal data in a query string and a Referer (an old-style search link).
            _get(
                f"{base}/healthz?q={MOTHER_ID}&phone={PHONE}",
                {"Referer": f"{base}/supervise/?q={MOTHER_ID}"},
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = log.read_text(encoding="utf-8", errors="replace")
    access = [line for line in text.splitlines() if "GET /" in line]
    assert any("/healthz?q=" in line for line in access), text[-3000:]
    assert MOTHER_ID not in text and PHONE not in text
    assert "[身份证号已隐去]" in text
    assert "Traceback" not in text
