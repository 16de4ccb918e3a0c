"""The one in-process store (`kept.Kept`) and statements compiled once (`compiled.Statement`):
issue 10 part 3."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection

from onestop.common.compiled import Statement
from onestop.common.kept import MISSING, Kept


def test_least_recently_used_goes_first_and_a_read_renews():
    kept: Kept[str, int] = Kept(size=2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" is now the most recent
    kept.put("c", 3)
    assert kept.get("b") is None and kept.get("a") == 1 and kept.get("c") == 3
    assert len(kept) == 2


def test_a_lifetime_ends_an_entry():
    kept: Kept[str, str] = Kept(size=10, ttl=300)
    with mock.patch("onestop.common.kept.time.monotonic", return_value=1000.0):
        kept.put("page", "body")
    with mock.patch("onestop.common.kept.time.monotonic", return_value=1299.0):
        assert kept.get("page") == "body"
    with mock.patch("onestop.common.kept.time.monotonic", return_value=1301.0):
        assert kept.get("page") is None
    assert len(kept) == 0  # the expired entry is gone, not only hidden


def test_size_zero_keeps_nothing_and_none_is_a_value():
    off: Kept[str, int] = Kept(size=0)
    off.put("a", 1)
    assert off.get("a") is None and len(off) == 0
    kept: Kept[str, int | None] = Kept(size=4)
    made = []
    assert kept.get_or_make("x", lambda: made.append(1)) is None
    assert kept.get_or_make("x", lambda: made.append(1)) is None
    assert made == [1]  # None was kept: not made again
    assert kept.find("y") is MISSING


def test_counts_hits_and_misses_and_clear_forgets():
    kept: Kept[str, int] = Kept(size=4)
    kept.get("a")
    kept.put("a", 1)
    kept.get("a")
    assert (kept.hits, kept.misses) == (1, 1)
    kept.clear()
    assert kept.get("a") is None and (kept.hits, kept.misses) == (0, 1)


def test_threads_never_exceed_the_size():
    kept: Kept[int, int] = Kept(size=50)

    def fill(offset: int) -> None:
        for i in range(2000):
            kept.put(offset + i, i)
            kept.get(offset + i // 2)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kept) == 50


def test_a_statement_needs_each_stand_in_exactly_once():
    assert Statement.of("SELECT %s, %s", [7, 8], [7]) == Statement("SELECT %s, %s", (7, 8), (0,))
    assert Statement.of("SELECT %s, %s", [7, 7], [7]) is None  # twice: which one?
    assert Statement.of("SELECT %s", [8], [7]) is None  # not there
    two = Statement.of("SELECT %s, %s, %s", [1, "now", "cut"], ["cut", "now"])
    assert two is not None and two.bind("C", "N") == [1, "N", "C"]


@pytest.mark.django_db
def test_a_compiled_statement_answers_as_its_queryset():
    from onestop.accounts.models import User
    from onestop.testing.factories import parent

    for n in range(3):
        parent(f"1380000000{n}")
    stand_in = -987_654_321

    def build(after: int):  # a datetime and a boolean: SQLite converts both
        return (
            User.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "date_joined", "is_active")
        )

    compiler = build(stand_in).query.get_compiler(connection.alias)
    statement = Statement.compiled(compiler, [stand_in])
    assert statement is not None
    first = User.objects.order_by("pk").values_list("pk", flat=True).first() or 0
    for after in (first - 1, first, 10**9):
        assert statement.rows(connection, after) == list(build(after))
    assert len(statement.rows(connection, first - 1)) == 3
    # An empty scope compiles to nothing: no statement, the caller runs the queryset.
    empty = User.objects.none().values_list("pk").query.get_compiler(connection.alias)
    assert Statement.compiled(empty, [stand_in]) is None


@pytest.mark.django_db
def test_compiled_lists_answer_as_their_querysets():
    """`CompiledAll` (model instances, deferred columns, select_related) and
    `CompiledValues` (tuples with SQLite's converters) give what the queryset gives."""
    from onestop.accounts.models import User
    from onestop.common.compiled import CompiledAll, CompiledValues
    from onestop.testing.factories import parent

    made = [parent(f"1390000000{n}") for n in range(3)]
    stand_in = -987_654_322

    def instances(after: int):
        return User.objects.filter(pk__gt=after).only("pk", "username", "date_joined")

    every = CompiledAll(User, lambda after: instances(after).order_by("-pk"), stand_in)
    values = CompiledValues(
        User,
        lambda after: (
            User.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "date_joined", "is_active")
        ),
        stand_in,
    )
    first = min(u.pk for u in made) - 1
    for after in (first, first + 1, 10**9):
        expected = list(instances(after).order_by("-pk"))
        got = every.all(after)
        assert [(u.pk, u.username, u.date_joined) for u in got] == [
            (u.pk, u.username, u.date_joined) for u in expected
        ]
        assert all(
            u.get_deferred_fields() == e.get_deferred_fields()
            for u, e in zip(got, expected, strict=True)
        )
        assert values.rows(after) == list(
            User.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "date_joined", "is_active")
        )
    assert len(every.all(first)) == 3 and not got  # (the last round: nothing after 10**9)
