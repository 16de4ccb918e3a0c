"""Session and user in one statement (issue 10 part 3; ADR 0026 amendment "session and
user in one statement").

Django's database sessions read a signed-in request's session row, and then
``AuthenticationMiddleware`` reads its user by primary key: two statements on every
signed-in request, each paying the ORM's compile cost. Here the session row
(``UserSession``, table ``onestop_session``) carries the signed-in user's id in a column of
its own, written from the session's ``_auth_user_id`` with every save, and the session is
read with its user in ONE joined SELECT (``SESSION_ENGINE = "onestop.accounts.sessions"``).

``AuthenticationMiddleware`` below then takes the user from that read instead of asking
the backend again — only where that is exactly what the backend would have answered: the
session names ``ModelBackend`` (or a subclass that keeps its ``get_user``) and a listed
backend, the joined row is the user the session data names. Everything Django checks
after that is unchanged and done the same way: the backend's ``user_can_authenticate``
(an inactive user is refused), the session hash (``get_session_auth_hash``: a password
change signs out the other sessions; ``SECRET_KEY_FALLBACKS`` honoured), the session's
expiry (``expire_date > now``, of the row read by its key). Any other case falls back to
Django's own ``get_user``.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, TypeGuard

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.middleware import auser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string
from django.utils.functional import SimpleLazyObject

from onestop.accounts.models import User, UserSession
from onestop.accounts.second_factor import ENROLLED_READ, enrolled_sql
from onestop.common.compiled import CompiledFirst

_SESSION_ROWS: list[QuerySet[UserSession]] = []


def _session_rows() -> QuerySet[UserSession]:
    """The session rows with their users and, for the second-factor middleware's question
    on every staff page (django-otp), whether the user has a confirmed TOTP device
    (`enrolled`, in the same statement). Built once per process: each read clones it."""
    if not _SESSION_ROWS:
        enrolled = RawSQL(
            enrolled_sql(f'"{UserSession._meta.db_table}"."user_id"'),
            (),
            output_field=BooleanField(),
        )
        _SESSION_ROWS.append(
            UserSession.objects.select_related("user").annotate(totp_enrolled=enrolled)
        )
    return _SESSION_ROWS[0]


# The read by session key, compiled once per process (`CompiledFirst`: compiling the joined
# SELECT was ~15 % of a signed-in parent's rendered page, issue 10 part 3). The expiry is
# checked on the row read, as Django's ``expire_date > now`` in the WHERE did.
_SESSION_BY_KEY = CompiledFirst(
    UserSession,
    lambda key: _session_rows().filter(session_key=key),
    "onestop-session-stand-in-key",
)


# New keys tried when the one made is in use (32 random characters: a collision is a
# one-in-10^49 event; three in a row is a broken random source).
_KEY_TRIES = 3


class SessionStore(DatabaseSessionStore):
    """Database sessions whose read also brings the signed-in user (one joined SELECT)."""

    #: The user row read with the session (None: no session, or nobody signed in).
    signed_in_user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def _get_session_from_db(self) -> UserSession | None:
        self.signed_in_user = None
        try:
            row = _SESSION_BY_KEY.first(self.session_key)
            if row is None or row.expire_date <= timezone.now():  # (Django: in the WHERE)
                raise UserSession.DoesNotExist
        except (UserSession.DoesNotExist, SuspiciousOperation) as e:
            if isinstance(e, SuspiciousOperation):
                logger = logging.getLogger(f"django.security.{e.__class__.__name__}")
                logger.warning(str(e))
            self._session_key = None
            return None
        if row.user is not None:
            # The second factor's question (`enrolled`), asked in the same statement.
            setattr(row.user, ENROLLED_READ, bool(row.totp_enrolled))  # type: ignore[attr-defined]
        self.signed_in_user = row.user
        return row

    #: The key was made by `cycle_key` and has no row yet: the next save INSERTs it.
    _key_unsaved: bool = False

    def _get_new_session_key(self) -> str:
        """A new random key, without Django's ``SELECT`` of whether it is in use first:
        every caller INSERTs it (``save(must_create=True)``), which the primary key
        refuses for a key in use (``CreateError``), and the caller then takes another —
        Django's own ``create()`` loop (and `save` below)."""
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        """Django's ``cycle_key`` (a sign-in, a second factor verified: a new key, the data
        kept, the old row deleted) with the new row written once, by the save at the end
        of the request, instead of an INSERT of the data now and an UPDATE of the same row
        then. The key exists from here on (django-axes records its hash at sign-in)."""
        data = self._session  # type: ignore[attr-defined]  # (Django's, not in the stubs)
        key = self.session_key
        self._session_key = self._get_new_session_key()
        self._key_unsaved = True
        self._session_cache = data
        self.modified = True
        if key:
            self.delete(key)

    def save(self, must_create: bool = False) -> None:
        if self._key_unsaved and self.session_key is not None:
            # As Django's ``create()``: a key in use gets another. Any other refusal of
            # the INSERT (its user deleted meanwhile: the foreign key, checked at commit)
            # is raised, not tried again with a new key for ever.
            for attempt in range(_KEY_TRIES):
                try:
                    super().save(must_create=True)
                except CreateError:
                    if attempt == _KEY_TRIES - 1 or not self.exists(self._session_key or ""):
                        raise
                    self._session_key = self._get_new_session_key()
                    continue
                self._key_unsaved = False
                return
        self._key_unsaved = False  # (flushed since: no key, Django's save creates one)
        super().save(must_create=must_create)

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        row = super().create_model_instance(data)
        assert isinstance(row, UserSession)
        row.user_id = _user_id(data.get(SESSION_KEY))
        return row


def _user_id(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _reads_user_by_pk(backend: object) -> TypeGuard[ModelBackend]:
    """The backend's ``get_user`` is ModelBackend's: a primary-key read of the user,
    refused when ``user_can_authenticate`` says no."""
    return isinstance(backend, ModelBackend) and type(backend).get_user is ModelBackend.get_user


def get_user(request: HttpRequest) -> Any:
    """``django.contrib.auth.get_user`` with the user taken from the session's own read
    where that is what the backend would have read; else Django's ``get_user``."""
    session = request.session
    try:
        user_id = _user_id(session[SESSION_KEY])  # loads the session (and its user)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)
    loaded = getattr(session, "signed_in_user", None)
    if (
        loaded is None
        or user_id is None
        or loaded.pk != user_id
        or backend_path not in settings.AUTHENTICATION_BACKENDS
    ):
        return auth.get_user(request)
    backend = load_backend(backend_path)
    if not _reads_user_by_pk(backend):
        return auth.get_user(request)
    if not backend.user_can_authenticate(loaded):  # an inactive user: signed out
        return AnonymousUser()
    # Verify the session as django.contrib.auth.get_user does (Django 5.2).
    session_hash = session.get(HASH_SESSION_KEY)
    session_auth_hash = loaded.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, session_auth_hash):
        return loaded
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in loaded.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = session_auth_hash
        return loaded
    session.flush()
    return AnonymousUser()


def _cached_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with ``request.user`` from :func:`get_user` (the session's joined read)."""

    def process_request(self, request: HttpRequest) -> None:
        if not hasattr(request, "session"):
            raise ImproperlyConfigured(
                "AuthenticationMiddleware requires SessionMiddleware before it."
            )
        request.user = SimpleLazyObject(lambda: _cached_user(request))  # type: ignore[assignment]
        request.auser = partial(auser, request)
