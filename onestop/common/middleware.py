"""Chinese by default, English on request; the API's body limit; messages read when used;
the browsers' middleware passed by on an API request.

Django's LocaleMiddleware follows the browser's Accept-Language, so an English-language
browser would get English pages. A Chinese government service shows Chinese unless the
person chooses otherwise with the language switch (which sets the language cookie).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.functional import SimpleLazyObject, empty

# The department systems' integration API (django-ninja, bearer tokens): every path under it.
API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    """A request to the integration API (`API_PREFIX`)."""
    return request.path_info.startswith(API_PREFIX)


class BrowserOnlyStart:
    """The first of the middleware that serve browsers only (sessions, CSRF, the signed-in
    user, django-otp, messages, the idle timeout, the second factor, django-axes), listed
    in ``MIDDLEWARE`` between this and `BrowserOnlyEnd`: an API request (`is_api`) passes
    from here straight to what follows `BrowserOnlyEnd`. A department system authenticates
    with a bearer token on every request (`integration.api.ClientAuth`), sends no cookie
    the product set and is answered ``no-store``: none of them has anything to do for it,
    and each cost CPU on every call (issue 10, ADR 0024 amendment of session 27). Every
    other request goes through them as before.

    What Django calls from the handler itself still runs for an API request: the
    ``process_view`` of ``CsrfViewMiddleware`` (ninja's views are ``csrf_exempt``: it
    returns at once), the only hook of these middleware besides ``__call__``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.past_browsers = _after_browser_only(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.past_browsers(request)
        return self.get_response(request)


class BrowserOnlyEnd:
    """Where the browsers' middleware end (`BrowserOnlyStart`): passes every request on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


def _after_browser_only(
    chain: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """What `BrowserOnlyEnd` passes requests to, found down the chain Django built from
    ``MIDDLEWARE`` (each step a middleware's ``get_response``; Django wraps each middleware
    in a function whose ``__wrapped__`` is the middleware)."""
    step: object = chain
    while step is not None:
        current = getattr(step, "__wrapped__", step)
        if isinstance(current, BrowserOnlyEnd):
            return current.get_response
        step = getattr(current, "get_response", None)
    raise ImproperlyConfigured("MIDDLEWARE: BrowserOnlyStart without BrowserOnlyEnd after it")


class ChineseFirstLocaleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class ApiBodyLimitMiddleware:
    """413 ``request_too_large`` for an API request whose declared body is larger than
    ``settings.API_MAX_BODY_BYTES``, before a byte of it is read or parsed (issue 8, defect
    8: "an 11 MB case document was stored"). Web forms are bounded by Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``; uploaded files by the upload checks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            limit = int(settings.API_MAX_BODY_BYTES)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = limit + 1  # an unreadable length is no promise of a small body
            if length > limit:
                return JsonResponse(
                    {
                        "code": "request_too_large",
                        "message": f"请求内容过大：最多 {limit // 1024} KB",
                    },
                    status=413,
                    json_dumps_params={"ensure_ascii": False},
                )
        return self.get_response(request)


class LazyMessageMiddleware(MessageMiddleware):
    """Django's ``MessageMiddleware`` with the request's message storage made when first
    used (a page showing or adding messages), not on every request: an API call never
    uses it (issue 10, "what every request pays"). A storage nobody used stores nothing
    (``BaseStorage.update``: neither used nor added to), so skipping it changes no answer."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        kept = getattr(request, "_messages", None)
        if isinstance(kept, SimpleLazyObject) and kept._wrapped is empty:
            return response
        return super().process_response(request, response)
