"""What an API request pays outside its own work (issue 10, session 27): CPU per request of a
few cheap requests, through Django's ``WSGIHandler`` as gunicorn calls it, with the
product's middleware and, in the same process and alternating round by round, with the
browsers' middleware run on API requests too (``MIDDLEWARE`` without
`common.middleware.BrowserOnlyStart`/`BrowserOnlyEnd`: what every API request paid before
session 27). Also the Python function calls per request (cProfile's count: the same on every
run, unlike CPU time on a shared box) and the SQL statements it sends. Not a test, nothing
asserted. Run::

    python -m onestop.ops.profile_api_path        # PostgreSQL: a database made, dropped
    python -m onestop.ops.profile_api_path --sqlite --rounds 5 --profile "GET /api/v1/me"

Requests: ``GET /healthz`` (no API: the middleware and the view's bound), an empty task list
(``GET /api/v1/tasks``), ``GET /api/v1/me``, a claims batch of an unknown task (a write with
an ``Idempotency-Key``: 200, its result 404), and a refused token (401).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BROWSER_BLOCK = (
    "onestop.common.middleware.BrowserOnlyStart",
    "onestop.common.middleware.BrowserOnlyEnd",
)
AFTER = "product"
BEFORE = "browsers' middleware on API requests too"


def _environ(
    method: str, path: str, query: str, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


class _Caller:
    """Requests to one of the WSGI handlers (``current``)."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.handlers = handlers
        self.current = handlers[AFTER]

    def __call__(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[str, bytes]:
        status: list[str] = []
        answer = self.current(
            _environ(method, path, query, body, headers or {}),
            lambda line, _headers, *rest: status.append(line),
        )
        content = b"".join(answer)
        answer.close()
        return status[0], content


def _requests(call: _Caller, token: str) -> dict[str, Callable[[], tuple[str, bytes]]]:
    bearer = {"Authorization": f"Bearer {token}"}
    batch = json.dumps({"tasks": [{"id": 999_999_999}]}).encode()
    return {
        "GET /healthz (no API)": lambda: call("GET", "/healthz"),
        "GET /api/v1/tasks (empty)": lambda: call(
            "GET", "/api/v1/tasks", "state=ready&limit=100", headers=bearer
        ),
        "GET /api/v1/me": lambda: call("GET", "/api/v1/me", headers=bearer),
        "POST /api/v1/tasks/claims (an unknown task)": lambda: call(
            "POST",
            "/api/v1/tasks/claims",
            body=batch,
            headers={**bearer, "Idempotency-Key": uuid.uuid4().hex},
        ),
        "GET /api/v1/me (a refused token)": lambda: call(
            "GET", "/api/v1/me", headers={"Authorization": "Bearer osk_nobody.nothing"}
        ),
    }


def _calls(request: Callable[[], object]) -> int:
    profiler = cProfile.Profile()
    profiler.enable()
    request()
    profiler.disable()
    return int(pstats.Stats(profiler).total_calls)  # type: ignore[attr-defined]


def _statements(request: Callable[[], object]) -> int:
    """The SQL statements one request sends, as Django logs them (BEGIN and COMMIT
    among them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        request()
    return len(captured.captured_queries)


def measure(rounds: int, count: int, profile: str, top: int) -> str:
    """The table (and cProfile's top functions of ``profile``'s request, product handler)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from onestop.simulate.credentials import demo_credentials

    handlers = {AFTER: WSGIHandler()}
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m not in BROWSER_BLOCK]):
        handlers[BEFORE] = WSGIHandler()
    call = _Caller(handlers)
    police = next(c for c in demo_credentials() if c.key_id.startswith("osk_qinbei_police"))
    requests = _requests(call, police.token)
    lines = []
    for name, request in requests.items():
        lines.append(f"- {name}: {request()[0]}")
    cpu: dict[tuple[str, str], list[float]] = {}
    for handler in handlers:  # warm: each handler's first requests load what they use
        call.current = handlers[handler]
        for request in requests.values():
            for _ in range(100):
                request()
    for _ in range(rounds):
        for name, request in requests.items():
            for handler in handlers:
                call.current = handlers[handler]
                started = time.process_time()
                for _ in range(count):
                    request()
                cpu.setdefault((name, handler), []).append((time.process_time() - started) / count)
    lines += [
        "",
        "| request | middleware | CPU µs per request (median of rounds) | lowest round "
        "| Python calls | statements |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (name, handler), seconds in cpu.items():
        call.current = handlers[handler]
        lines.append(
            f"| {name} | {handler} | {statistics.median(seconds) * 1e6:.0f} "
            f"| {min(seconds) * 1e6:.0f} | {_calls(requests[name])} "
            f"| {_statements(requests[name])} |"
        )
    if profile:
        call.current = handlers[AFTER]
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(count):
            requests[profile]()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
        lines += ["", out.getvalue()]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    from onestop.ops import profile_case

    parser = argparse.ArgumentParser(
        prog="python -m onestop.ops.profile_api_path", description=__doc__
    )
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each request")
    parser.add_argument("--count", type=int, default=300, help="requests per round")
    parser.add_argument("--profile", default="", help="cProfile this request (its name)")
    parser.add_argument("--top", type=int, default=40, help="functions listed with --profile")
    parser.add_argument("--postgres", help=f"server URL (default {profile_case.DEFAULT_PG_URL})")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    args = parser.parse_args(list(argv) if argv is not None else None)
    with tempfile.TemporaryDirectory(prefix="onestop-api-path-") as tmp:
        folder = Path(tmp)
        with profile_case._database(args, folder) as url:
            os.environ["DATABASE_URL"] = url
            os.environ["ONESTOP_DATA_DIR"] = str(folder)
            os.environ["ONESTOP_SEAL_KEYS_DIR"] = str(folder / "seal-keys")
            os.environ["ONESTOP_RATE_API"] = "1000000/m"  # as bench_e2e: checked, never hit
            os.environ.setdefault("ONESTOP_LOG_LEVEL", "ERROR")
            os.environ["DJANGO_SETTINGS_MODULE"] = "onestop.config.settings"
            import django

            django.setup()
            import logging

            logging.getLogger("django.request").setLevel(logging.ERROR)  # the 401s' warnings
            profile_case._prepare_database()
            print(measure(args.rounds, args.count, args.profile, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
