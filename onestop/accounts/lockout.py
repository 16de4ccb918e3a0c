"""Staff sign-in lockout (django-axes, ADR 0013): the page a locked-out sign-in gets (429,
Retry-After, in Chinese), and the database handler with its two reads on every sign-in
compiled once per process.

django-axes' database handler counts a client's failures with one ``SUM`` per lockout
parameter (account, address: two statements) and, before it records a sign-in or a
failure, reads every attempt older than the cool-off to delete it (one more); each built
and compiled by the ORM every time, about a quarter of an officer's sign-in besides the
password hash (docs/performance.md, "Session 25, helper h-signin"). `LockoutHandler`
answers the same questions — the same rows, the same sums, the larger of the two — with
one statement for the failures and a compiled ``SELECT … LIMIT 1`` for whether anything is
old enough to delete (only then axes' own delete runs, as before). Any other
configuration than this project's (other lockout parameters, no cool-off, expirations per
attempt, a client without a username or address) is axes' own code, unchanged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.conf import settings as axes_settings
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import (
    get_client_parameters,
    get_client_session_hash,
    get_client_str,
    get_client_username,
    get_credentials,
)
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db import connections, router
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from onestop.common.compiled import CompiledInsert, Statement
from onestop.common.kept import Kept

log = logging.getLogger("axes.handlers.database")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(request, "accounts/lockout.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


# Stand-ins (values no request passes) where the varying parameters go; see
# onestop.common.compiled.
_USERNAME = "onestop-stand-in-axes-username"
_ADDRESS = "192.0.2.254"  # TEST-NET-1
_SINCE_USERNAME = datetime(1901, 1, 1, 0, 0, 3, tzinfo=UTC)
_SINCE_ADDRESS = datetime(1901, 1, 1, 0, 0, 4, tzinfo=UTC)
_BEFORE = datetime(1901, 1, 1, 0, 0, 5, tzinfo=UTC)
_STATEMENTS: Kept[tuple[str, str, str], Statement | None] = Kept(size=16)
# This project's lockout parameters (settings.AXES_LOCKOUT_PARAMETERS), as axes' filters.
_PARAMETERS = [["username"], ["ip_address"]]
# The sign-in record's INSERT, built once per database (axes' ``AccessLog.objects.create``
# built it per sign-in).
_ACCESS_LOG = CompiledInsert(AccessLog)


def _field(name: str) -> Any:
    return AccessAttempt._meta.get_field(name)


def _failures_statement(alias: str) -> Statement | None:
    """``SUM(failures_since_start)`` of the attempts since the cool-off's start, by account
    and by address, as the two columns of one row: axes' two querysets (the same filters
    and order of conditions), each compiled by Django, as scalar subqueries."""
    connection = connections[alias]
    parts = []
    for field, value, since in (
        ("username", _USERNAME, _SINCE_USERNAME),
        ("ip_address", _ADDRESS, _SINCE_ADDRESS),
    ):
        queryset = AccessAttempt.objects.filter(**{field: value}).filter(attempt_time__gte=since)
        compiler = queryset.values_list("failures_since_start").query.get_compiler(alias)
        sql, params = compiler.as_sql()
        column = connection.ops.quote_name("failures_since_start")
        parts.append((f"(SELECT COALESCE(SUM({column}), 0) FROM ({sql}) AS attempts)", params))
    sql = "SELECT " + ", ".join(p[0] for p in parts)
    params = [p for _, ps in parts for p in ps]
    stand_ins = [
        _field("username").get_db_prep_value(_USERNAME, connection),
        _field("ip_address").get_db_prep_value(_ADDRESS, connection),
        _field("attempt_time").get_db_prep_value(_SINCE_USERNAME, connection),
        _field("attempt_time").get_db_prep_value(_SINCE_ADDRESS, connection),
    ]
    return Statement.of(sql, params, stand_ins)


def _expired_statement(alias: str) -> Statement | None:
    """Whether any attempt is as old as axes' clean-up deletes (``attempt_time <=`` the
    cool-off's start): one row or none."""
    queryset = AccessAttempt.objects.filter(attempt_time__lte=_BEFORE).values_list("pk")[:1]
    compiler = queryset.query.get_compiler(alias)
    sql, params = compiler.as_sql()
    before = _field("attempt_time").get_db_prep_value(_BEFORE, connections[alias])
    return Statement.of(sql, params, [before])


def _statement(kind: str, alias: str) -> Statement | None:
    make = _failures_statement if kind == "failures" else _expired_statement
    key = (kind, alias, connections[alias].vendor)
    return _STATEMENTS.get_or_make(key, lambda: make(alias))


class LockoutHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """django-axes' database handler with its per-sign-in reads compiled once (module
    docstring); ``AXES_HANDLER`` names it."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        address = request.axes_ip_address
        if axes_settings.AXES_COOLOFF_TIME is None or username is None or address is None:
            return int(super().get_failures(request, credentials))
        parameters = get_client_parameters(
            username, address, request.axes_user_agent, request, credentials
        )
        if [list(p) for p in parameters] != _PARAMETERS:
            return int(super().get_failures(request, credentials))
        alias = router.db_for_read(AccessAttempt)
        statement = _statement("failures", alias)
        if statement is None:
            return int(super().get_failures(request, credentials))
        connection = connections[alias]
        since = _field("attempt_time").get_db_prep_value(
            get_cool_off_threshold(request), connection
        )
        values = (
            _field("username").get_db_prep_value(username, connection),
            _field("ip_address").get_db_prep_value(address, connection),
            since,
            since,
        )
        by_username, by_address = statement.rows(connection, *values)[0]
        return max(int(by_username), int(by_address))

    def clean_expired_user_attempts(
        self, request: Any = None, credentials: dict[str, Any] | None = None
    ) -> int:
        if (
            axes_settings.AXES_COOLOFF_TIME is None
            or axes_settings.AXES_USE_ATTEMPT_EXPIRATION
            or request is None
        ):
            return int(super().clean_expired_user_attempts(request, credentials))
        alias = router.db_for_write(AccessAttempt)
        statement = _statement("expired", alias)
        if statement is None:
            return int(super().clean_expired_user_attempts(request, credentials))
        threshold = get_cool_off_threshold(request)
        connection = connections[alias]
        before = _field("attempt_time").get_db_prep_value(threshold, connection)
        if statement.rows(connection, before):
            return int(super().clean_expired_user_attempts(request, credentials))
        log.info(
            "AXES: Cleaned up %s expired access attempts from database that were older than %s",
            0,
            threshold,
        )
        return 0

    def user_logged_in(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        """axes' own (django-axes 8.3): the clean-up, then the sign-in record
        (``AccessLog``: the security log of ADR 0013, with the session's hash) — its INSERT
        compiled once. With the access log off or a reset on success: axes' code."""
        if axes_settings.AXES_DISABLE_ACCESS_LOG or axes_settings.AXES_RESET_ON_SUCCESS:
            super().user_logged_in(sender, request, user, **kwargs)
            return
        username = user.get_username()
        credentials = get_credentials(username)
        client_str = get_client_str(
            username,
            request.axes_ip_address,
            request.axes_user_agent,
            request.axes_path_info,
            request,
        )
        log.info("AXES: Successful login by %s.", client_str)
        self.clean_expired_user_attempts(request, credentials)
        _ACCESS_LOG.save_new(
            AccessLog(
                username=username,
                ip_address=request.axes_ip_address,
                user_agent=request.axes_user_agent,
                http_accept=request.axes_http_accept,
                path_info=request.axes_path_info,
                attempt_time=request.axes_attempt_time,
                # evaluated here, as axes does: the session's key exists from now on
                session_hash=get_client_session_hash(request),
            )
        )
