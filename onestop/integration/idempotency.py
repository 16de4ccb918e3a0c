"""One idempotency service for every write of the integration API: case submission and
the task actions (claim, complete, return, refuse).

DESIGN.md: department systems do "the same actions as officers, machine to machine,
idempotent"; spec/interfaces.md: "the same key and body gives the same case; the same key
with another body is refused (409/422)". The rule, the same everywhere:

- A write may carry an ``Idempotency-Key`` (case submission must). Keys are per client.
- The first successful answer to a key is stored with a digest of the request, in the
  transaction of the write itself: the effect and its answer commit together or not at all.
- The same key with the same request → the stored answer, marked replayed; nothing is
  done again.
- The same key with another request → `IdempotencyConflict` (409 ``idempotency_key_reused``).
- The same key sent concurrently → one effect: the losers' transactions roll back (on the
  unique (client, key) answer, or on the effect's own guard — the task's version, the
  case's key, the newborn's claim) and they answer as replays of the winner.
- A refused request stores nothing, so the client may correct it and retry with the key.

Answers to actions (200) are kept 7 days (`integration_records_prune`); an answer that
created a case (201) is kept with the case: a hospital system resending a submission after
a long outage is told the same case, not a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from onestop.common.compiled import CompiledInsert, CompiledPerKey
from onestop.core.errors import OnestopError
from onestop.integration.models import ApiClient, IdempotentResponse


class IdempotencyConflict(OnestopError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("该幂等键（Idempotency-Key）已用于另一个不同的请求，请使用新的键")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def request_digest(*parts: object) -> str:
    """SHA-256 of the request's parts (method, path, body) in canonical JSON."""
    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# The client's answer to a key, read before every write with a key: compiled once per
# client and database in this process (issue 10 part 2; the statement differs by the key).
_ANSWER = CompiledPerKey(IdempotentResponse, "onestop-stand-in-idempotency-key")


# The answer's row, written by every keyed write: its INSERT built once (session 22).
_ANSWER_INSERT = CompiledInsert(IdempotentResponse)


# Where the client read for a request carries whether an answer to the request's key is
# stored (`answer_column`, `answer_seen`): the key and the answer's id, or None.
_SEEN = "_onestop_answer_seen"


def answer_column(key: Any) -> dict[str, Subquery]:
    """The id of the answer stored for ``key`` (None where none is) as a column
    ``answer_id`` of a statement that reads the client (issue 10: with its authentication,
    one statement less per keyed write), for `answer_seen`."""
    stored = IdempotentResponse.objects.filter(client_id=OuterRef("pk"), key=key)
    return {"answer_id": Subquery(stored.values("pk")[:1])}


def answer_seen(client: ApiClient, key: str, answer_id: int | None) -> None:
    """Mark ``client`` (as read for this request) with what `answer_column` read for
    ``key``: the first look for a stored answer to ``key`` uses it — none stored: no
    statement — instead of reading; every later look (a concurrent request's answer after
    a race) reads."""
    setattr(client, _SEEN, (key, answer_id))


def _stored(client: ApiClient, key: str, digest: str) -> Answer | None:
    seen = client.__dict__.pop(_SEEN, None)
    if seen is not None and seen == (key, None):
        return None  # read with the client, in this transaction: none stored
    client_id = client.pk
    stored = _ANSWER.first(
        client_id,
        lambda: lambda value: IdempotentResponse.objects.filter(client_id=client_id, key=value),
        key,
    )
    if stored is None:
        return None
    if stored.request_digest != digest:
        raise IdempotencyConflict()
    return Answer(stored.status_code, dict(stored.body), replayed=True)


@dataclass(frozen=True)
class WithAnswer:
    """A statement sent with the stored answer, in its ``INSERT`` (a ``WITH`` of it, on
    PostgreSQL): ``statement()`` its SQL and parameters (None: none to send), ``sent()``
    called once the answer's statement succeeded. The API counts the request's use of its
    rate limit so (`integration.api`; issue 10, session 29)."""

    statement: Callable[[], tuple[str, list[Any]] | None]
    sent: Callable[[], None]


def _answer_insert(row: IdempotentResponse, with_answer: WithAnswer | None) -> None:
    """The answer's row written, with ``with_answer``'s statement in the same one where
    both apply (PostgreSQL; else the row alone, the other statement left to its caller).
    An error (the key's answer stored by a concurrent request): neither written."""
    alias = router.db_for_write(IdempotentResponse)
    connection = connections[alias]
    other = with_answer.statement() if with_answer is not None else None
    prepared = (
        _ANSWER_INSERT.prepared(alias, [row])
        if other is not None and connection.vendor == "postgresql"
        else None
    )
    if with_answer is None or other is None or prepared is None:
        _ANSWER_INSERT.save_new(row)
        return
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
        cursor.execute(f"WITH counted AS ({other[0]}) {prepared[0]}", [*other[1], *prepared[1]])
        keys = cursor.fetchall()
    _ANSWER_INSERT.keys_set([row], [key for (key,) in keys], alias)
    with_answer.sent()


def idempotent(
    *,
    client: ApiClient,
    key: str | None,
    digest: str,
    act: Callable[[], Answer],
    races: tuple[type[Exception], ...] = (),
    now: datetime | None = None,
    with_answer: WithAnswer | None = None,
) -> Answer:
    """Run ``act`` once per (client, key): see the module's rule.

    ``act`` runs inside the transaction that stores its answer. ``races`` are the errors
    by which the effect's own guard refuses a second try of the same request (a task
    already claimed, a newborn already holding a case): when one is raised while another
    request with the key has stored an answer, that answer is replayed instead.
    ``with_answer``: a statement sent in the answer's ``INSERT`` (`WithAnswer`).
    """
    if not key:
        return act()
    stored = _stored(client, key, digest)
    if stored is not None:
        return stored
    retried: tuple[type[Exception], ...] = (IntegrityError, *races)
    try:
        with transaction.atomic():
            answer = act()
            _answer_insert(
                IdempotentResponse(
                    client=client,
                    key=key,
                    request_digest=digest,
                    status_code=answer.status,
                    body=json.loads(json.dumps(answer.body, default=str)),
                    created_at=now or timezone.now(),
                ),
                with_answer,
            )
    except retried:
        stored = _stored(client, key, digest)  # a concurrent request with the key won
        if stored is not None:
            return stored
        raise
    return answer
