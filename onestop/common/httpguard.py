"""HTTP hardening (issue 8, ADR 0018): what every request and response goes through.

- ``RefuseOddRequestsMiddleware``: a NUL byte, another control character, invalid UTF-8
  (overlong forms, lone surrogates) in the path, the query string, form values or a JSON
  body is answered with 400 and a Chinese message before any view or database sees it
  (PostgreSQL refuses NUL in text: it used to be a 500, issue 8 defect 9).
- ``ErrorResponsesMiddleware`` and ``server_error`` (handler500): the database being
  unreachable is 503 with ``Retry-After``; a rate limit is 429 with ``Retry-After``. People
  get a Chinese page, /api/ clients ``{"code": ..., "message": ...}``; never a traceback.
- ``PrivateResponsesMiddleware``: ``Cache-Control: no-store`` on every response that may
  carry personal data (signed-in users, staff and parents' areas, the API); the API docs
  get the inline styles Swagger UI needs (scripts stay ``'self'``).
- ``ContentSecurityPolicyMiddleware``: django-csp's header, each policy's text built once
  per process (issue 10).
- ``healthz`` (the process answers) and ``readyz`` (the database answers).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from csp.constants import HEADER, HEADER_REPORT_ONLY, Nonce
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, DataError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from onestop.common.middleware import is_api
from onestop.common.ratelimit import RateLimited

log = logging.getLogger("onestop.http")

# Path and query string: no control character at all. Form values and JSON strings may hold
# tab and line breaks (a textarea), nothing else below U+0020, no DEL, no lone surrogates.
_PATH_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_VALUE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BROKEN_UTF8 = re.compile(r"%[89A-Fa-f][0-9A-Fa-f]")
MAX_PATH_BYTES = 2048
MAX_QUERY_BYTES = 8192
PERSONAL_PREFIXES = ("/my/", "/work/", "/counter/", "/supervise/", "/admin/", "/accounts/")


def _wants_json(request: HttpRequest) -> bool:
    """Machines: the API, and the JSON answers of /verify/."""
    path = request.path_info
    return is_api(request) or path.endswith(".json") or request.GET.get("format") == "json"


class OddRequest(Exception):
    """What was wrong, in words for the log (never the value itself)."""


def _text(raw: bytes, where: str, bad: re.Pattern[str]) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OddRequest(f"{where}: not UTF-8") from None
    if bad.search(text):
        raise OddRequest(f"{where}: control character")
    return text


def _wsgi_bytes(value: str) -> bytes:
    # WSGI passes raw bytes as latin-1 characters; anything else is already wrong.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise OddRequest("not latin-1 transported") from None


def check_urlencoded(raw: bytes, where: str, bad: re.Pattern[str]) -> None:
    for pair in raw.split(b"&"):
        for part in pair.split(b"=", 1):
            _text(unquote_to_bytes(part.replace(b"+", b" ")), where, bad)


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > 64:
        raise OddRequest("json: nested too deeply")
    if isinstance(value, str):
        if _VALUE_BAD.search(value):
            raise OddRequest("json: control character or lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def _check_values(values: Iterable[tuple[str, Iterable[str]]], where: str) -> None:
    for key, items in values:
        if _VALUE_BAD.search(key):
            raise OddRequest(f"{where}: control character in a name")
        for item in items:
            if _VALUE_BAD.search(item):
                raise OddRequest(f"{where}: control character")


def check_request(request: HttpRequest) -> None:
    """Raise ``OddRequest`` for bytes no page of the product can take."""
    # Django has already decoded the path; bytes that were not UTF-8 (overlong forms, lone
    # surrogates, stray 0x80-0xFF) come back re-escaped as "%XX" with XX >= 80.
    path = request.path_info
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise OddRequest("path too long")
    if _BROKEN_UTF8.search(path):
        raise OddRequest("path: not UTF-8")
    if _PATH_BAD.search(path):
        raise OddRequest("path: control character")
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            raise OddRequest(f"header {name}: NUL")  # e.g. a bearer token looked up in the DB
    query = _wsgi_bytes(str(request.META.get("QUERY_STRING", "")))
    if len(query) > MAX_QUERY_BYTES:
        raise OddRequest("query string too long")
    check_urlencoded(query, "query", _PATH_BAD)
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        check_urlencoded(request.body, "form", _VALUE_BAD)
    elif content_type == "multipart/form-data":
        _check_values(request.POST.lists(), "form")
        for name, uploads in request.FILES.lists():
            _check_values([(name, [u.name or "" for u in uploads])], "file name")
    elif is_api(request):
        return  # the API checks its JSON bodies itself, with its own stable codes (422)
    elif content_type == "application/json" or content_type.endswith("+json"):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise OddRequest("json: not UTF-8") from None
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return  # not JSON at all: the view answers that in its own words
        _check_json(document)


def _status_page(
    request: HttpRequest, status: int, code: str, title: str, message: str
) -> HttpResponse:
    """A page that needs neither the database nor the session (both may be what failed)."""
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"code": code, "message": message},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        html = render_to_string(
            "errors/status.html", {"status": status, "title": title, "message": message}
        )
        response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    add_never_cache_headers(response)
    return response


def bad_request(request: HttpRequest) -> HttpResponse:
    return _status_page(
        request,
        400,
        "bad_request",
        _("请求无法处理"),
        _("请求的地址或填写的内容含有无法识别的字符，请检查后重新输入"),
    )


def service_unavailable(request: HttpRequest) -> HttpResponse:
    response = _status_page(
        request,
        503,
        "service_unavailable",
        _("服务暂时不可用"),
        _("系统正在恢复，请稍后再试，您已填写的信息不会丢失"),
    )
    response["Retry-After"] = str(settings.DB_RETRY_AFTER)
    return response


def too_many_requests(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _status_page(request, 429, exc.code, _("操作过于频繁"), exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


def failure_response(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The answer for a failure that is not a bug of the product, or None."""
    if isinstance(exc, RateLimited):
        return too_many_requests(request, exc)
    if isinstance(exc, OverflowError | DataError):
        # A number in the URL no database column can hold (an admin object id of 40 digits:
        # SQLite overflows, PostgreSQL says "out of range"): the request is at fault.
        log.info("refused odd request: %s", type(exc).__name__)
        return bad_request(request)
    if isinstance(exc, OperationalError | InterfaceError):
        # Connection refused, server gone, database file unreadable or locked too long.
        log.warning("database unavailable: %s", type(exc).__name__)
        return service_unavailable(request)
    return None


class RefuseOddRequestsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A cookie value may carry any byte through quoted-string escapes ("\\000"): an odd
        # session cookie is dropped (the browser would keep sending it), not refused.
        for name, value in list(request.COOKIES.items()):
            if _PATH_BAD.search(name) or _PATH_BAD.search(value) or len(value) > 4096:
                del request.COOKIES[name]
        try:
            check_request(request)
        except (OddRequest, MultiPartParserError) as exc:
            log.info("refused odd request: %s", exc)
            return bad_request(request)
        return self.get_response(request)


class ErrorResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return failure_response(request, exc)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database failure outside a view (session, middleware) is still 503."""
    exc = sys.exc_info()[1]
    if exc is not None:
        answer = failure_response(request, exc)
        if answer is not None:
            return answer
    return _status_page(
        request,
        500,
        "internal_error",
        _("系统出错"),
        _("系统出现错误，已记录，请稍后再试；如持续出现请联系窗口工作人员"),
    )


# What Django's ``add_never_cache_headers`` writes on a response that has neither header.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cache_headers(response: HttpResponseBase) -> None:
    """Django's ``add_never_cache_headers`` (``Expires`` now, ``Cache-Control``
    ``NEVER_CACHE``) without parsing and patching the header it would find missing: on most
    responses with personal data, i.e. every API answer (issue 10, "what every request
    pays"). A response that already has either header is patched by Django's own."""
    headers = response.headers
    if "Cache-Control" in headers or "Expires" in headers:
        add_never_cache_headers(response)
        return
    headers["Expires"] = http_date(time.time())
    headers["Cache-Control"] = NEVER_CACHE


class PrivateResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        if is_api(request) and path.rstrip("/").endswith("/docs"):
            # Swagger UI sets inline styles; its scripts are static files ('self').
            response._csp_update = {"style-src": ["'unsafe-inline'"]}  # type: ignore[attr-defined]
        if self._personal(request, path):
            never_cache_headers(response)  # max-age=0, no-cache, no-store, private
        return response

    @staticmethod
    def _personal(request: HttpRequest, path: str) -> bool:
        if path.startswith(PERSONAL_PREFIXES) or is_api(request):
            return True
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            return True
        user = getattr(request, "user", None)
        try:
            return bool(user is not None and user.is_authenticated)
        except DatabaseError:
            return True


# --- Content-Security-Policy ------------------------------------------------------------
# django-csp builds the header's text from the settings on every response (twice: the policy
# and the report-only one), ~13 % of the CPU of a request that does no work of its own
# (issue 10: "CPU per request"). The text depends only on the settings and the response's
# policy parts (``_csp_config``/``_csp_update``/``_csp_replace``, set by a view or by
# ``PrivateResponsesMiddleware`` for the API docs) and, when a page used one, the request's
# nonce (none of the product's does). It is built once per process per (settings, parts);
# a request with a nonce, or parts other than plain strings, booleans and lists of them,
# is built as django-csp builds it.
_POLICIES: dict[tuple[object, ...], str] = {}
_KEPT_POLICIES = 64  # more distinct policy parts than the product has (two)
_PART_NAMES = {
    False: ("_csp_config", "_csp_update", "_csp_replace"),
    True: ("_csp_config_ro", "_csp_update_ro", "_csp_replace_ro"),
}
_ATOMS = (str, bool, type(None), Nonce)


def _frozen(value: object) -> object:
    """A hashable equal of a policy part, or ``_UNKEPT``."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, dict):
        items = tuple((k, _frozen(v)) for k, v in value.items())
        return _UNKEPT if any(v is _UNKEPT for _k, v in items) else ("d", items)
    if isinstance(value, list | tuple | set | frozenset):
        kind = "s" if isinstance(value, set | frozenset) else type(value).__name__
        parts = tuple(_frozen(v) for v in value)
        if any(v is _UNKEPT for v in parts):
            return _UNKEPT
        return (kind, frozenset(parts) if kind == "s" else parts)
    return _UNKEPT


_UNKEPT = object()


def _policy(response: HttpResponseBase, report_only: bool) -> str:
    """``csp.utils.build_policy`` of the response's parts (no nonce), kept per process."""
    config, update, replace = (getattr(response, name, None) for name in _PART_NAMES[report_only])
    key = (report_only, _frozen(config), _frozen(update), _frozen(replace))
    if _UNKEPT in key:
        return build_policy(config, update, replace, None, report_only)
    policy = _POLICIES.get(key)
    if policy is None:
        policy = build_policy(config, update, replace, None, report_only)
        if len(_POLICIES) < _KEPT_POLICIES:
            _POLICIES[key] = policy
    return policy


def _forget_policies(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _POLICIES.clear()


setting_changed.connect(_forget_policies)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's ``CSPMiddleware`` (4.0), its ``process_response`` with the policy's text
    kept per process (above); the same headers under the same conditions."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None:  # a nonce: its own policy
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:  # Django's debug pages
            return response
        path = request.path_info
        for report_only, header, exempt, setting in (
            (False, HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = _policy(response, report_only)
            if policy and header not in response and getattr(response, exempt, False) is False:
                prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES")
                if not path.startswith(tuple(prefixes or ())):
                    response[header] = policy
        # As django-csp: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive (no database access)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """The database answers: 200, else 503 with Retry-After (take me out of rotation)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        response = JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
        response["Retry-After"] = str(settings.DB_RETRY_AFTER)
        return response
    return JsonResponse({"status": "ok", "database": "ok"})
