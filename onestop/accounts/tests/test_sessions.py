"""Session and user in one statement (onestop.accounts.sessions; ADR 0026 amendment), through
HTTP: a signed-in request reads its session row joined to its user, and every check of
Django's own path still holds — a password change signs out the other sessions, a
deactivated user is signed out at the next request, an expired or idle session is
refused, signing out deletes the row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.accounts.models import User, UserSession
from onestop.testing.factories import STAFF_PASSWORD, parent, staff

pytestmark = [pytest.mark.django_db, pytest.mark.real_second_factor]

LOGIN = "/accounts/login/"
QUEUE = "/work/"


def _officer() -> User:
    return staff("officer", department="police", kind="police_station", code="qinbei-xintang")


def _sign_in(username: str) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 302
    assert client.get(QUEUE).status_code == 200
    return client


def _signed_out(client: Client, page: str = QUEUE) -> bool:
    response = client.get(page)
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


def _later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    moved = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moved)


def _user_reads(client: Client, page: str) -> list[str]:
    """The statements that read the session or the user (by Django's ORM)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith(('SELECT "accounts_user"', 'SELECT "onestop_session"'))
    ]


def test_a_signed_in_request_reads_its_session_and_user_in_one_statement():
    client = Client()
    mother = parent("13800000011")
    client.force_login(mother)
    client.get("/my/guidance/")  # the session's first write (last-seen time) is not counted
    reads = _user_reads(client, "/my/messages/")
    assert len(reads) == 1
    assert 'JOIN "accounts_user"' in reads[0]
    assert UserSession.objects.get().user_id == mother.pk


def test_a_password_change_signs_out_the_other_sessions():
    officer = _officer()
    first, second = _sign_in(officer.username), _sign_in(officer.username)
    officer.set_password("another-Str0ng-passphrase")
    officer.save()  # as the administrator's form does
    assert _signed_out(first)
    assert _signed_out(second)
    assert not UserSession.objects.filter(user=officer).exists()  # flushed, not only refused


def test_a_deactivated_user_is_signed_out_at_the_next_request():
    officer = _officer()
    client = _sign_in(officer.username)
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    assert _signed_out(client)
    assert _signed_out(client)  # and stays so (as with Django's own read: refused, not flushed)


def test_an_expired_session_is_refused(monkeypatch, settings):
    officer = _officer()
    client = _sign_in(officer.username)
    _later(monkeypatch, timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
    response = client.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_session_past_its_expiry_is_refused_by_its_row_alone():
    """The read by key (compiled once per process) checks the row's ``expire_date``, as
    Django's own read did in its WHERE: a row past it signs nobody in, however recently
    the person was active (the idle timeout alone would not refuse it here)."""
    officer = _officer()
    client = _sign_in(officer.username)
    assert not _signed_out(client)
    UserSession.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert _signed_out(client)


def test_an_idle_session_is_refused_and_activity_is_written_at_most_every_30_seconds(
    monkeypatch,
):
    officer = _officer()
    client = _sign_in(officer.username)
    with CaptureQueriesContext(connection) as queries:
        client.get(QUEUE)
    assert not any(q["sql"].startswith("UPDATE") and "onestop_session" in q["sql"] for q in queries)
    _later(monkeypatch, timedelta(seconds=31))
    with CaptureQueriesContext(connection) as queries:
        client.get(QUEUE)
    assert any(q["sql"].startswith("UPDATE") and "onestop_session" in q["sql"] for q in queries)
    _later(monkeypatch, timedelta(minutes=31, seconds=31))
    response = client.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert SESSION_KEY not in client.session


def test_signing_out_deletes_the_row_and_the_cookie_no_longer_signs_in():
    officer = _officer()
    client = _sign_in(officer.username)
    cookie = client.cookies["sessionid"].value
    assert client.post("/accounts/logout/").status_code == 302
    assert not UserSession.objects.filter(pk=cookie).exists()
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get(QUEUE).status_code == 302


def test_a_row_without_its_user_column_still_signs_in_through_djangos_own_read():
    """A session whose column is empty (or names someone else) is read as Django reads it:
    the user by the session data, through the backend."""
    officer = _officer()
    client = _sign_in(officer.username)
    UserSession.objects.update(user=None)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(QUEUE).status_code == 200
    assert any(q["sql"].startswith('SELECT "accounts_user"') for q in queries)
    other = _officer()
    UserSession.objects.update(user=other)
    response = client.get(QUEUE)
    assert response.status_code == 200
    # the request's user (the queue may answer from its stamp, without a template context)
    assert response.wsgi_request.user.pk == officer.pk
