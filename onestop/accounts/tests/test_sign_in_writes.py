"""An officer's password sign-in, through HTTP, as statements and rows (session 25, issue 10
part 3: the 1,000 users' arrival is 150 sign-ins): the new session is written once, with
its last-seen time; the lockout's count is one statement; the sign-in record (axes'
AccessLog) still names the session, so signing out still closes it; the idle timeout
counts from the sign-in."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from axes.models import AccessLog
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.accounts.middleware import SEEN_KEY
from onestop.accounts.models import User, UserSession
from onestop.accounts.sessions import SessionStore
from onestop.testing.factories import STAFF_PASSWORD, staff

pytestmark = [pytest.mark.django_db, pytest.mark.real_second_factor]

LOGIN = "/accounts/login/"
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _officer() -> User:
    return staff("officer", department="police", kind="police_station", code="qinbei-xintang")


def _post_sign_in(client: Client, user: User) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(LOGIN, {"username": user.username, "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    # (the test's transaction makes each atomic block a savepoint: not statements of ours)
    return [q["sql"] for q in queries if not q["sql"].startswith(SAVEPOINTS)]


def _of_sessions(statements: list[str]) -> list[str]:
    return [s.split(" ", 1)[0] for s in statements if "onestop_session" in s.split("WHERE")[0]]


def test_the_sign_in_writes_its_session_once_with_the_last_seen_time():
    officer = _officer()
    client = Client()
    statements = _post_sign_in(client, officer)
    # Django's own: a SELECT of whether the new key is in use, an INSERT of the session
    # before the user was in it, an UPDATE of it at the end of the request.
    assert _of_sessions(statements) == ["INSERT"]
    row = UserSession.objects.get(pk=client.cookies["sessionid"].value)
    data = SessionStore().decode(row.session_data)
    assert data[SESSION_KEY] == str(officer.pk) and row.user_id == officer.pk
    assert abs(data[SEEN_KEY] - timezone.now().timestamp()) < 5
    # The page the sign-in leads to writes nothing of the session (its last-seen time is
    # already there): the session's read, and no UPDATE.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert _of_sessions([q["sql"] for q in queries]) == ["SELECT"]


def test_the_sign_in_costs_six_statements_and_a_failed_one_still_counts():
    """Lockout count (one statement for the account's and the address's failures), the
    user, the old attempts' check, the sign-in record, last_login, the session."""
    officer = _officer()
    statements = _post_sign_in(Client(), officer)
    assert len(statements) <= 6, statements
    assert sum("axes_accessattempt" in s and "SUM(" in s for s in statements) == 1
    wrong = Client().post(LOGIN, {"username": officer.username, "password": "wrong-password-1"})
    assert wrong.status_code == 200 and "用户名或密码不正确" in wrong.content.decode()
    assert _post_sign_in(Client(), officer)  # one failure does not lock


def test_the_sign_in_record_names_the_session_and_signing_out_closes_it():
    officer = _officer()
    client = Client()
    _post_sign_in(client, officer)
    key = client.cookies["sessionid"].value
    record = AccessLog.objects.get(username=officer.username)
    assert record.session_hash == hashlib.sha256(key.encode()).hexdigest()
    assert record.logout_time is None
    assert client.post("/accounts/logout/").status_code == 302
    record.refresh_from_db()
    assert record.logout_time is not None
    assert not UserSession.objects.filter(pk=key).exists()


def test_a_session_signed_in_and_left_is_idle_from_the_sign_in(monkeypatch):
    """Before session 25 the idle timeout counted from the first page after the sign-in: a
    session signed in and left for an hour opened its next page. It counts from the
    sign-in now."""
    officer = _officer()
    client = Client()
    _post_sign_in(client, officer)
    moved = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr(timezone, "now", lambda: moved)
    response = client.get("/work/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert SESSION_KEY not in client.session


def test_a_second_sign_in_over_a_signed_in_session_replaces_it():
    first, second = _officer(), _officer()
    client = Client()
    _post_sign_in(client, first)
    old = client.cookies["sessionid"].value
    _post_sign_in(client, second)
    new = client.cookies["sessionid"].value
    assert new != old and not UserSession.objects.filter(pk=old).exists()
    assert UserSession.objects.get(pk=new).user_id == second.pk
    assert client.get("/work/").status_code == 200


def test_a_new_key_already_in_use_gets_another_and_leaves_that_row_alone():
    taken = SessionStore()
    taken["mine"] = 1
    taken.save()
    keys = iter([str(taken.session_key), "k" * 32])
    store = SessionStore()
    store["data"] = "kept"
    store.save()
    old = store.session_key
    store._get_new_session_key = lambda: next(keys)  # type: ignore[method-assign]
    store.cycle_key()
    assert store.session_key == taken.session_key  # the key chosen; nothing written yet
    store.save()
    assert store.session_key == "k" * 32
    assert SessionStore(session_key="k" * 32).load() == {"data": "kept"}
    assert SessionStore(session_key=taken.session_key).load() == {"mine": 1}
    assert not UserSession.objects.filter(pk=old).exists()
    store["more"] = 2
    store.save()  # an UPDATE of its row now
    assert SessionStore(session_key="k" * 32).load() == {"data": "kept", "more": 2}


def test_a_session_flushed_after_a_new_key_is_created_afresh():
    store = SessionStore()
    store["a"] = 1
    store.save()
    store.cycle_key()
    store.flush()
    store["b"] = 2
    store.save()
    assert store.session_key is not None
    assert SessionStore(session_key=store.session_key).load() == {"b": 2}
    store["c"] = 3
    store.save()
    assert SessionStore(session_key=store.session_key).load() == {"b": 2, "c": 3}


def test_a_key_in_use_is_refused_by_the_insert():
    taken = SessionStore()
    taken.save()
    store = SessionStore()
    store._session_key = taken.session_key
    with pytest.raises(CreateError):
        store.save(must_create=True)


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_user_was_deleted_meanwhile_is_refused_once_not_retried(monkeypatch):
    """Session 25's review: the INSERT refused for another reason than a key in use (the
    user deleted between the password check and the end of the request: the foreign key,
    checked at commit) is raised after one try — it once took a new key for ever."""
    made = []
    new_key = SessionStore._get_new_session_key

    def counted(self):
        made.append(1)
        if len(made) > 5:
            raise AssertionError("a new key for ever")
        return new_key(self)

    monkeypatch.setattr(SessionStore, "_get_new_session_key", counted)
    session = SessionStore()
    session["x"] = 1
    session.cycle_key()
    session[SESSION_KEY] = "987654321"  # no such user
    with pytest.raises(CreateError):
        session.save()
    assert len(made) == 1 and not UserSession.objects.exists()
