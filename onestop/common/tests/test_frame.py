"""What every request goes through, made cheaper without changing an answer (issue 10,
"what every request pays before and after the view"): the API's URLs tried first, the
Content-Security-Policy's text kept per process."""

from __future__ import annotations

import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parser  # type: ignore[import-not-found]
import time
from collections.abc import Iterator

import pytest
from csp.constants import NONCE
from csp.middleware import CSPMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.cache import add_never_cache_headers
from django.utils.functional import lazy

from onestop.common import httpguard, middleware

API = "api/v1/"


def _leaves(
    patterns: list[URLPattern | URLResolver], regexes: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    for pattern in patterns:
        chain = (*regexes, pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            yield from _leaves(pattern.url_patterns, chain)
        else:
            yield chain


def _literal_prefix(chain: tuple[str, ...]) -> tuple[str, bool]:
    """The text every path a chain of URL regexes matches starts with, and whether the
    chain matches exactly that text and nothing else."""
    prefix = ""
    for position, regex in enumerate(chain):
        ops = list(sre_parser.parse(regex))
        if not ops or ops[0] != (sre_constants.AT, sre_constants.AT_BEGINNING):
            return prefix, False  # searched anywhere in the rest: nothing more is known
        ops = ops[1:]
        while ops and ops[0][0] == sre_constants.LITERAL:
            prefix += chr(ops.pop(0)[1])
        last = position == len(chain) - 1
        if ops == [(sre_constants.AT, sre_constants.AT_END_STRING)] and last:
            return prefix, True
        if ops:
            return prefix, False
    return prefix, False


def test_no_other_url_matches_a_path_under_the_api():
    """The API's URLs come first: that changes no answer only when no other pattern could
    match a path under api/v1/ (else it would have answered it before)."""
    patterns = get_resolver().url_patterns
    first = patterns[0]
    assert isinstance(first, URLResolver) and str(first.pattern) == API
    others = list(_leaves(patterns[1:], ()))
    assert len(others) > 100  # every page and the admin's, walked through their includes
    for chain in others:
        prefix, exact = _literal_prefix(chain)
        if exact:
            assert not prefix.startswith(API), chain
        else:
            # Open-ended: its fixed start must leave the API's paths out.
            assert not prefix.startswith(API) and not API.startswith(prefix), chain


def test_the_literal_prefix_reads_what_django_matches():
    """The proof's reading of a pattern, checked on the shapes it meets."""
    assert _literal_prefix((r"^", r"^my/cases/(?P<n>[0-9]+)/\Z")) == ("my/cases/", False)
    assert _literal_prefix((r"^", r"^\Z")) == ("", True)
    assert _literal_prefix((r"^admin/", r"(?P<url>.*)$")) == ("admin/", False)
    assert _literal_prefix((r"^healthz\Z",)) == ("healthz", True)
    # A pattern that could match the API's paths is caught (the assertion's two sides).
    assert API.startswith(
        _literal_prefix(
            (
                r"^",
                r"^(?P<x>[^/]+)/v1/",
            )
        )[0]
    )
    assert _literal_prefix((r"^api/v1/tasks\Z",)) == ("api/v1/tasks", True)


@pytest.mark.parametrize(
    "path", ["/api/v1/tasks", "/api/v1/tasks/12/claim", "/api/v1/me", "/api/v1/docs"]
)
def test_api_paths_resolve_to_the_api(path):
    assert resolve(path).namespace == "api-v1"


Headers = tuple[str | None, str | None]


def _both(response_attrs: dict[str, object], settings_kwargs: dict[str, object]) -> list[Headers]:
    """The headers django-csp's middleware and ours set on the same response."""
    factory = RequestFactory()
    answers: list[Headers] = []
    with override_settings(**settings_kwargs):
        for csp_middleware in (
            CSPMiddleware(lambda r: HttpResponse()),
            httpguard.ContentSecurityPolicyMiddleware(lambda r: HttpResponse()),
        ):
            for _twice in range(2):  # built, then kept
                request = factory.get("/x/")
                csp_middleware.process_request(request)
                response = HttpResponse()
                for name, value in response_attrs.items():
                    setattr(response, name, value)
                csp_middleware.process_response(request, response)
                answers.append(
                    (
                        response.get("Content-Security-Policy"),
                        response.get("Content-Security-Policy-Report-Only"),
                    )
                )
    return answers


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"_csp_update": {"style-src": ["'unsafe-inline'"]}},
        {"_csp_replace": {"img-src": {"'self'", "data:"}}},
        {"_csp_config": {"default-src": ["'none'"], "upgrade-insecure-requests": True}},
        {"_csp_exempt": True},
        {"_csp_update": {"report-uri": [lazy(lambda: "/csp/", str)()]}},  # not kept
    ],
)
def test_the_kept_policy_is_django_csps(attrs):
    answers = _both(attrs, {})
    assert len(set(answers)) == 1, answers
    assert (answers[0][0] is None) == ("_csp_exempt" in attrs)
    assert answers[0][0] is None or "default-src " in answers[0][0]


def test_a_part_that_is_not_plain_text_is_built_each_time():
    httpguard._POLICIES.clear()
    _both({"_csp_update": {"report-uri": [lazy(lambda: "/csp/", str)()]}}, {})
    assert list(httpguard._POLICIES) == [(True, None, None, None)]  # the report-only one


def test_a_changed_setting_is_not_answered_from_the_kept_text():
    policy = {"DIRECTIVES": {"default-src": ["'none'"], "script-src": ["https://b.example"]}}
    report = {"DIRECTIVES": {"default-src": ["'self'"]}, "EXCLUDE_URL_PREFIXES": ["/y/"]}
    settings_kwargs = {
        "CONTENT_SECURITY_POLICY": policy,
        "CONTENT_SECURITY_POLICY_REPORT_ONLY": report,
    }
    answers = _both({}, settings_kwargs)
    assert len(set(answers)) == 1, answers
    # (django-csp orders the directives by a set: by the process's string hashes)
    assert set(str(answers[0][0]).split("; ")) == {
        "default-src 'none'",
        "script-src https://b.example",
    }
    assert answers[0][1] == "default-src 'self'"
    # … and the product's own policy once the override is gone.
    assert "script-src 'self'" in str(_both({}, {})[0][0])


def test_a_nonce_asked_for_is_in_the_header():
    csp_middleware = httpguard.ContentSecurityPolicyMiddleware(lambda r: HttpResponse())
    request = RequestFactory().get("/x/")
    csp_middleware.process_request(request)
    with override_settings(
        CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": ["'self'", NONCE]}}
    ):
        nonce = str(request.csp_nonce)  # type: ignore[attr-defined]
        response = csp_middleware.process_response(request, HttpResponse())
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "before",
    [
        {},
        {"Cache-Control": "public, max-age=60"},
        {"Expires": "Thu, 01 Jan 2026 00:00:00 GMT"},
        {"Cache-Control": "no-cache=Set-Cookie"},
    ],
)
def test_never_cache_headers_are_djangos(before, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.25)
    ours, djangos = HttpResponse(), HttpResponse()
    for response in (ours, djangos):
        for name, value in before.items():
            response[name] = value
    httpguard.never_cache_headers(ours)
    add_never_cache_headers(djangos)
    assert list(ours.items()) == list(djangos.items())  # same values, same order
    assert "no-store" in ours["Cache-Control"]


@pytest.mark.django_db
def test_an_api_call_reads_no_user_and_makes_no_message_storage(monkeypatch):
    """A bearer-token call without cookies: nobody is signed in, no message storage is
    made; since session 27 the browsers' middleware are passed by (`BrowserOnlyStart`), so
    the answer no longer says it varies by cookie (it read none)."""
    from onestop.accounts import sessions
    from onestop.integration.tests.support import hospital

    read: list[object] = []
    monkeypatch.setattr(sessions, "get_user", lambda request: read.append(request))
    made: list[object] = []

    def storage(request: HttpRequest) -> object:
        made.append(request)
        return default_storage(request)

    monkeypatch.setattr("onestop.common.middleware.default_storage", storage)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {hospital().token}").get("/api/v1/me")
    assert response.status_code == 200
    assert read == [] and made == []
    assert not response.has_header("Vary")
    assert response["Cache-Control"] == httpguard.NEVER_CACHE


@pytest.mark.django_db
def test_a_signed_in_page_still_reads_its_user_and_shows_its_messages():
    from django.contrib import messages

    from onestop.testing.factories import parent

    client = Client()
    client.force_login(parent("13800000001"))
    request = RequestFactory().get("/my/cases/")
    request.session = client.session
    request.user = AnonymousUser()
    messages_middleware = middleware.LazyMessageMiddleware(lambda r: HttpResponse())
    messages_middleware.process_request(request)
    messages.info(request, "kept")  # the storage made on first use
    response = messages_middleware.process_response(request, HttpResponse())
    assert "messages" in response.cookies  # stored as Django's middleware stores it
    page = client.get("/my/cases/")
    assert page.status_code == 200 and page.wsgi_request.user.is_authenticated
