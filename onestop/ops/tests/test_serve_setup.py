"""`onestop serve` seeds demo accounts and demo API tokens only for the demo (issue 8:
"only for the demo (SQLite default or an explicit `--demo`), never silently into a
`DATABASE_URL` deployment")."""

from __future__ import annotations

import io

import pytest

from onestop.accounts.models import User
from onestop.cli import build_parser
from onestop.integration.models import ApiClient
from onestop.ops.demo import DEMO_PASSWORD
from onestop.ops.serve import demo_wanted, setup_database

pytestmark = pytest.mark.django_db


def test_demo_only_on_the_embedded_default_or_when_asked(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert demo_wanted(demo=False) is True
    monkeypatch.setenv("DATABASE_URL", "postgres://onestop@db.example:5432/onestop")
    assert demo_wanted(demo=False) is False
    assert demo_wanted(demo=True) is True
    assert build_parser().parse_args(["serve", "--demo"]).demo is True
    assert build_parser().parse_args(["serve"]).demo is False


def test_a_database_url_deployment_gets_no_demo_users_or_tokens(monkeypatch, media_root):
    monkeypatch.setenv("DATABASE_URL", "postgres://onestop@db.example:5432/onestop")
    out = io.StringIO()
    counts = setup_database(out, demo=demo_wanted(demo=False))
    assert User.objects.count() == 0
    assert ApiClient.objects.count() == 0
    assert "users" not in counts and counts["reference"] >= 0
    assert "no demo accounts" in out.getvalue()


def test_the_demo_gets_its_accounts(monkeypatch, media_root, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed
    monkeypatch.setenv("DATABASE_URL", "postgres://onestop@db.example:5432/onestop")
    setup_database(io.StringIO(), demo=demo_wanted(demo=True))
    admin = User.objects.get(username="admin")
    assert admin.check_password(DEMO_PASSWORD)
    assert ApiClient.objects.exists()
