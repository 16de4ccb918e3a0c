"""`LockoutHandler` (django-axes' database handler with its per-sign-in reads compiled
once, onestop.accounts.lockout) answers what axes' own handler answers: the failures
counted for a client — by account, by address, the larger — and the attempts the
clean-up deletes, on many rows and clients; in one statement each where axes used two
and a row read. The lockout itself, through HTTP: test_staff_sign_in.py."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.accounts.lockout import LockoutHandler

pytestmark = pytest.mark.django_db

USERNAMES = ["clerk-1", "Clerk-1", "clerk-1 ", "officer-tax-2", "超级管理员", "o'brien", "%", None]
ADDRESSES = ["203.0.113.1", "203.0.113.2", "198.51.100.7", "2001:db8::1", "::ffff:203.0.113.1"]
AGENTS = ["", "Mozilla/5.0", "curl/8", "Mozilla/5.0 (iPhone)", "python-requests/2"]


def _attempts(rng: random.Random, now: Any, share: float = 0.8) -> None:
    """Attempts of most (account, address, agent) triples — axes keeps one row per triple."""
    rows = AccessAttempt.objects.bulk_create(
        AccessAttempt(
            username=username,
            ip_address=address,
            user_agent=agent,
            http_accept="*/*",
            path_info="/accounts/login/",
            get_data="",
            post_data="",
            failures_since_start=rng.randint(1, 6),
        )
        for username in USERNAMES
        for address in ADDRESSES
        for agent in AGENTS
        if rng.random() < share
    )
    for row in rows:  # attempt_time is auto_now_add: set afterwards
        minutes = rng.choice([0, 1, 5, 14, 15, 16, 30, 90]) + rng.random()
        when = now - timedelta(minutes=minutes)
        AccessAttempt.objects.filter(pk=row.pk).update(attempt_time=when)
    # Some exactly at the cool-off's edge (15 minutes: counted, and deleted by the clean-up).
    edge = AccessAttempt.objects.order_by("pk")[:5]
    AccessAttempt.objects.filter(pk__in=[r.pk for r in edge]).update(
        attempt_time=now - timedelta(minutes=15)
    )


def _request(username: str | None, address: str | None, agent: str, now: Any) -> Any:
    request: Any = RequestFactory().post(
        "/accounts/login/", {} if username is None else {"username": username}
    )
    request.axes_ip_address = address
    request.axes_user_agent = agent
    request.axes_attempt_time = now
    request.axes_path_info = "/accounts/login/"
    request.axes_http_accept = "*/*"
    return request


def test_the_failures_counted_are_axes_own_on_many_clients():
    rng = random.Random(25)
    now = timezone.now()
    _attempts(rng, now)
    ours, axes = LockoutHandler(), AxesDatabaseHandler()
    compared = 0
    for username in [*USERNAMES, "nobody"]:
        for address in [*ADDRESSES, "192.0.2.1", None]:
            for agent in AGENTS[:2]:
                request = _request(username, address, agent, now)
                for credentials in (None, {"username": username}):
                    expected = axes.get_failures(request, credentials)
                    assert ours.get_failures(request, credentials) == expected
                    compared += 1
    assert compared > 200
    # The clients are not all zero: the comparison compares something.
    assert ours.get_failures(_request("clerk-1", "203.0.113.1", "", now)) > 0


def test_other_lockout_parameters_are_axes_own(settings):
    rng = random.Random(26)
    now = timezone.now()
    _attempts(rng, now, share=0.4)
    settings.AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "user_agent"]
    for username in USERNAMES[:4]:
        request = _request(username, "203.0.113.1", "curl/8", now)
        expected = AxesDatabaseHandler().get_failures(request)
        assert LockoutHandler().get_failures(request) == expected


def test_the_failures_are_one_statement():
    now = timezone.now()
    request = _request("clerk-1", "203.0.113.1", "", now)
    LockoutHandler().get_failures(request)  # compiled
    with CaptureQueriesContext(connection) as queries:
        assert LockoutHandler().get_failures(request) == 0
    assert len(queries) == 1


def test_the_clean_up_deletes_what_axes_deletes():
    rng = random.Random(27)
    now = timezone.now()
    _attempts(rng, now)
    threshold = now - timedelta(minutes=15)
    expired = set(AccessAttempt.objects.filter(attempt_time__lte=threshold).values_list("pk"))
    kept = set(AccessAttempt.objects.filter(attempt_time__gt=threshold).values_list("pk"))
    assert expired and kept
    request = _request("clerk-1", "203.0.113.1", "", now)
    assert LockoutHandler().clean_expired_user_attempts(request) == len(expired)
    assert set(AccessAttempt.objects.values_list("pk")) == kept
    # Nothing old enough: one statement, nothing deleted.
    with CaptureQueriesContext(connection) as queries:
        assert LockoutHandler().clean_expired_user_attempts(request) == 0
    assert len(queries) == 1
    assert set(AccessAttempt.objects.values_list("pk")) == kept


def test_axes_uses_it():
    assert isinstance(AxesProxyHandler.get_implementation(force=True), LockoutHandler)


def test_the_sign_in_record_is_axes_own():
    """The sign-in record (``AccessLog``, written with a compiled INSERT) is the row axes'
    own handler writes, every column but its id and its time (``auto_now_add``: now)."""
    from axes.models import AccessLog
    from django.contrib.sessions.middleware import SessionMiddleware

    from onestop.testing.factories import staff

    officer = staff("officer", department="tax", kind="division", code="450703")
    written = []
    for handler in (LockoutHandler(), AxesDatabaseHandler()):
        request = _request(officer.username, "2001:db8::7", "Mozilla/5.0 (iPhone)", timezone.now())
        SessionMiddleware(lambda r: None).process_request(request)  # type: ignore[arg-type]
        request.session.cycle_key()
        handler.user_logged_in(None, request, officer)
        row = AccessLog.objects.order_by("-pk").first()
        assert row is not None
        written.append(row)
    ours, axes = written
    skip = {"id", "attempt_time", "session_hash"}
    fields = [f.attname for f in AccessLog._meta.concrete_fields if f.attname not in skip]
    assert [getattr(ours, f) for f in fields] == [getattr(axes, f) for f in fields]
    assert ours.logout_time is None and ours.username == officer.username
    assert ours.ip_address == "2001:db8::7" and len(ours.session_hash) == 64
    assert abs((ours.attempt_time - axes.attempt_time).total_seconds()) < 5
