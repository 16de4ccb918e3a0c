"""No request with odd bytes returns 500 (issue 8, defect 9: "A NUL byte in a URL gives
HTTP 500 on PostgreSQL (`/verify/a%00b.json`, `/verify/?serial=%00`, `/counter/cases/%00/`,
`/supervise/?q=%00`, `/work/elicences/%00.pdf`)").

Every URL pattern of the project (walked from the URL resolver, parameters filled with
hostile values), odd query strings and bodies, as anonymous, as each staff role, as a
parent and as an API client. Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL
(where NUL in text used to raise inside the database driver).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from onestop.accounts.models import Role
from onestop.integration.tests.support import hospital
from onestop.testing.factories import officer, parent, staff
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db

# What goes into a path parameter (percent-encoded as an attacker sends it).
HOSTILE_PARAMS = (
    "%00",
    "a%00b",
    "%ff",
    "%c0%ae%c0%ae",  # overlong UTF-8 for ".."
    "%ed%a0%80",  # a lone surrogate, UTF-8 encoded
    "..",
    "%2e%2e%2f%2e%2e",
    "%0d%0aSet-Cookie:%20x=1",
    "9" * 40,  # beyond any integer column
    "A" * 3000,  # a very long segment
    "%e4%b8%ad%e6%96%87",  # plain Chinese: must still be no 500
    "%3Cscript%3E'%22",
)
# Appended to each URL filled with an ordinary value.
HOSTILE_QUERIES = (
    "?q=%00",
    "?serial=%00&c=a%00b&s=%00",
    "?%ff=1&c=%c0%af",
    "?s=%ed%a0%80&format=json",
    "?page=999999999999999999999&number=%0d%0a",
)
HOSTILE_SUFFIXES = ("%00", "%ff", "%00.json", "/..%2f..%2f")
FORM_BODIES: tuple[tuple[bytes, str], ...] = (
    (b"q=%00&serial=%00&name=a%00b", "application/x-www-form-urlencoded"),
    (b"q=%ff%fe&%c0%af=1", "application/x-www-form-urlencoded"),
    (
        b'--B\r\nContent-Disposition: form-data; name="q"\r\n\r\n\x00\xff\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="a\x00.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--B--\r\n",
        "multipart/form-data; boundary=B",
    ),
    (b'{"q": "\\u0000", "items": ["\\ud800"], "number": "a\\u0000"}', "application/json"),
    (b"\xff\xfe{", "application/json"),
)


def _templates() -> list[str]:
    """Every URL pattern as a path template with ``{}`` where its parameters go."""

    def walk(patterns: Any, prefix: str) -> Iterator[str]:
        for entry in patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, text)
            elif isinstance(entry, URLPattern):
                text = re.sub(r"<(?:\w+:)?\w+>", "{}", text)  # path() converters
                text = re.sub(r"\(\?P<\w+>[^)]*\)", "{}", text)  # re_path() groups
                yield "/" + re.sub(r"\^|\$|\\Z", "", text)

    return sorted(set(walk(get_resolver().url_patterns, "")))


def _urls(template: str) -> Iterator[str]:
    slots = template.count("{}")
    plain = template.replace("{}", "X1")
    yield plain
    for value in HOSTILE_PARAMS if slots else ():
        yield template.replace("{}", value)
    for query in HOSTILE_QUERIES:
        yield plain + query
    for suffix in HOSTILE_SUFFIXES:
        yield plain + suffix
    yield "/%00" + plain.lstrip("/")


def _clients() -> dict[str, tuple[Client, Any]]:
    """Anonymous, the staff roles, a parent, and an API client (bearer token)."""
    admin = staff(Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    users: dict[str, Any] = {
        "anonymous": None,
        "admin": admin,
        "supervisor": staff(Role.SUPERVISOR, kind="division", code="450703"),
        "clerk": staff(Role.CLERK, kind="hospital", code="qinbei-mch"),
        "officer": officer("police", "police_station", "qinbei-xintang"),
        "parent": parent("13800000000"),
    }
    clients: dict[str, tuple[Client, Any]] = {
        name: (Client(raise_request_exception=False), user) for name, user in users.items()
    }
    token = hospital().token
    clients["api client"] = (
        Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}"),
        None,
    )
    return clients


def test_no_odd_request_gets_a_server_error(settings, media_root):
    settings.RATE_LIMITS = {}  # every request must reach the views, none stopped at 429
    templates = _templates()
    assert len(templates) > 100  # the whole project, admin and API included
    tried = 0
    failures: list[str] = []
    refused = 0
    for role, (client, user) in _clients().items():
        for template in templates:
            if role not in ("admin", "anonymous") and template.startswith("/admin/"):
                if "/audit/" not in template and template.count("/") > 3:
                    continue  # the model admins share one code path: admin and one sample
            if user is not None:
                client.force_login(user)  # a logout URL in the table signs the user out
            plain = template.replace("{}", "X1")
            requests: list[tuple[str, str, bytes, str]] = [
                ("GET", url, b"", "") for url in _urls(template)
            ]
            requests += [("POST", plain, body, kind) for body, kind in FORM_BODIES]
            requests += [
                ("POST", url, b"q=1", "application/x-www-form-urlencoded")
                for url in _urls(template)
                if "%00" in url
            ][:2]
            for method, url, body, kind in requests:
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.generic(method, url, body, content_type=kind)
                tried += 1
                refused += response.status_code == 400
                if response.status_code >= 500:
                    failures.append(f"{role} {method} {url[:120]} -> {response.status_code}")
                else:
                    assert b"Traceback" not in response.content
    reliability_record(
        "odd requests", "odd URLs and bodies tried (every URL pattern, 7 roles)", tried
    )
    reliability_record("odd requests", "answered with 5xx", len(failures))
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} of {tried})"
    assert refused > 0


@pytest.mark.parametrize(
    "url",
    [
        "/verify/a%00b.json",
        "/verify/?serial=%00",
        "/counter/cases/%00/",
        "/supervise/?q=%00",
        "/work/elicences/%00.pdf",
        "/verify/%ff/",
        "/my/cases/%c0%ae%c0%ae/",
        "/verify/?c=%ed%a0%80",
    ],
)
def test_the_reported_urls_are_refused_with_a_chinese_400(url):
    response = Client().get(url)
    assert response.status_code == 400
    assert "无法识别的字符" in response.content.decode()


def test_odd_form_values_are_refused_before_any_view():
    client = Client()
    client.force_login(staff(Role.SUPERVISOR, kind="division", code="450703"))
    response = client.post("/supervise/", {"q": "4507\x0003"})
    assert response.status_code == 400 and "无法识别的字符" in response.content.decode()
    # Line breaks and tabs in a form value (a textarea) are ordinary input.
    assert client.post("/supervise/", {"q": "a\r\n\tb"}).status_code == 200


def test_odd_api_requests_get_json():
    response = Client().get("/api/v1/tasks?state=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    token = Client().get("/api/v1/tasks", HTTP_AUTHORIZATION="Bearer osk_\x00.secret")
    assert token.status_code == 400 and token.json()["code"] == "bad_request"


ODD_COOKIES = (
    'sessionid="\\000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
    'sessionid="aaaaaaaa\\377\\376"; csrftoken="\\000"',
    'django_language="\\000"; sessionid=' + "a" * 5000,
)


def test_odd_cookies_are_dropped_not_a_server_error():
    # Python's cookie parser turns quoted "\000" escapes into real NUL characters.
    client = Client(raise_request_exception=False)
    urls = ("/", "/my/cases/", "/work/", "/supervise/", "/verify/", "/accounts/login/")
    tried = [(url, cookie) for cookie in ODD_COOKIES for url in urls]
    failed = [
        (url, cookie)
        for url, cookie in tried
        if client.get(url, HTTP_COOKIE=cookie).status_code >= 500
    ]
    reliability_record("odd requests", "requests with odd cookies (NUL, long)", len(tried))
    reliability_record("odd requests", "of those answered 5xx", len(failed))
    assert not failed
