"""`common.compiled.CompiledInsert`'s arrays in psycopg's binary format (``%b``, on
PostgreSQL where the connection binds on the server; issue 10, session 27, helper
h-binary) write the rows the text format and Django's ``bulk_create`` write.

Hostile values — JSON and text with quotes, backslashes, control characters, Chinese,
emoji, the array syntax's own characters and ``NULL`` as a text, empty strings; None in
every column type, a column of only None; integers above 2^31; times in another zone;
UUIDs; flags; encrypted fields — are written by each writer in turn and read back as the
database holds them (each column's text) and as the model reads them (encrypted fields
decrypted), then deleted so that the next writer writes the same unique values. On
SQLite the compiled statement and Django's are compared (there are no arrays)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from psycopg.types.json import Jsonb

from onestop.cases.models import Case, TimelineEntry
from onestop.common.compiled import CompiledInsert, array_placeholder
from onestop.common.fields import EncryptedJSONField, EncryptedTextField
from onestop.core.clock import parse_time
from onestop.integration import services as integration
from onestop.integration.models import WebhookDelivery
from onestop.integration.tests.support import issue
from onestop.notifications.models import Notification
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

AT = parse_time("2026-11-20T10:00:00+08:00")
# A zone of its own, half an hour off: written as the same instant.
KATHMANDU = timezone(timedelta(hours=5, minutes=45))
BIG = 2**33 + 7  # a case's key above 2^31: its columns are bigint

TEXTS = [
    "say \"hi\" and 'bye'",
    'back\\slash \\\\ \\" \\N',
    "control \x01\x07\x08\x0b\x0c\x1b\x1f\t\n\r end",
    "出生登记（落户）",
    "emoji 👶🏻🎉\U0001f600",
    "",
    "NULL",
    "{a,b} (c) [d] ,;",
    "  spaced  ",
]


def payload(n: int) -> Any:
    """A JSON value per row: objects with every hostile text as key and value, numbers
    beyond 32 and 53 bits, nested lists; and a JSON string, an empty object, an empty
    list."""
    values: list[Any] = [
        {
            "texts": TEXTS,
            **{t or "empty": t for t in TEXTS},
            '"quoted key"': "\\",
            "big": 2**53 + 1,
            "neg": -(2**40),
            "float": 1.25,
            "none": None,
            "flags": [True, False],
            "nested": [{"n": n, "中": ["😀", {"": ""}]}],
        },
        '"a JSON string" with \\ and 中',
        {},
        [],
    ]
    return values[n % len(values)]


def _encrypted(field: Any) -> bool:
    return isinstance(field, EncryptedTextField | EncryptedJSONField)


def _read(model: type[Model], pks: Sequence[int]) -> list[tuple[Any, ...]]:
    """The rows of ``pks`` in order, each column as the database holds it (its text) but
    the encrypted ones (a new token per write) as the model reads them."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(str(model._meta.pk.column))
    plain = ", ".join(f"CAST({quote(str(f.column))} AS TEXT)" for f in fields if not _encrypted(f))
    marks = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {plain} FROM {table} WHERE {pk} IN ({marks}) ORDER BY {pk}", pks)
        stored = cursor.fetchall()
    opened = [
        tuple(getattr(o, f.attname) for f in fields if _encrypted(f))
        for o in model._default_manager.filter(pk__in=pks).order_by("pk")
    ]
    assert len(stored) == len(opened) == len(pks)
    return [tuple(s) + o for s, o in zip(stored, opened, strict=True)]


def _text_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection as if it bound its parameters on the client: ``%s`` arrays."""
    monkeypatch.setattr(connection.features, "uses_server_side_binding", False, raising=False)


Writer = Callable[[list[Any]], object]


def _writers(model: type[Model], monkeypatch: pytest.MonkeyPatch) -> dict[str, Writer]:
    """Django's ``bulk_create``, the compiled INSERT as this connection sends it (binary
    arrays on PostgreSQL) and, on PostgreSQL, with text arrays (a fresh `CompiledInsert`:
    its statement is built with ``%s``)."""

    def compiled(objs: list[Any]) -> None:
        inserter = CompiledInsert(model)
        statement = inserter._statement(connection, "default", len(objs))
        assert statement is not None
        binary = getattr(connection.features, "uses_server_side_binding", False)
        assert ("(%b)::" in statement.sql) is binary  # PostgreSQL's settings: True
        inserter.insert(objs)

    def text(objs: list[Any]) -> None:
        with monkeypatch.context() as patch:
            _text_arrays(patch)
            inserter = CompiledInsert(model)
            statement = inserter._statement(connection, "default", len(objs))
            assert statement is not None and "%b" not in statement.sql
            inserter.insert(objs)

    writers: dict[str, Writer] = {
        "django": lambda objs: model._default_manager.bulk_create(objs),
        "compiled": compiled,
    }
    if connection.vendor == "postgresql":
        writers["compiled, text arrays"] = text
    return writers


def _same_rows(
    model: type[Model], make: Callable[[], list[Any]], writers: dict[str, Writer]
) -> list[tuple[Any, ...]]:
    """Each writer's rows of ``make()`` read back (`_read`), the keys set in order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name, write in writers.items():
        objs = make()
        write(objs)
        pks = [o.pk for o in objs]
        assert all(pk is not None for pk in pks) and pks == sorted(pks), name
        found[name] = _read(model, pks)
        model._default_manager.filter(pk__in=pks).delete()
    first = found.pop("django")
    for name, rows in found.items():
        assert rows == first, name
    return first


@pytest.fixture
def big_case() -> Case:
    return Case.objects.create(
        pk=BIG,
        number="binary-1",
        region="qinbei",
        pack_version="1",
        status="in_progress",
        decision={"说明": 'a "decision"'},
        document={},
        submitted_at=AT,
        decided_at=AT,
    )


def test_the_statement_sends_binary_arrays_where_the_connection_binds_on_the_server(
    monkeypatch,
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    binds = getattr(connection.features, "uses_server_side_binding", False)
    assert binds is (os.environ.get("ONESTOP_PG_PREPARE", "on") != "off")  # the settings'
    compiled = CompiledInsert(TimelineEntry)._compile(connection, 3)
    assert compiled is not None and compiled.unnest
    mark = "%b" if binds else "%s"
    assert array_placeholder(connection) == mark
    assert compiled.sql.count(f"({mark})::") == len(CompiledInsert(TimelineEntry).fields)
    _text_arrays(monkeypatch)
    text = CompiledInsert(TimelineEntry)._compile(connection, 3)
    assert text is not None and "%b" not in text.sql and array_placeholder(connection) == "%s"
    assert text.sql == compiled.sql.replace("(%b)", "(%s)")


def test_timeline_lines_hostile_texts_big_keys_zones_flags(big_case, monkeypatch):
    def make() -> list[TimelineEntry]:
        return [
            TimelineEntry(
                case=big_case,
                at=(AT + timedelta(microseconds=i)).astimezone(KATHMANDU if i % 2 else UTC),
                kind=text[:40],
                item="" if i % 3 else text[:40],
                message=text * 3,
                actor_label=text[:64],
                visible_to_parent=bool(i % 2),
            )
            for i, text in enumerate(TEXTS)
        ]

    rows = _same_rows(TimelineEntry, make, _writers(TimelineEntry, monkeypatch))
    assert [row[0] for row in rows] == [str(BIG)] * len(TEXTS)
    assert TimelineEntry.objects.filter(case=big_case).count() == 0  # each writer's deleted
    again = make()
    CompiledInsert(TimelineEntry).insert(again)
    read = TimelineEntry.objects.filter(pk__in=[e.pk for e in again]).order_by("pk")
    assert [(e.at, e.message, e.visible_to_parent) for e in read] == [
        (e.at, e.message, e.visible_to_parent) for e in again
    ]


def _deliveries(client_id: int, number: str) -> Callable[[], list[WebhookDelivery]]:
    ids = [uuid.uuid4() for _ in range(6)]

    def make() -> list[WebhookDelivery]:
        return [
            WebhookDelivery(
                delivery_id=ids[i],
                client_id=client_id,
                event="task.updated",
                case_number=number if i % 2 else "",
                payload=payload(i),
                attempts=i * 5000,  # smallint
                next_attempt_at=AT.astimezone(KATHMANDU) + timedelta(seconds=i),
                last_error=TEXTS[i][:200],
                created_at=AT,
                # last_status_code and delivered_at: None in every row
            )
            for i in range(len(ids))
        ]

    return make


def test_webhook_deliveries_json_payloads_uuids_columns_of_only_none(big_case, monkeypatch):
    client = issue("cdc", "division", "4507").client
    make = _deliveries(client.pk, big_case.number)
    writers = _writers(WebhookDelivery, monkeypatch)
    rows = _same_rows(WebhookDelivery, make, writers)
    fields = [f.name for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
    assert {row[fields.index("last_status_code")] for row in rows} == {None}
    assert {row[fields.index("delivered_at")] for row in rows} == {None}
    again = make()
    CompiledInsert(WebhookDelivery).insert(again)
    found = WebhookDelivery.objects.filter(pk__in=[d.pk for d in again]).order_by("pk")
    assert [(d.delivery_id, d.payload, d.next_attempt_at) for d in found] == [
        (d.delivery_id, d.payload, d.next_attempt_at) for d in again
    ]


def test_the_deliveries_with_the_timeline_in_one_statement(big_case, monkeypatch):
    """`integration.services._deliveries_write`: the compiled INSERTs inside its ``WITH``
    (the timeline's lines, the deliveries, the workers' ``NOTIFY`` with a ``%s``)."""
    client = issue("cdc", "division", "4507").client
    make = _deliveries(client.pk, big_case.number)

    def lines() -> list[TimelineEntry]:
        return [
            TimelineEntry(case=big_case, at=AT, kind="k", message=t, visible_to_parent=False)
            for t in TEXTS
        ]

    django_rows, django_lines = make(), lines()
    WebhookDelivery.objects.bulk_create(django_rows)
    TimelineEntry.objects.bulk_create(django_lines)
    expected = (
        _read(WebhookDelivery, [d.pk for d in django_rows]),
        _read(TimelineEntry, [e.pk for e in django_lines]),
    )
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in django_rows]).delete()
    held = lines()
    monkeypatch.setattr(integration, "timeline_take", lambda: held)
    rows = make()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        integration._deliveries_write(rows, with_timeline=True)
    assert _read(WebhookDelivery, [d.pk for d in rows]) == expected[0]
    if connection.vendor == "postgresql":  # (SQLite: no INSERT in a WITH, no lines taken)
        assert _read(TimelineEntry, [e.pk for e in held]) == expected[1]
        [sql] = [q["sql"] for q in queries if "integration_webhookdelivery" in q["sql"]]
        assert sql.startswith("WITH t AS (INSERT") and "pg_notify" in sql
        assert "出生登记" in sql  # the debug cursor's text of it has the values


def test_notifications_ignoring_conflicts_encrypted_texts_and_a_key_of_only_none(
    monkeypatch, beijing
):
    at = beijing("2026-11-20T10:00:00+08:00")
    ids = [uuid.uuid4() for _ in TEXTS]

    def make() -> list[Notification]:
        return [
            Notification(
                message_id=ids[i],
                dedup_key=f"binary:{i}:{text}"[:160],
                channel="sms",
                phone=None if i % 2 else text,
                phone_index=text[:64],
                body=text * 2,
                attempts=i,
                next_attempt_at=at,
                last_error=text[:200],
                created_at=at.astimezone(KATHMANDU),
                # case, sent_at, read_at: None in every row
            )
            for i, text in enumerate(TEXTS)
        ]

    def keys(objs: list[Notification]) -> list[int]:
        found = dict(
            Notification.objects.filter(dedup_key__startswith="binary:").values_list(
                "dedup_key", "pk"
            )
        )
        return [found[o.dedup_key] for o in objs]

    found = {}
    writers: dict[str, Writer] = {
        "django": lambda objs: Notification.objects.bulk_create(objs, ignore_conflicts=True),
        "compiled": lambda objs: CompiledInsert(Notification).insert_ignoring_conflicts(objs),
    }
    if connection.vendor == "postgresql":

        def text(objs: list[Notification]) -> None:
            with monkeypatch.context() as patch:
                _text_arrays(patch)
                assert CompiledInsert(Notification).insert_ignoring_conflicts(objs) == len(objs)

        writers["compiled, text arrays"] = text
    for name, write in writers.items():
        objs = make()
        write(objs)
        pks = sorted(keys(objs))
        found[name] = _read(Notification, pks)
        Notification.objects.filter(pk__in=pks).delete()
    first = found.pop("django")
    assert len(first) == len(TEXTS)
    for name, rows in found.items():
        assert rows == first, name
    assert CompiledInsert(Notification).insert_ignoring_conflicts(make()) == len(TEXTS)
    assert CompiledInsert(Notification).insert_ignoring_conflicts(make()) == 0
    read = Notification.objects.filter(message_id__in=ids).order_by("created_at", "pk")
    assert sorted((n.body, n.phone, n.case_id, n.read_at) for n in read) == sorted(
        (t * 2, None if i % 2 else t, None, None) for i, t in enumerate(TEXTS)
    )


def test_case_items_json_columns_encrypted_json_ints_and_none(big_case, monkeypatch):
    def make() -> list[CaseItem]:
        return [
            CaseItem(
                case=big_case,
                item=f"item-{i}",
                newborn=i,
                position=i,
                department="cdc",
                jurisdiction_kind="division",
                jurisdiction_code=text[:32],
                after=[text, payload(i)],
                state="waiting",
                state_before_return=text[:16],
                time_limit_days=None if i % 2 else 2**31 - 1,  # integer: its largest
                received_at=None if i % 2 else AT.astimezone(KATHMANDU),
                pauses=payload(i + 1),
                result=None if i % 3 else {"说明": text, "n": 2**40, "payload": payload(i)},
                reasons=[text],
                automatic=bool(i % 2),
                version=2**31 - 1,
                # claimed_by (a bigint key), claimed_at, finished_at: None in every row
            )
            for i, text in enumerate(TEXTS)
        ]

    rows = _same_rows(CaseItem, make, _writers(CaseItem, monkeypatch))
    assert len(rows) == len(TEXTS)
    again = make()
    CompiledInsert(CaseItem).insert(again)
    read = CaseItem.objects.filter(pk__in=[r.pk for r in again]).order_by("pk")
    assert [(r.after, r.pauses, r.result, r.time_limit_days) for r in read] == [
        (r.after, r.pauses, r.result, r.time_limit_days) for r in again
    ]


# Every column type of a compiled INSERT (its cast) with its values, None among them, and
# a column of only None: each array read back as the same text in both formats.
ARRAYS: list[tuple[str, list[Any]]] = [
    ("boolean", [True, False, None]),
    ("varchar", [*TEXTS, None]),
    ("text", [*TEXTS, None]),
    ("date", [AT.date(), None]),
    ("timestamp with time zone", [AT, AT.astimezone(KATHMANDU), None]),
    ("numeric", [None, Decimal("0.00"), Decimal("-123456.78"), Decimal("1e-2")]),
    ("bigint", [2**31, -(2**62), None, 0]),
    ("integer", [2**31 - 1, -(2**31), None]),
    ("smallint", [2**15 - 1, None, -(2**15)]),
    ("uuid", [uuid.uuid4(), None]),
]


@pytest.mark.parametrize(("cast", "values"), ARRAYS, ids=[a[0] for a in ARRAYS])
def test_each_column_type_as_arrays_in_both_formats(cast, values):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    sql = "SELECT CAST(x AS TEXT) FROM UNNEST(({})::{}[]) WITH ORDINALITY AS u(x, n) ORDER BY n"
    none = [None, None]
    found = []
    for mark in ("%s", "%b"):
        with connection.cursor() as cursor:
            cursor.execute(sql.format(mark, cast), [values])
            some = cursor.fetchall()
            cursor.execute(sql.format(mark, cast), [none])
            found.append((some, cursor.fetchall()))
    assert found[0] == found[1]
    assert found[0][1] == [(None,), (None,)] and len(found[0][0]) == len(values)


def test_json_arrays_in_both_formats():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    sql = "SELECT CAST(x AS TEXT) FROM UNNEST(({})::jsonb[]) WITH ORDINALITY AS u(x, n) ORDER BY n"
    jsons = [Jsonb(payload(i)) for i in range(4)] + [None, Jsonb(TEXTS)]
    out = []
    with connection.cursor() as cursor:
        for mark in ("%s", "%b"):
            cursor.execute(sql.format(mark), [jsons])
            out.append(cursor.fetchall())
            cursor.execute(sql.format(mark), [[None, None]])
            out.append(cursor.fetchall())
    assert out[0] == out[2] and out[1] == out[3] == [(None,), (None,)]
    assert len(out[0]) == len(jsons) and out[0][4] == (None,)


def test_a_client_side_binding_cursor_takes_the_text_statement(big_case, monkeypatch):
    """Where psycopg binds on the client (``ONESTOP_PG_PREPARE=off``: psycopg's
    ``ClientCursor``, Django's cursor then) the statement has ``%s`` arrays: the values
    go into the SQL as literals."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    _text_arrays(monkeypatch)
    inserter = CompiledInsert(TimelineEntry)
    lines = [
        TimelineEntry(case=big_case, at=AT, kind="k", message=t, visible_to_parent=True)
        for t in TEXTS
    ]
    prepared = inserter.prepared("default", lines)
    assert prepared is not None and "%b" not in prepared[0]
    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cursor:
        cursor.execute(*prepared)
        keys = [key for (key,) in cursor.fetchall()]
    read = TimelineEntry.objects.filter(pk__in=keys).order_by("pk")
    assert [e.message for e in read] == TEXTS
