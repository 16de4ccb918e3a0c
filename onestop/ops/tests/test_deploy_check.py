"""`manage.py check --deploy` with the documented production settings gives 0 warnings, and
those settings really send HSTS (issue 8: "`manage.py check --deploy` with the documented
production settings: 0 warnings"; "HSTS when secure cookies are on").

The production environment below is the one docs/operations.md lists.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from onestop.testing.processes import ROOT, child_env


def production_env(data_dir: Path) -> dict[str, str]:
    return child_env(
        data_dir,
        ONESTOP_DEBUG="0",
        ONESTOP_SECRET_KEY=secrets.token_urlsafe(50),
        ONESTOP_ALLOWED_HOSTS="onestop.example.gov.cn",
        ONESTOP_CSRF_TRUSTED_ORIGINS="https://onestop.example.gov.cn",
        ONESTOP_PUBLIC_BASE_URL="https://onestop.example.gov.cn",
        ONESTOP_SECURE_COOKIES="1",
        ONESTOP_SSL_REDIRECT="1",
        ONESTOP_PROXY_SSL_HEADER="1",
    )


def test_check_deploy_has_no_warnings_with_the_production_settings(tmp_path):
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output and "ERROR" not in output


HEADERS_SCRIPT = r"""
import json
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="onestop.example.gov.cn")
secure = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")  # no database here
plain = client.get("/verify/")
probe = client.get("/healthz")
print(json.dumps({
    "hsts": secure.get("Strict-Transport-Security"),
    "secure_status": secure.status_code,
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location"),
    "probe_status": probe.status_code,
}))
"""


def test_the_production_settings_send_hsts_and_redirect_to_https(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", HEADERS_SCRIPT],
        env=production_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["secure_status"] == 200  # behind the TLS proxy (X-Forwarded-Proto)
    assert answer["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert answer["plain_status"] == 301
    assert answer["plain_location"] == "https://onestop.example.gov.cn/verify/"
    assert answer["probe_status"] == 200  # the load balancer's probe stays on plain HTTP
