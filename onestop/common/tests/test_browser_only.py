"""The browsers' middleware passed by on an API request (`common.middleware.BrowserOnlyStart`
… `BrowserOnlyEnd`; ADR 0024 amendment of session 27), through HTTP: the API's refusals,
limits and security headers as before; no session read, written or made by an API call, even
one that carries a signed-in browser's cookie; browser pages keep their session, CSRF,
second factor and idle timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onestop.accounts.models import UserSession
from onestop.common import httpguard
from onestop.common.middleware import BrowserOnlyEnd, BrowserOnlyStart
from onestop.integration.tests.support import Api, hospital
from onestop.testing.factories import STAFF_PASSWORD, staff

pytestmark = pytest.mark.django_db

# What every answer of the product carries (SecurityMiddleware, XFrameOptionsMiddleware,
# django-csp, PrivateResponsesMiddleware).
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": httpguard.NEVER_CACHE,
}


def _api_answer(
    response: Any, status: int, code: str | None = None, *, early: bool = False
) -> None:
    """``early``: refused before the headers' middleware (odd bytes, a body too large), as
    ever: no-store where the refusal says so, no other header."""
    assert response.status_code == status, response.content
    for name, value in SECURITY_HEADERS.items():
        if not early:
            assert response[name] == value, name
    if not early:
        assert response["Content-Security-Policy"]
    assert response["Content-Type"].startswith("application/json")
    if code is not None:
        assert response.json()["code"] == code
    assert not response.cookies  # no session, no CSRF cookie
    assert not response.has_header("Vary")  # nothing of the answer depends on a cookie


def test_the_api_refuses_and_limits_as_before_with_its_headers(settings, media_root):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "3/d"}
    api = Api(hospital().token)
    _api_answer(api.get("/me"), 200)

    refused = Api("osk_nobody.not-a-secret").get("/me")
    _api_answer(refused, 401, "unauthorized")
    assert refused["WWW-Authenticate"] == "Bearer"
    _api_answer(Api(None).get("/me"), 401, "unauthorized")

    large = "x" * (settings.API_MAX_BODY_BYTES + 1)
    _api_answer(
        api.post("/cases", {"note": large}, key="k-1"), 413, "request_too_large", early=True
    )
    odd = api.client.get("/api/v1/tasks%00", headers={"Authorization": f"Bearer {api.token}"})
    _api_answer(odd, 400, "bad_request", early=True)
    _api_answer(api.get("/tasks?state=%01"), 400, "bad_request", early=True)
    assert odd["Cache-Control"] == httpguard.NEVER_CACHE

    _api_answer(api.get("/tasks/999999"), 404, "not_found")  # none, or another's: the same
    _api_answer(api.get("/tasks?limit=0"), 422, "invalid_request")
    limited = api.get("/me")  # the 4th counted call (refused before the view: not counted)
    _api_answer(limited, 429, "rate_limited")
    assert int(limited["Retry-After"]) >= 1
    assert not UserSession.objects.exists()


@pytest.mark.real_second_factor
def test_an_api_call_with_a_signed_in_cookie_reads_and_writes_no_session(monkeypatch):
    """A browser's session cookie sent to the API: no statement on the session table, the
    row left as it was, no cookie back (before: the session and its user were read, and
    its last activity written); the browser's own pages then behave as ever — left idle
    for 31 minutes, the session is signed out."""
    officer = staff("officer", department="police", kind="police_station", code="qinbei-xintang")
    browser = Client()
    signed_in = browser.post(
        "/accounts/login/", {"username": officer.username, "password": STAFF_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert browser.get("/work/").status_code == 200
    row = UserSession.objects.values().get()

    moved = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr(timezone, "now", lambda: moved)
    token = hospital().token
    with CaptureQueriesContext(connection) as queries:
        answer = browser.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    _api_answer(answer, 200)
    table = UserSession._meta.db_table
    assert not [q["sql"] for q in queries.captured_queries if table in q["sql"]]
    assert list(UserSession.objects.values()) == [row]

    page = browser.get("/work/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert not UserSession.objects.filter(session_key=row["session_key"]).exists()


@pytest.mark.real_second_factor
def test_browser_pages_keep_their_session_csrf_and_second_factor():
    form = Client(enforce_csrf_checks=True)
    page = form.get("/accounts/login/")
    assert page.status_code == 200 and "csrftoken" in page.cookies
    assert "Cookie" in page["Vary"]
    supervisor = staff("supervisor", kind="division", code="450703")
    fields = {"username": supervisor.username, "password": STAFF_PASSWORD}
    assert form.post("/accounts/login/", fields).status_code == 403  # no CSRF token
    assert not UserSession.objects.exists()
    token = page.cookies["csrftoken"].value
    signed_in = form.post("/accounts/login/", {**fields, "csrfmiddlewaretoken": token})
    assert signed_in.status_code == 302 and "sessionid" in signed_in.cookies
    assert UserSession.objects.count() == 1
    closed = form.get("/supervise/")  # a supervisor must enrol a second factor first
    assert closed.status_code == 302 and closed["Location"].startswith("/accounts/otp/setup/")
    for name, value in SECURITY_HEADERS.items():
        if name != "Cache-Control":
            assert closed[name] == value, name
    assert "no-store" in closed["Cache-Control"]


def _chain(*layers: Any) -> Any:
    """A middleware chain as Django builds it (each layer wrapped), around a view."""

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("view")

    handler: Any = convert_exception_to_response(view)
    for layer in reversed(layers):
        handler = convert_exception_to_response(layer(handler))
    return handler


class _Browser:
    """A browser's middleware: records the paths it saw."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _SEEN.append(request.path_info)
        return self.get_response(request)  # type: ignore[no-any-return]


_SEEN: list[str] = []


def test_an_api_request_passes_from_the_start_to_after_the_end():
    _SEEN.clear()
    chain = _chain(BrowserOnlyStart, _Browser, BrowserOnlyEnd)
    factory = RequestFactory()
    for path in ("/api/v1/me", "/my/cases/", "/apiary/", "/healthz"):
        assert chain(factory.get(path)).content == b"view"
    assert _SEEN == ["/my/cases/", "/apiary/", "/healthz"]


def test_a_start_without_an_end_is_refused_when_the_middleware_loads():
    with pytest.raises(ImproperlyConfigured):
        _chain(BrowserOnlyStart, _Browser)
