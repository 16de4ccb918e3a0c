"""Writes of the integration app: API credentials, webhook deliveries (the outbox for
department systems) and their delivery, retry, dead letters and replay.

Credentials: ``Bearer <key_id>.<secret>``. The secret is 256 random bits, so a plain
SHA-256 of it is enough to store (a slow password hash would only slow every request).

Webhooks: `webhooks_queue` runs inside the transaction of the change (called by
`onestop.integration.effects`, the webhook handlers of the event table) and writes one
`WebhookDelivery` row per subscribed client, so the delivery commits or rolls back with the
change; the worker sends the due rows in batches (`webhooks_send_due`, ADR 0023). Sending
happens outside any transaction (no lock is held while a department system answers); the
row is marked delivered, or backs off exponentially (30 s … 1 h) and after `MAX_ATTEMPTS`
is marked dead for staff to replay.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User, department_codes
from onestop.cases.effects import TIMELINE_INSERT, timeline_take
from onestop.cases.models import Case, TimelineEntry
from onestop.catalogue.loader import catalogue
from onestop.common.compiled import CompiledFirst, CompiledInsert, CompiledValues
from onestop.common.kept import Kept
from onestop.common.outbox import (
    WAKE_CHANNEL,
    Attempt,
    BatchResult,
    Outbox,
    Plan,
    Sender,
    outbox_wake,
    outbox_wake_due,
    outbox_woken,
    send_together,
)
from onestop.core.events import effects
from onestop.core.signing import (
    BATCH_EVENT,
    BATCH_HEADER,
    DELIVERY_HEADER,
    EVENT_HEADER,
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature,
)
from onestop.integration.keepalive import TransportError, http_post
from onestop.integration.models import (
    EVENT_TYPES,
    WEBHOOK_BATCH_LIMIT,
    ApiClient,
    IdempotentResponse,
    WebhookDelivery,
    WebhookStamp,
)
from onestop.workflow.models import CaseItem

log = logging.getLogger(__name__)

KEY_PREFIX = "osk_"
MAX_ATTEMPTS = 15  # 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: dead after about 9 hours
OUTBOX: Outbox[WebhookDelivery] = Outbox(
    model=WebhookDelivery,
    done_status=WebhookDelivery.Status.DELIVERED,
    done_at_field="delivered_at",
    max_attempts=MAX_ATTEMPTS,
    related=("client",),
    sealed=("client__webhook_secret",),  # read once per POST, not once per row
    reads=(
        *("delivery_id", "client", "event", "case_number", "payload", "attempts"),
        *("client__key_id", "client__webhook_secret", "client__webhook_url"),
        *("client__active", "client__webhook_batch_max"),
    ),
)
HTTP_TIMEOUT = 10.0
LAST_USED_GRANULARITY = timedelta(minutes=1)


# --- credentials ---------------------------------------------------------------------


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCredentials:
    client: ApiClient
    token: str  # "<key_id>.<secret>": shown once, never stored
    webhook_secret: str


def _service_user(client_name: str, key_id: str, department: str, kind: str, code: str) -> User:
    user = User(
        username=f"api-{key_id}",
        role=Role.OFFICER,
        department=department,
        jurisdiction_kind=kind,
        jurisdiction_code=code,
        display_name=client_name[:64],
    )
    user.set_unusable_password()
    user.save()
    return user


def _check_jurisdiction(department: str, kind: str, code: str) -> None:
    known = catalogue().departments.get(department)
    if known is None:
        raise ValueError(
            f"unknown department {department!r} (known: {', '.join(department_codes())})"
        )
    if "api_client" not in known.worked_by:
        raise ValueError(f"department {department!r} is not worked by API clients")
    if kind not in JurisdictionKind.values:
        raise ValueError(f"unknown jurisdiction kind {kind!r}")
    if kind not in (known.jurisdiction_kind, "division"):
        # The department's own kind of office, or a division prefix covering its offices.
        raise ValueError(
            f"a {department} client's jurisdiction is a {known.jurisdiction_kind} or a division,"
            f" not a {kind}"
        )
    if not code or len(code) > 32:
        raise ValueError("jurisdiction code must be 1–32 characters")


@transaction.atomic
def api_client_create(
    *,
    name: str,
    department: str,
    jurisdiction_kind: str,
    jurisdiction_code: str,
    webhook_url: str = "",
    events: list[str] | None = None,
    may_submit_cases: bool | None = None,
    now: datetime | None = None,
    key_id: str | None = None,
    secret: str | None = None,
    webhook_secret: str | None = None,
    webhook_batch_max: int = 1,
    webhook_echo: bool = True,
) -> IssuedCredentials:
    """Create a client with its service account. ``key_id``/``secret`` are generated unless
    given (the demo data gives known ones). ``webhook_batch_max`` > 1: the receiver takes
    batched POSTs of up to that many events (ADR 0028). ``webhook_echo`` False: no
    ``task.updated`` for the changes the client makes itself (ADR 0011, session 28)."""
    _check_jurisdiction(department, jurisdiction_kind, jurisdiction_code)
    now = now or timezone.now()
    key_id = key_id or KEY_PREFIX + secrets.token_hex(8)
    secret = secret or secrets.token_urlsafe(32)
    webhook_secret = webhook_secret or "whsec_" + secrets.token_urlsafe(24)
    unknown = [e for e in events or [] if e not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    if not 1 <= webhook_batch_max <= WEBHOOK_BATCH_LIMIT:
        raise ValueError(f"webhook_batch_max must be 1–{WEBHOOK_BATCH_LIMIT}")
    user = _service_user(name, key_id, department, jurisdiction_kind, jurisdiction_code)
    client = ApiClient.objects.create(
        name=name,
        department=department,
        jurisdiction_kind=jurisdiction_kind,
        jurisdiction_code=jurisdiction_code,
        key_id=key_id,
        secret_hash=secret_hash(secret),
        user=user,
        may_submit_cases=(department == "hospital")
        if may_submit_cases is None
        else may_submit_cases,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        events=list(events) if events is not None else list(EVENT_TYPES),
        webhook_batch_max=webhook_batch_max,
        webhook_echo=webhook_echo,
        created_at=now,
    )
    return IssuedCredentials(client, f"{key_id}.{secret}", webhook_secret)


@transaction.atomic
def api_client_rotate_secret(*, client_id: int) -> IssuedCredentials:
    """A new API secret and webhook secret; the old ones stop working at once."""
    client = ApiClient.objects.select_for_update().get(pk=client_id)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = secret_hash(secret)
    client.webhook_secret = "whsec_" + secrets.token_urlsafe(24)
    client.save(update_fields=["secret_hash", "webhook_secret"])
    return IssuedCredentials(client, f"{client.key_id}.{secret}", client.webhook_secret)


def api_client_sync_user(client: ApiClient) -> None:
    """Keep the service account's department, jurisdiction and activity equal to the
    client's (after an edit in the admin)."""
    User.objects.filter(pk=client.user_id).update(
        role=Role.OFFICER,
        department=client.department,
        jurisdiction_kind=client.jurisdiction_kind,
        jurisdiction_code=client.jurisdiction_code,
        display_name=client.name[:64],
        is_active=client.active,
    )


AUTHENTICATION_SKIPS = (
    *("webhook_secret", "webhook_batch_max", "webhook_echo", "created_at"),
    *("user__phone", "user__password", "user__last_login", "user__first_name"),
    *("user__last_name", "user__email", "user__is_staff", "user__date_joined"),
)


def client_by_key(key_id: str) -> QuerySet[ApiClient]:
    return (
        ApiClient.objects.select_related("user")
        # Not decrypted on every request: the webhook secret (the worker signs with it)
        # and the service account's phone (a department system has none to be told on).
        # Nor read: what no API request uses of the client (the worker's batch size, when
        # it was made) and of its service account (Django's login and name columns; a
        # service account has no password to check): 32 columns → 23 (issue 10 part 2).
        .defer(*AUTHENTICATION_SKIPS)
        .filter(key_id=key_id, active=True)
        # The key is unique: no sort by the clients' default order.
        .order_by("pk")
    )


# The stand-in of a key id in the compiled reads of a client (this one and the API's,
# which read the client with its rate counter and stored answer).
KEY_ID_STAND_IN = "onestop-stand-in-key-id"
# Compiled once per process (issue 10 part 3: ~40 % of a poll's CPU was compiling it).
_CLIENT_BY_KEY = CompiledFirst(ApiClient, client_by_key, KEY_ID_STAND_IN)


def api_client_authenticate(
    token: str,
    *,
    now: datetime | None = None,
    read: Callable[[str], ApiClient | None] | None = None,
) -> ApiClient | None:
    """The active client whose ``<key_id>.<secret>`` this is, else None. ``read``: the
    active client of a key id as `client_by_key` reads it (the API's reads it with more
    columns in the same statement: `integration.api.ClientAuth`)."""
    key_id, _, secret = token.strip().partition(".")
    if not key_id.startswith(KEY_PREFIX) or not secret or len(token) > 200:
        return None
    client = (read or _CLIENT_BY_KEY.first)(key_id)
    if client is None or not hmac.compare_digest(client.secret_hash, secret_hash(secret)):
        return None
    if not client.user.is_active:
        return None
    now = now or timezone.now()
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_GRANULARITY:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client


# --- webhooks: queueing (inside the change's transaction) ------------------------------

SUBMITTED_BY_PREFIX = "api:"


def submitted_key(client: ApiClient, key: str) -> str:
    """The case's stored idempotency key for a key a client sent: namespaced per client."""
    return f"{SUBMITTED_BY_PREFIX}{client.key_id}:{key}"


def submitter_key_id(case_key: str | None) -> str | None:
    if not case_key or not case_key.startswith(SUBMITTED_BY_PREFIX):
        return None
    key_id, sep, _ = case_key[len(SUBMITTED_BY_PREFIX) :].partition(":")
    return key_id if sep else None


def _covers(client: _Target, kind: str, code: str, division: str) -> bool:
    if client.jurisdiction_kind == JurisdictionKind.DIVISION:
        return bool(division) and division.startswith(client.jurisdiction_code)
    return client.jurisdiction_kind == kind and client.jurisdiction_code == code


# What queueing reads of a client: not its secrets (one decryption each per event), and
# as plain tuples, not model instances (issue 10 part 2: making ~35 `ApiClient`s for every
# event dispatch was ~6 % of a case's web CPU, cProfile).
class _Target(NamedTuple):
    pk: int
    key_id: str
    department: str
    jurisdiction_kind: str
    jurisdiction_code: str
    user_id: int  # its service account: who acts when it acts
    webhook_echo: bool  # False: no task.updated for the changes it made itself
    events: Sequence[str] | Any  # the JSON list, as a tuple (else the value as stored)


_TARGET_FIELDS = _Target._fields


def _targets(clients: QuerySet[ApiClient]) -> QuerySet[Any]:
    """The clients' routing columns, their ``events`` as the stored JSON text (`_target`)."""
    return clients.annotate(events_json=Cast("events", output_field=TextField())).values_list(
        *_TARGET_FIELDS[:-1], "events_json"
    )


@functools.lru_cache(maxsize=1024)
def _target(*row: Any) -> _Target:
    """A `_targets` row as a `_Target`, made once per distinct row in this process: the
    same columns make the same target, and a changed client is a new row (issue 10,
    session 22: ~35 JSON lists parsed on every event dispatch, every claim, completion
    and submission)."""
    pk, key_id, department, kind, code, user_id, echo, events = row
    value = None if events is None else json.loads(events)
    return _Target(
        pk,
        key_id,
        department,
        kind,
        code,
        user_id,
        echo,
        tuple(value) if isinstance(value, list) else value,
    )


def webhooks_queue(
    *,
    case: Case,
    event: str,
    change: str,
    at: datetime,
    item: str = "",
    department: str = "",
    jurisdiction: tuple[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
    newborn: int = 0,
    extra: Mapping[str, Any] | None = None,
    task: CaseItem | None = None,
    acted_by: int | None = None,
) -> list[WebhookDelivery]:
    """Queue the deliveries of webhook ``event`` (``task.created``, ``task.updated``,
    ``case.decided``, ``case.completed``) for the domain event ``change`` (call inside the
    change's transaction; `onestop.integration.effects` does, for every event it maps).

    A task event goes to the active clients of the item's department whose jurisdiction
    covers it; a case event to the client that submitted the case, if any.

    ``task``: the item's row as the change just saved it (an item event carries it), so
    its id and division are not read again (issue 10: web CPU per case).

    ``acted_by``: the user whose own change on the task this is (a claim, completion,
    return or refusal), if any: a client acting through that service account that turned
    its echoes off (``webhook_echo``) is not told of it (issue 10, session 28: the
    answer to its request already carried the change)."""
    if item and department:
        candidates = [c for c in _clients(("department", department)) if event in (c.events or [])]
        if not candidates:
            return []
        if task is not None and task.pk is not None:
            task_id, division = task.pk, task.division
            j_kind, j_code = jurisdiction or (task.jurisdiction_kind, task.jurisdiction_code)
        else:
            row = (
                CaseItem.objects.filter(case=case, item=item, newborn=newborn)  # twins: ADR 0036
                .values("pk", "division", "jurisdiction_kind", "jurisdiction_code")
                .first()
            )
            if row is None:
                return []
            task_id, division = row["pk"], row["division"]
            j_kind, j_code = jurisdiction or (row["jurisdiction_kind"], row["jurisdiction_code"])
        targets = [
            c
            for c in candidates
            if _covers(c, j_kind, j_code, division) and (c.webhook_echo or c.user_id != acted_by)
        ]
        body: dict[str, Any] = {
            "task": {
                "id": task_id,
                "item": item,
                "department": department,
                "jurisdiction": {"kind": j_kind, "code": j_code},
                **{k: v for k, v in (data or {}).items() if k in ("state", "version")},
            },
            "change": change,
            **(extra or {}),
        }
    else:
        key_id = submitter_key_id(case.idempotency_key)
        if key_id is None:
            return []
        targets = [c for c in _clients(("key_id", key_id)) if event in (c.events or [])]
        body = {"case": {"status": case.status, **(data or {})}, "change": change}
    created: list[WebhookDelivery] = []
    for client in targets:
        delivery = _DELIVERIES.new(  # WebhookDelivery(…) without Model.__init__
            client_id=client.pk,
            event=event,
            case_number=case.number,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=at,
            created_at=at,
            payload={},
        )
        delivery.payload = {
            "delivery_id": str(delivery.delivery_id),
            "event": event,
            "occurred_at": at.isoformat(),
            "case_number": case.number,
            "region": case.region,
            **body,
        }
        created.append(delivery)
    held = _held_deliveries()
    if held is not None:  # written with the dispatch's others when it ends
        held.extend(created)
        return created
    if created:
        _deliveries_write(created)
    return created


# Within one event dispatch (one state change: a submission's items becoming ready, a
# completion and the tasks it readies) the webhook targets are read once per department or
# submitter and the deliveries written in one INSERT when the dispatch ends, as the
# messages and timeline lines are (issue 10 part 2: one SELECT and one INSERT per task
# event before). Outside a dispatch both happen at once, as before.
_dispatch = threading.local()


def _clients(key: tuple[str, str]) -> list[_Target]:
    """The active clients with a webhook URL whose ``department`` or ``key_id`` (``key``)
    matches, with their routing columns only. In an API request, every active webhook
    client as kept by this process under the request's webhook stamp (`webhook_stamp_seen`).
    Else, inside a dispatch every active webhook client is read once (a few dozen rows:
    one per department system) and the matching ones picked from them; outside, only the
    matching ones are read."""
    field, value = key
    kept = _kept_targets()
    if kept is not None:
        every, matching = kept
        found = matching.get(key)
        if found is None:  # the matching ones picked once per key under the stamp
            found = matching[key] = [c for c in every if getattr(c, field) == value]
        return list(found)
    if not effects.dispatching():
        return [
            _target(*row)
            for row in _targets(
                ApiClient.objects.filter(active=True, **{field: value}).exclude(webhook_url="")
            )
        ]
    rows: list[_Target] | None = getattr(_dispatch, "clients", None)
    if rows is None:
        rows = _dispatch.clients = [_target(*row) for row in _WEBHOOK_CLIENTS.rows()]
    return [c for c in rows if getattr(c, field) == value]


# Every active webhook client's routing columns, the statement compiled once per process
# (issue 10 part 2: read once per event dispatch — every claim, completion and submission
# — and built and compiled anew each time).
_WEBHOOK_CLIENTS = CompiledValues(
    ApiClient,
    lambda: _targets(ApiClient.objects.filter(active=True).exclude(webhook_url="").order_by("pk")),
)


# Issue 10, session 26: every active webhook client's routing columns were read (36 rows)
# by every API request that emits an event. The `WebhookStamp` the database's triggers
# move on every change of what makes a client a target (migration 0007: admin, command
# line, services, psql) is read in the statement the request makes anyway, the client's
# own read (`WEBHOOK_STAMP`, `integration.api.ClientAuth`), and the targets are kept per
# process under it: read again only where the stamp moved.
WEBHOOK_STAMP = "webhook_stamp"


def webhook_stamp_column() -> dict[str, Subquery]:
    """The annotation that reads the webhook stamp (`WEBHOOK_STAMP`) in another statement."""
    return {WEBHOOK_STAMP: Subquery(WebhookStamp.objects.filter(pk=1).values("token")[:1])}


# The stamp the current request's client read carried (per thread: one request each).
_stamp_seen = threading.local()
# (database alias, stamp, the targets read under it, the ones matching each key picked
# from them — `_clients`, session 31, h-cpu: every event scanned all of them): shared by
# the process's threads (a key's list made twice by two threads is the same list).
_targets_kept: tuple[str, str, list[_Target], dict[tuple[str, str], list[_Target]]] | None = None


def webhook_stamp_seen(token: str | None) -> None:
    """The webhook stamp the request read (None: no stamp known, at the request's end;
    also where the database has none: the targets are then read every time)."""
    _stamp_seen.token = token


def _kept_targets() -> tuple[list[_Target], dict[tuple[str, str], list[_Target]]] | None:
    """Every active webhook client's routing columns, as kept under the stamp the request
    read, or read now and kept under it; None where the request read no stamp. Read
    after the stamp (each statement its own snapshot), they are at least as new as it:
    a change between the two only makes the next request read them again."""
    global _targets_kept
    token: str | None = getattr(_stamp_seen, "token", None)
    if token is None:
        return None
    alias = router.db_for_read(ApiClient)
    kept = _targets_kept
    if kept is not None and kept[0] == alias and kept[1] == token:
        return kept[2], kept[3]
    rows = [_target(*row) for row in _WEBHOOK_CLIENTS.rows()]
    _targets_kept = (alias, token, rows, {})
    return rows, _targets_kept[3]


def _held_deliveries() -> list[WebhookDelivery] | None:
    if not effects.dispatching():
        return None
    held: list[WebhookDelivery] | None = getattr(_dispatch, "deliveries", None)
    if held is None:
        held = _dispatch.deliveries = []
    return held


def _webhooks_flush() -> None:
    held: list[WebhookDelivery] | None = getattr(_dispatch, "deliveries", None)
    _webhooks_discard()
    if held:
        _deliveries_write(held, with_timeline=True)


# The deliveries' INSERT, built once (`common.compiled`; the timeline lines':
# `cases.effects`), and the statement that sends them together (`_together_sql`), made
# once per their text.
_DELIVERIES = CompiledInsert(WebhookDelivery)
_TOGETHER: Kept[tuple[str, str, bool], str] = Kept(size=128)
# More rows than this (a submission to many receivers) go by Django's batches.
INSERT_ROWS_MAX = 100


def _deliveries_write(rows: list[WebhookDelivery], *, with_timeline: bool = False) -> None:
    """Write new deliveries as ``bulk_create`` writes them (their keys set on them) and
    wake the workers (`outbox_wake`) — in one statement where the wake-up is due, the
    ``NOTIFY`` sent from the INSERT's rows (PostgreSQL sends one per transaction and
    channel whatever the count). Issue 10, session 22 (helper h-claimsvc): one statement
    less per claim, completion and submission, and the INSERT not built by Django's
    compiler on every state change: the INSERTs are ``common.compiled.CompiledInsert``'s,
    sent inside one ``WITH`` where the wake-up or the timeline's lines go with them.

    ``with_timeline`` (a dispatch's end, PostgreSQL): the timeline lines the dispatch
    holds (`cases.effects.timeline_take`) are written in the same statement, a second
    ``INSERT … RETURNING`` of the ``WITH`` — one statement less per state change."""
    alias = router.db_for_write(WebhookDelivery)
    connection = connections[alias]
    deliveries = _DELIVERIES.prepared(alias, rows) if len(rows) <= INSERT_ROWS_MAX else None
    if deliveries is None:
        WebhookDelivery.objects.using(alias).bulk_create(rows)
        outbox_wake(alias)
        return
    lines: list[TimelineEntry] = []
    timeline: tuple[str, list[Any]] | None = None
    if with_timeline and connection.vendor == "postgresql":  # (SQLite: no INSERT in WITH)
        lines = timeline_take()
        timeline = TIMELINE_INSERT.prepared(alias, lines) if len(lines) <= INSERT_ROWS_MAX else None
        if timeline is None:  # none held, or more than one statement carries: on their own
            TIMELINE_INSERT.insert(lines)
            lines = []
    wake = outbox_wake_due(alias)
    sql, params = deliveries
    if wake or timeline is not None:
        line_sql, line_params = timeline if timeline is not None else ("", [])
        sql = _TOGETHER.get_or_make(
            (sql, line_sql, wake), lambda: _together_sql(connection, sql, line_sql, wake)
        )
        params = [*line_params, *params, *([WAKE_CHANNEL] if wake else [])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if wake:
        outbox_woken(alias)
    if not wake and timeline is None:
        keys: list[list[int]] = [[returned[0] for returned in found], []]
    else:  # keys follow the rows' order (one sequence, taken row by row)
        keys = [sorted(k for part, k, _ in found if part == n) for n in (0, 1)]
    CompiledInsert.keys_set(rows, keys[0], alias)
    CompiledInsert.keys_set(lines, keys[1], alias)


def _together_sql(connection: BaseDatabaseWrapper, deliveries: str, lines: str, wake: bool) -> str:
    """The deliveries' INSERT with the workers' ``NOTIFY`` and (``lines``: their INSERT)
    the timeline's lines, in one statement: ``WITH t AS (INSERT … lines), d AS (INSERT …
    deliveries) SELECT 0, id, pg_notify(%s, '') FROM d UNION ALL SELECT 1, id, NULL FROM
    t`` (the parameters in that order: the lines', the deliveries', the channel)."""
    pk = connection.ops.quote_name(str(WebhookDelivery._meta.pk.column))
    notify = "pg_notify(%s, '')" if wake else "NULL"
    ctes = [f"d AS ({deliveries})"]
    select = f"SELECT 0, {pk}, {notify} FROM d"
    if lines:
        line_pk = connection.ops.quote_name(str(TimelineEntry._meta.pk.column))
        ctes.insert(0, f"t AS ({lines})")
        select += f" UNION ALL SELECT 1, {line_pk}, NULL FROM t"
    return f"WITH {', '.join(ctes)} {select}"


def _webhooks_discard() -> None:
    _dispatch.deliveries = None
    _dispatch.clients = None


# First of the dispatch's writes: where the INSERT carries the workers' NOTIFY, the
# messages' flush after it sends none of its own (`outbox_wake`: once per transaction) —
# one statement less per completion and submission that queue messages (session 22).
effects.on_dispatched(_webhooks_flush, on_error=_webhooks_discard, first=True)


# --- webhooks: sending (in the worker) ----------------------------------------------------


Transport = Callable[[str, bytes, Mapping[str, str], float], int]


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 1 hour (the schedule of every outbox)."""
    return OUTBOX.backoff(attempts)


def webhook_request(delivery: WebhookDelivery, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        delivery.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "onestop-webhooks/1",
        DELIVERY_HEADER: str(delivery.delivery_id),
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: delivery.event,
        KEY_ID_HEADER: delivery.client.key_id,
        SIGNATURE_HEADER: webhook_signature(delivery.client.webhook_secret or "", timestamp, body),
    }
    return body, headers


def webhook_deliver(
    delivery_pk: int, *, now: datetime | None = None, transport: Transport | None = None
) -> str:
    """Send one due delivery; returns its status afterwards.

    `Outbox.deliver`: a short lease lets only one sender attempt a delivery at a time; the
    HTTP request runs outside any transaction. A receiver that took the delivery but whose
    answer was lost gets it again: receivers deduplicate on ``X-Onestop-Delivery``.
    """
    now = now or timezone.now()
    return OUTBOX.deliver(
        delivery_pk,
        now=now,
        send=lambda delivery: _webhook_send_group([delivery], now, transport),
    )


def _webhook_send(delivery: WebhookDelivery, now: datetime, transport: Transport | None) -> Attempt:
    client = delivery.client
    if not client.active or not client.webhook_url:
        return Attempt("client inactive or without webhook URL", {"last_status_code": None})
    body, headers = webhook_request(delivery, now)
    return _post(client.webhook_url, body, headers, transport)


def _post(
    url: str, body: bytes, headers: Mapping[str, str], transport: Transport | None
) -> Attempt:
    code: int | None = None
    error = ""
    try:
        code = (transport or http_post)(url, body, headers, HTTP_TIMEOUT)
    except TransportError as exc:
        error = str(exc) or "unreachable"
    except Exception as exc:  # a receiver must never break the worker
        error = f"{type(exc).__name__}: {exc}"
    if code is not None and not 200 <= code < 300:
        error = f"HTTP {code}"
    return Attempt(error, {"last_status_code": code})


# --- webhooks: batches per receiver (issue 10, ADR 0028) -----------------------------------

# A row held back behind an earlier event of its case that is being sent right now is due
# again this soon (an earlier event waiting for its retry holds it until that retry).
HOLD_IN_FLIGHT = timedelta(seconds=1)


def webhook_batch_request(
    deliveries: list[WebhookDelivery], now: datetime
) -> tuple[bytes, dict[str, str]]:
    """One POST for several events of one client: the body is a JSON array of the events,
    each exactly the body of its single delivery (with its own ``delivery_id``), in order;
    signed like a single delivery."""
    client = deliveries[0].client
    body = json.dumps(
        [d.payload for d in deliveries], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "onestop-webhooks/1",
        BATCH_HEADER: str(uuid.uuid4()),
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: BATCH_EVENT,
        KEY_ID_HEADER: client.key_id,
        SIGNATURE_HEADER: webhook_signature(client.webhook_secret or "", timestamp, body),
    }
    return body, headers


def _webhook_send_group(
    deliveries: list[WebhookDelivery], now: datetime, transport: Transport | None
) -> Attempt:
    """Send a group of `_webhook_plan`: one delivery to a client without batches as
    before, else one batched POST whose answer counts for every event in it."""
    client = deliveries[0].client
    if client.webhook_batch_max <= 1:
        return _webhook_send(deliveries[0], now, transport)
    if not client.active or not client.webhook_url:
        return Attempt("client inactive or without webhook URL", {"last_status_code": None})
    body, headers = webhook_batch_request(deliveries, now)
    return _post(client.webhook_url, body, headers, transport)


def _webhook_plan(rows: list[WebhookDelivery], now: datetime) -> Plan[WebhookDelivery]:
    """Split a claimed batch into POSTs: a client without batches gets one per delivery (in
    the claim's order); a client with batches gets its deliveries in arrays of up to its
    ``webhook_batch_max``, in the order they were written.

    In order per case (for batched clients): a delivery is held back while an earlier
    delivery of the same client and case, not in this claim, is still pending — in
    another worker's batch (due again in `HOLD_IN_FLIGHT`) or waiting for its retry (due
    with that retry) — so a receiver never gets a case's events out of order."""
    batched = [r for r in rows if r.client.webhook_batch_max > 1]
    held: dict[int, datetime] = {}
    if batched:
        claimed = {r.pk for r in rows}
        blocking: dict[tuple[int, str], tuple[int, datetime]] = {}
        earlier = (
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING,
                client_id__in={r.client_id for r in batched},
                case_number__in={r.case_number for r in batched},
                pk__lt=max(r.pk for r in batched),
            )
            .exclude(pk__in=claimed)
            .order_by("pk")
            .values_list("pk", "client_id", "case_number", "next_attempt_at", "last_error")
        )
        for pk, client_id, case_number, due, error in earlier:
            key = (client_id, case_number)
            if key not in blocking:
                blocking[key] = (pk, due if error else now + HOLD_IN_FLIGHT)
        for row in batched:
            block = blocking.get((row.client_id, row.case_number))
            if block is not None and block[0] < row.pk:
                held[row.pk] = max(block[1], now)
    groups: list[list[WebhookDelivery]] = []
    per_client: dict[int, list[WebhookDelivery]] = {}
    for row in rows:
        if row.pk in held:
            continue
        if row.client.webhook_batch_max <= 1:
            groups.append([row])
        else:
            per_client.setdefault(row.client_id, []).append(row)
    for client_rows in per_client.values():
        client_rows.sort(key=lambda r: r.pk)
        size = min(client_rows[0].client.webhook_batch_max, WEBHOOK_BATCH_LIMIT)
        groups.extend(client_rows[i : i + size] for i in range(0, len(client_rows), size))
    return Plan(groups, held)


def webhooks_due(now: datetime, *, limit: int = 500) -> list[int]:
    return OUTBOX.due(now, limit=limit)


def webhooks_send_due(
    *, now: datetime | None = None, limit: int = 100, transport: Transport | None = None
) -> BatchResult:
    """One batch of the worker: up to ``limit`` due deliveries claimed together, POSTed —
    one per delivery (signed, with its ``X-Onestop-Delivery`` id), or for a client that
    takes batches one array per client (ADR 0028) — the results recorded together
    (`Outbox.send_due`)."""
    return send_together([webhooks_sender(now=now, limit=limit, transport=transport)])[0]


def webhooks_sender(
    *, now: datetime | None = None, limit: int = 100, transport: Transport | None = None
) -> Sender[WebhookDelivery]:
    """The webhooks' batch of a worker round, sent with the other outboxes' in two
    transactions (`onestop.common.outbox.send_together`, ADR 0045)."""
    at = now or timezone.now()
    return Sender(
        OUTBOX,
        lambda delivery: _webhook_send(delivery, at, transport),
        now=at,
        limit=limit,
        plan=lambda rows: _webhook_plan(rows, at),
        send_group=lambda group: _webhook_send_group(group, at, transport),
    )


def webhooks_late(*, now: datetime | None = None) -> int:
    """Pending deliveries more than a lease past due (monitoring: `Outbox.late`)."""
    return OUTBOX.late(now=now or timezone.now())


def webhook_replay(delivery_pk: int, *, now: datetime | None = None) -> bool:
    """Staff put a dead delivery back in the queue (same delivery id: receivers that did
    get it after all deduplicate)."""
    return OUTBOX.replay(delivery_pk, now=now or timezone.now())


IDEMPOTENCY_RETENTION = timedelta(days=7)


def integration_records_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Retention: stored answers to task actions older than 7 days (a client replays within
    minutes or hours, not weeks) and webhook deliveries delivered more than 30 days ago.
    Dead and pending deliveries are kept: staff must see and replay them. An answer that
    created a case (201) is kept with the case: its key marks the case, and a resent
    submission is answered with that case however late (`onestop.integration.idempotency`).
    """
    now = now or timezone.now()
    answers, _ = (
        IdempotentResponse.objects.filter(created_at__lt=now - IDEMPOTENCY_RETENTION)
        .exclude(status_code=201)
        .delete()
    )
    deliveries = OUTBOX.prune(before=now - timedelta(days=settings.OUTBOX_SENT_RETENTION_DAYS))
    return {"idempotent_responses": answers, "webhook_deliveries": deliveries}
