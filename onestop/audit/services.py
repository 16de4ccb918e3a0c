"""Writing and checking the audit chain. Call inside the transaction of the change.

Each record carries ``hash = HMAC-SHA256(key, prev_hash ‖ canonical content)``; the key is
``settings.AUDIT_KEYS[0]`` (``ONESTOP_AUDIT_KEY``, kept outside the database) and its id is
stored in the record, so after a rotation old records verify with the old key. Records from
before keys existed (``alg="sha256"``) verify with plain SHA-256 as legacy (ADR 0019).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, Unpack

from django.conf import settings
from django.db import connections, router
from django.db.models import Model, OuterRef, QuerySet, Subquery

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.common.compiled import CompiledFirst, CompiledInsert
from onestop.common.savepoints import savepoints_are_off

GENESIS = "0" * 64
HMAC_SHA256 = "hmac-sha256"
LEGACY_SHA256 = "sha256"


def key_id(key: str) -> str:
    """A short public name of a key (a hash of it: names the key, reveals nothing)."""
    return "k" + hashlib.sha256(b"onestop-audit-key-id\n" + key.encode()).hexdigest()[:12]


def audit_keys(keys: Sequence[str] | None = None) -> dict[str, bytes]:
    """Every configured key by id, the signing one first."""
    found = [k.strip() for k in (settings.AUDIT_KEYS if keys is None else keys) if k.strip()]
    return {key_id(k): k.encode() for k in found}


@functools.lru_cache(maxsize=4)
def _signing(keys: tuple[str, ...]) -> tuple[str, bytes]:
    """The signing key's id and bytes of ``keys`` (`audit_keys`' first; its id a SHA-256:
    once per setting, not per record)."""
    return next(iter(audit_keys(keys).items()))


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _digest(prev: str, body: dict[str, Any]) -> str:
    """Legacy: plain SHA-256 (anyone with database access can recompute it)."""
    return hashlib.sha256(f"{prev}\n{_canonical(body)}".encode()).hexdigest()


def _mac(key: bytes, prev: str, body: dict[str, Any]) -> str:
    # ``hmac.digest``: the same HMAC in one call of OpenSSL's (``hmac.new`` builds and
    # copies two hash objects in Python first; session 30).
    return hmac.digest(key, f"{prev}\n{_canonical(body)}".encode(), "sha256").hex()


def _body(record: AuditRecord) -> dict[str, Any]:
    body = {
        "at": record.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "stream": record.stream,
        "seq": record.seq,
        "actor": record.actor_id,
        "actor_label": record.actor_label,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "detail": record.detail,
    }
    if record.alg != LEGACY_SHA256:
        body["alg"] = record.alg
        body["kid"] = record.key_id
    return body


def _last_of(stream: Any) -> QuerySet[AuditRecord]:
    """A stream's records, its last first (``stream``: a name, or an expression of the
    caller's row); what `_follows_sql`'s condition says in SQL."""
    return AuditRecord.objects.filter(stream=stream).order_by("-seq").only("seq", "hash")


# The stream's last record, read before every record: compiled once per database in this
# process (issue 10 part 2: every write of the API writes one, a claim and a completion
# each paid for building and compiling the same statement).
_LAST = CompiledFirst(AuditRecord, _last_of, "onestop-audit-stand-in-stream")
# And the record's INSERT, built once (issue 10, helper h-submission; as ``save``).
_INSERT = CompiledInsert(AuditRecord)


# --- the stream's last record, known before the record is written ------------------------
#
# Each record names its stream's last one (seq, hash), which used to cost a SELECT before
# every INSERT. Where the caller's transaction already knows it — read in a statement the
# change makes anyway (the case lock: `last_link_columns`), or the record it wrote itself
# last — the record is written by one conditional INSERT that the database lets through
# only if that record is still the stream's last (`_follows_sql`); otherwise (a guess gone
# stale: another writer came first, a rolled-back record) the last record is read and the
# record written as before. The guess never decides the chain: the database does, in the
# INSERT, and the unique (stream, seq) constraint stays the backstop (issue 10, session 23).

Link = tuple[int, str]  # a record's (seq, hash)

LAST_SEQ, LAST_HASH = "audit_last_seq", "audit_last_hash"
LAST_LINK = "audit_last_link"


def last_link_columns(column: str) -> dict[str, Subquery]:
    """Annotations reading the last record's seq and hash of the stream named by the
    caller's ``column`` (e.g. a case's ``"number"``) in the caller's statement; give the
    row to `last_link_read`. (Or one annotation `LAST_LINK` of a caller's own: "seq hash",
    the case lock's on PostgreSQL, migration ``cases.0009``.)"""
    last = _last_of(OuterRef(column))  # the one definition of a stream's last record
    return {
        LAST_SEQ: Subquery(last.values("seq")[:1]),
        LAST_HASH: Subquery(last.values("hash")[:1]),
    }


def last_link_read(stream: str, row: Model) -> None:
    """Take the `last_link_columns` annotations off ``row`` and keep them as ``stream``'s
    last record for the rest of this transaction (a guess the INSERT checks)."""
    values = row.__dict__
    if LAST_LINK in values:
        link = values.pop(LAST_LINK)
        seq, digest = link.split(" ") if link else (None, None)
    else:
        seq, digest = values.pop(LAST_SEQ, None), values.pop(LAST_HASH, None)
    if seq is not None and digest is not None and stream not in _HELD.guesses:
        # (a stream with records held, `audit_held`: its last is the last held, which
        # the database has not seen yet)
        _remember(stream, (int(seq), digest))


class _Known(threading.local):
    """The streams' last records this thread's transaction read or wrote, and the
    transaction they belong to (the connection's list of on-commit hooks, which Django
    replaces at every commit and rollback, also of a savepoint: a guess never outlives
    the transaction, or the savepoint, that saw it)."""

    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.of: object = None


_KNOWN = _Known()


def _transaction_mark() -> object | None:
    connection = connections[router.db_for_write(AuditRecord)]
    if not connection.in_atomic_block:
        return None  # autocommit: each statement its own transaction, nothing to keep
    return connection.run_on_commit


def _remember(stream: str, link: Link, mark: object | None = None) -> None:
    mark = _transaction_mark() if mark is None else mark
    if mark is None:
        return
    if _KNOWN.of is not mark:
        _KNOWN.links, _KNOWN.of = {}, mark
    _KNOWN.links[stream] = link


def _known(stream: str, mark: object | None) -> Link | None:
    if mark is None or _KNOWN.of is not mark:
        return None
    return _KNOWN.links.get(stream)


def _follows_sql() -> str:
    table = connections[router.db_for_write(AuditRecord)].ops.quote_name(AuditRecord._meta.db_table)
    return (
        f"EXISTS (SELECT 1 FROM {table} WHERE stream = %s AND seq = %s AND hash = %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE stream = %s AND seq > %s)"
    )


class AuditEntry(TypedDict):
    """What a record says, as `audit_record` and `audit_entry` take it."""

    stream: str
    at: datetime
    actor: Any | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    detail: NotRequired[dict[str, Any] | None]


# A stream's first record is guessed the same way where the caller starts the stream (a
# new case's, the guidance registration's: `audit_record`'s ``new``): the guess "no record
# yet" is the link (0, GENESIS) — the first record follows it as it follows None — and the
# INSERT goes through only while the stream has no record (session 26, h-completion).
_NONE_YET: Link = (0, GENESIS)


def _empty_sql() -> str:
    table = connections[router.db_for_write(AuditRecord)].ops.quote_name(AuditRecord._meta.db_table)
    return f"NOT EXISTS (SELECT 1 FROM {table} WHERE stream = %s)"


def audit_record(*, new: bool = False, **entry: Unpack[AuditEntry]) -> AuditRecord:
    """Append one record to ``stream``. The caller holds the lock of the stream's object
    (e.g. the case row), so two writers never extend the same stream at once; the unique
    (stream, seq) constraint turns a mistake into an error, never a fork. Where the
    transaction knows the stream's last record (the section above), one statement; so
    too where ``new``: the caller starts the stream (it expects no record in it yet; a
    record there after all is read and followed, as a stale guess is). Inside
    `audit_held`, no statement (where the last record is known): the record is placed
    and signed now — its seq and hash set — and written with the block's others when
    the block ends (its id set then)."""
    record = audit_entry(**entry)
    stream = record.stream
    mark = _transaction_mark()  # once per record (session 30)
    known = _known(stream, mark) or (_NONE_YET if new else None)
    if mark is not None and _HELD.of is mark:  # held (`_holding`)
        if known is None:
            last = _LAST.first(stream)
            known = (last.seq, last.hash) if last else _NONE_YET
        _signed(record, known)
        _HELD.guesses.setdefault(stream, known)
        _HELD.records.append(record)
        _remember(stream, (record.seq, record.hash), mark)
        return record
    if known is not None:
        _signed(record, known)
        seq, digest = known
        condition, params = (
            (_empty_sql(), [stream])
            if known == _NONE_YET
            else (_follows_sql(), [stream, seq, digest, stream, seq])
        )
        if _INSERT.insert_where(record, condition, params):
            _remember(stream, (record.seq, record.hash), mark)
            return record
    last = _LAST.first(stream)
    _signed(record, (last.seq, last.hash) if last else None)
    _INSERT.save_new(record)
    _remember(stream, (record.seq, record.hash))
    return record


# --- a transaction's records written together (issue 10, session 29, h-audit) ------------
#
# An API request wrote one INSERT per record: a batch of N tasks N of them, a submission
# two. Inside `audit_held` (the API's transaction, run without savepoints) each record is
# placed and signed when it is made, after its stream's last record as the transaction
# knows it (the section above; the last one held, for a stream already held), and the
# block's records are written when it ends by one INSERT that the database lets through
# only if every held stream's first record still follows that stream's last one in the
# database (the conditions of `audit_record`, joined by AND: all rows or none). Where one
# guess went stale, the streams' last records are read in one statement and every held
# record placed again and written (`audit_records`). The database decides the chain, as
# before; the unique (stream, seq) constraint stays the backstop.
#
# Held only without savepoints (`common.savepoints.savepoints_off`): no part of the
# transaction can then be rolled back alone — a block left by an error marks the whole
# transaction for rollback — so a held record's change and the record commit or roll back
# together: a block left with the transaction marked for rollback drops its records, one
# left by an error while the transaction may still commit writes them.


class _Held(threading.local):
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        # Each held stream's last record before the block (the link its first held record
        # follows; `_NONE_YET`: none), which the INSERT checks.
        self.guesses: dict[str, Link] = {}
        self.of: object = None  # the transaction (`_transaction_mark`) held in; None: not


_HELD = _Held()


def _holding() -> bool:
    return _HELD.of is not None and _HELD.of is _transaction_mark()


@contextmanager
def audit_held() -> Iterator[None]:
    """Hold the records `audit_record` makes until the block ends, then write them in one
    INSERT (the section above). Where savepoints are on (a part of the transaction may be
    rolled back alone), in autocommit, or inside another such block: records are written
    one by one as without it."""
    connection = connections[router.db_for_write(AuditRecord)]
    mark = _transaction_mark()
    if mark is None or _HELD.of is not None or not savepoints_are_off(connection.alias):
        yield
        return
    _HELD.records, _HELD.guesses, _HELD.of = [], {}, mark
    try:
        yield
    except BaseException:
        if connection.needs_rollback or _transaction_mark() is not mark:
            _held_end()  # the transaction is rolled back: its records with it
        else:
            _held_write()  # what the block wrote may commit: its records with it
        raise
    _held_write()


def _held_end() -> tuple[list[AuditRecord], dict[str, Link]]:
    held = (_HELD.records, _HELD.guesses)
    _HELD.records, _HELD.guesses, _HELD.of = [], {}, None
    return held


def _held_write() -> None:
    """The held records written (the block ends)."""
    if _transaction_mark() is not _HELD.of:
        _held_end()
        raise RuntimeError("audit_held(): the transaction ended inside the block")
    records, guesses = _held_end()
    if not records:
        return
    empty = [stream for stream, link in guesses.items() if link == _NONE_YET]
    following = [(stream, link) for stream, link in guesses.items() if link != _NONE_YET]
    condition = " AND ".join([_empty_sql()] * len(empty) + [_follows_sql()] * len(following))
    params: list[Any] = [*empty]
    for stream, (seq, digest) in following:
        params += [stream, seq, digest, stream, seq]
    if not _INSERT.insert_all_where(records, condition, params):
        audit_records(records)  # a guess gone stale: read, placed again, written


def audit_entry(**entry: Unpack[AuditEntry]) -> AuditRecord:
    """A record of ``stream`` not yet placed in it, for `audit_records`."""
    # The actor by its id: no user object cached on the record, which saving it would
    # check (session 30); ``record.actor`` reads the user where asked. Built without
    # ``Model.__init__`` (`CompiledInsert.new`; session 31, h-cpu).
    return _INSERT.new(
        at=entry["at"],
        stream=entry["stream"],
        actor_id=getattr(entry["actor"], "pk", None),
        actor_label=entry["actor_label"],
        action=entry["action"],
        object_type=entry["object_type"],
        object_id=entry["object_id"],
        detail=entry.get("detail") or {},
    )


def audit_records(records: Sequence[AuditRecord]) -> None:
    """Append each record (`audit_entry`) to its stream, in their order, in two statements
    (a batch of state changes, each of its own case: the deadline sweep's; issue 10,
    session 24): the streams' last records, read in one statement, then every record in
    one INSERT. The caller holds the lock of every stream's object, taken before this read,
    so no other writer extends these streams until it commits (the read sees every record
    committed before the locks were granted); the unique (stream, seq) constraint stays the
    backstop. Read here, not taken from what `cases.services.cases_locked` read with the
    locks: a lock that waited was granted after another writer's commit, which a read
    made with the lock's statement may predate."""
    if not records:
        return
    if _holding() and _HELD.records:  # records held: written first (the read below)
        mark = _HELD.of
        _held_write()
        _HELD.of = mark  # still held: the block's next records
    streams = list(dict.fromkeys(record.stream for record in records))
    last = {
        stream: (seq, digest)
        for stream, seq, digest in AuditRecord.objects.filter(
            stream__in=streams, seq=Subquery(_last_of(OuterRef("stream")).values("seq")[:1])
        ).values_list("stream", "seq", "hash")
    }
    for record in records:
        _signed(record, last.get(record.stream))
        last[record.stream] = (record.seq, record.hash)
    _INSERT.insert(records)
    for stream in streams:
        _remember(stream, last[stream])


def _signed(record: AuditRecord, last: Link | None) -> AuditRecord:
    """``record`` placed after ``last`` (its stream's last record; None: the first) and
    signed with the signing key."""
    kid, key = _signing(tuple(settings.AUDIT_KEYS))
    record.seq = (last[0] + 1) if last else 1
    record.prev_hash = last[1] if last else GENESIS
    record.alg = HMAC_SHA256
    record.key_id = kid
    record.hash = _mac(key, record.prev_hash, _body(record))
    return record


@dataclass
class ChainCheck:
    """What checking the chains found: problems (each a sentence), and counts."""

    problems: list[str] = field(default_factory=list)
    records: int = 0
    streams: int = 0
    legacy: int = 0
    by_key: dict[str, int] = field(default_factory=dict)


def check_chains(
    records: Iterable[AuditRecord],
    *,
    keys: dict[str, bytes] | None = None,
    legacy_through: int | None = None,
) -> ChainCheck:
    """Check records given in (stream, seq) order. ``legacy_through``: the highest record id
    a signed anchor allows to be legacy (``None``: no anchor yet, legacy accepted as such)."""
    keys = audit_keys() if keys is None else keys
    result = ChainCheck()
    stream: str | None = None
    prev, expected_seq, keyed_seen = GENESIS, 1, False
    for record in records:
        if record.stream != stream:
            stream, prev, expected_seq, keyed_seen = record.stream, GENESIS, 1, False
            result.streams += 1
        result.records += 1
        where = f"对象 {record.stream} 的第 {record.seq} 条记录"
        if record.seq != expected_seq:
            missing = f"{expected_seq}" + (
                f"–{record.seq - 1}" if record.seq - 1 > expected_seq else ""
            )
            result.problems.append(f"对象 {record.stream} 的第 {missing} 条记录缺失")
        if record.prev_hash != prev:
            result.problems.append(f"{where}的前序摘要不符（前面的记录被删除或改动）")
        if record.alg == HMAC_SHA256:
            keyed_seen = True
            key = keys.get(record.key_id)
            if key is None:
                result.problems.append(f"{where}使用的审计密钥 {record.key_id} 未配置，无法核验")
            elif not hmac.compare_digest(_mac(key, record.prev_hash, _body(record)), record.hash):
                result.problems.append(f"{where}的内容已被改动（密钥摘要不符）")
            else:
                result.by_key[record.key_id] = result.by_key.get(record.key_id, 0) + 1
        elif record.alg == LEGACY_SHA256:
            result.legacy += 1
            if keyed_seen or (legacy_through is not None and record.id > legacy_through):
                # A keyed record rewritten as "legacy" to escape the key: a downgrade.
                result.problems.append(f"{where}被改写为无密钥的旧格式（降级篡改）")
            elif _digest(record.prev_hash, _body(record)) != record.hash:
                result.problems.append(f"{where}的内容已被改动")
        else:
            result.problems.append(f"{where}的摘要算法 {record.alg!r} 未知")
        prev = record.hash
        expected_seq = record.seq + 1
    return result


def verify_chain(stream: str) -> list[str]:
    """Problems found in one stream's chain (empty when intact)."""
    return check_chains(AuditRecord.objects.filter(stream=stream).order_by("seq")).problems


# Every staff read of a case writes one (the officer's task page on each view): its INSERT
# built once per database, not per call (issue 10 part 3, h-officerpages).
_ACCESS_INSERT: CompiledInsert[AccessRecord] = CompiledInsert(AccessRecord)


def access_record(*, actor: Any, case_number: str, what: str, at: datetime, granted: bool) -> None:
    _ACCESS_INSERT.save_new(  # the actor by id (`audit_entry`'s)
        AccessRecord(actor_id=actor.pk, case_number=case_number, what=what, at=at, granted=granted)
    )
