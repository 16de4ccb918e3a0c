"""The embedded demo keeps the second factor on: demo admin and supervisors sign in with
the published demo TOTP key (ADR 0013), so a reviewer can still log in as each account."""

from __future__ import annotations

from base64 import b32encode
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from onestop.ops.demo import DEMO_PASSWORD, DEMO_TOTP_KEY, DEMO_TOTP_SECRET, seed_demo

pytestmark = [pytest.mark.django_db, pytest.mark.real_second_factor]


def test_demo_admin_and_supervisor_sign_in_with_the_demo_totp(media_root):
    seed_demo()
    assert b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode() == DEMO_TOTP_SECRET.replace(" ", "")
    for username, page in (("admin", "/admin/"), ("qinbei-supervisor", "/supervise/")):
        client = Client()
        login = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
        assert login.status_code == 302
        assert client.get(page)["Location"].startswith("/accounts/otp/?")
        out = StringIO()
        call_command("demo_totp", username, stdout=out)
        verified = client.post("/accounts/otp/", {"token": out.getvalue().strip(), "next": page})
        assert verified.status_code == 302
        assert client.get(page).status_code == 200
    # Officers and clerks sign in with the password alone (default setting).
    clerk = Client()
    clerk.post("/accounts/login/", {"username": "qinbei-clerk", "password": DEMO_PASSWORD})
    assert clerk.get("/counter/").status_code == 200
