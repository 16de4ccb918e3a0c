"""Staff sessions: the second factor before any page, and the idle timeout."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import Role, User
from onestop.accounts.second_factor import enrolled_as_read, second_factor_required
from onestop.common.middleware import API_PREFIX

SEEN_KEY = "onestop_seen"
# Pages an unverified staff member may still open: sign-in, sign-out, the second-factor
# pages themselves, the language switch, static files and the token-authenticated API
# (which does not reach this middleware: `common.middleware.BrowserOnlyStart`).
OPEN_PREFIXES = (
    "/accounts/",
    "/i18n/",
    "/static/",
    API_PREFIX,
    "/admin/login/",
    "/admin/logout/",
)


def _user(request: HttpRequest) -> User | None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key is None and SESSION_KEY not in session:
        # No session cookie: nobody is signed in, which reading ``request.user`` would find
        # after two lazy wrappers (django-otp's, the session's); the question marks the
        # session read as that read does (``Vary: Cookie``). Issue 10: every API call and
        # every anonymous page asked it twice.
        return None
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_authenticated else None


def is_verified(user: User) -> bool:
    """Set by django-otp's OTPMiddleware: a device verified this session."""
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


class IdleTimeoutMiddleware:
    """Signs out a session left idle: ``STAFF_IDLE_SECONDS`` for staff (30 minutes by
    default, 等保三级), ``PARENT_IDLE_SECONDS`` for parents."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        if user is None:
            response = self.get_response(request)
            _seen_at_sign_in(request)
            return response
        parent = user.role == Role.PARENT
        limit = settings.PARENT_IDLE_SECONDS if parent else settings.STAFF_IDLE_SECONDS
        now = int(timezone.now().timestamp())
        seen = request.session.get(SEEN_KEY)
        if limit and isinstance(seen, int) and now - seen > limit:
            logout(request)
            messages.info(request, _("由于长时间未操作，已自动退出登录，请重新登录"))
            login = "accounts:parent_login" if parent else "accounts:login"
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse(login)}?{query}")
        if not isinstance(seen, int) or now - seen >= 30:
            request.session[SEEN_KEY] = now  # written at most every 30 s
        return self.get_response(request)


def _seen_at_sign_in(request: HttpRequest) -> None:
    """Someone signed in during this request (a signed-out request whose session now names
    a user): the sign-in is their last activity, written with the session the sign-in
    writes anyway — so the request it redirects to has no UPDATE of its own to make, and
    the idle timeout counts from the sign-in (before, from the first page after it)."""
    session = getattr(request, "session", None)
    if session is None or not session.modified:  # no sign-in (nothing loaded either)
        return
    if SESSION_KEY in session and SEEN_KEY not in session:
        session[SEEN_KEY] = int(timezone.now().timestamp())


class SecondFactorMiddleware:
    """Staff who must use a second factor reach no other page until they verified it in
    this session: those enrolled are sent to the code page, the others to enrolment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        if (
            user is not None
            and not request.path_info.startswith(OPEN_PREFIXES)
            and not is_verified(user)
            and second_factor_required(user, as_read=True)
        ):
            target = "accounts:otp_verify" if enrolled_as_read(user) else "accounts:otp_setup"
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse(target)}?{query}")
        return self.get_response(request)
