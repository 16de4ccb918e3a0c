"""Instances made without ``Model.__init__`` (`onestop.common.loaded`, issue 10, session 28)
are the instances Django makes: the compiled reads of whole cases worked through the API,
each instance also made Django's way (``from_db`` and ``RelatedPopulator``, the code
before) and compared; every model of the product read whole, deferred and with its
relations (``select_related``), then refreshed and saved; and the models Django must make
itself (an init receiver, a setting descriptor, an ``__init__`` of their own)."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.apps import apps
from django.db import connection, connections, models, transaction
from django.db.models import signals
from django.db.models.query import get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.common.compiled import CompiledAll, CompiledFirst
from onestop.common.loaded import Making

# The models the product's compiled reads make (git grep CompiledFirst/CompiledAll/
# CompiledPerKey): each must have rows once `_worked` has run, and is compared below.
READ_COMPILED = {
    "User",
    "UserSession",
    "AuditRecord",
    "Case",
    "ELicence",
    "PreviewConfirmation",
    "Material",
    "CaseItem",
    "ApiClient",
    "IdempotentResponse",
    "CardProduction",
    "Person",
}
# Read compiled too, but the worked cases (Qinbei and Fuzhou without the payment item)
# write none: only judged (made directly; the code is the same for every model).
NO_ROWS_HERE = {"PaymentNotice"}


def _django_instance(compiled: Any, model: type[models.Model], raw: Any, alias: str) -> Any:
    """The row made as `CompiledFirst._instance` made it before: ``from_db``, Django's
    related populators, the annotations."""
    row = compiled.statement.convert(raw, connections[alias])
    obj = model.from_db(alias, list(compiled.init_list), row[compiled.start : compiled.end])
    for populator in get_related_populators(compiled.klass_info, compiled.select, alias):  # type: ignore[call-arg]
        populator.populate(row, obj)
    for name, pos in compiled.annotations:
        setattr(obj, name, row[pos])
    return obj


def assert_same(made: Any, django: Any, seen: set[tuple[int, int]] | None = None) -> None:
    """The same class, the same ``__dict__`` (names in the same order, values of the same
    type and equal), the same ``_state`` (its ``__dict__``'s names, ``adding``, ``db``)
    and the same related instances cached (compared so, once each)."""
    seen = set() if seen is None else seen
    if (id(made), id(django)) in seen:
        return
    seen.add((id(made), id(django)))
    assert type(made) is type(django)
    if django is None:
        return
    assert list(made.__dict__) == list(django.__dict__)
    for name, value in django.__dict__.items():
        if name != "_state":
            assert type(made.__dict__[name]) is type(value), name
            assert made.__dict__[name] == value, name
    mine, theirs = made._state.__dict__, django._state.__dict__
    assert list(mine) == list(theirs)
    assert (made._state.adding, made._state.db) == (django._state.adding, django._state.db)
    cached, expected = mine.get("fields_cache", {}), theirs.get("fields_cache", {})
    assert list(cached) == list(expected)
    for name, value in expected.items():
        assert_same(cached[name], value, seen)
    assert made.get_deferred_fields() == django.get_deferred_fields()


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every instance a compiled read makes also made Django's way and compared; the
    instances made, per model."""
    made: Counter[str] = Counter()
    original = CompiledFirst._instance

    def both(self: Any, compiled: Any, raw: Any, alias: str, connection: Any) -> Any:
        obj = original(self, compiled, raw, alias, connection)
        assert compiled.making is not None and compiled.making.direct, self.model
        assert_same(obj, _django_instance(compiled, self.model, raw, alias))
        made[self.model.__name__] += 1
        return obj

    monkeypatch.setattr(CompiledFirst, "_instance", both)
    yield made


def _worked(media_root: Path) -> None:
    """Cases worked to the end through the API (one by one and in batches, a held birth
    certificate in Fuzhou) and a signed-in page: the product's compiled reads."""
    from onestop.accounts.models import User
    from onestop.ops.profile_case import drive_case, drive_cases_in_batches
    from onestop.testing.drive import region_clients

    run = uuid.uuid4().hex[:6]
    region_clients("qinbei")
    region_clients("fuzhou")
    client = Client()
    drive_case("qinbei", 0, run, None, client=client)
    drive_case("fuzhou", 1, run, None, client=client)
    drive_cases_in_batches("qinbei", range(2, 4), run, None, client)
    mother = User.objects.exclude(username="").order_by("pk").first()
    assert mother is not None
    web = Client()
    web.force_login(mother)
    web.get("/")


@pytest.mark.django_db
def test_the_compiled_reads_of_worked_cases_make_what_django_makes(
    media_root: Path, checked: Counter[str]
) -> None:
    _worked(media_root)
    assert {"Case", "CaseItem", "ApiClient", "ELicence", "UserSession"} <= set(checked)


def _variants(model: type[models.Model]) -> dict[str, Any]:
    """The model's rows read whole, with all but the key and one field deferred, and with
    every relation of its own selected (``select_related``)."""
    manager = model._default_manager
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    related = [f for f in concrete if f.is_relation and f.many_to_one]
    relations = [f.name for f in related]
    their_keys = [f"{f.name}__{cast(Any, f).target_field.name}" for f in related]
    kept = [model._meta.pk.name, *[f.name for f in concrete[-1:]]]
    return {
        "whole": manager.all(),
        "deferred": manager.only(*kept),
        "related": manager.select_related(*relations),
        "related, deferred": manager.select_related(*relations).only(
            *kept, *relations, *their_keys
        ),
    }


def _stand_in(model: type[models.Model]) -> Any:
    pk = model._meta.pk
    if isinstance(pk, models.CharField):
        return "onestop-stand-in-loaded"
    if isinstance(pk, models.PositiveSmallIntegerField | models.SmallIntegerField):
        return 32_001  # (a value out of the column's range compiles to no parameter)
    return -7_340_029_171


@pytest.mark.django_db
def test_every_model_read_compiled_is_made_as_django_makes_it(media_root: Path) -> None:
    """Every model of the product with rows (the cases' and a signed-in page's): its
    instances as Django makes them, whole, deferred and with its relations; reading each
    field (the encrypted ones decrypted), a deferred field, ``refresh_from_db`` and
    ``save(update_fields=…)``/``save()`` afterwards the same as on Django's."""
    _worked(media_root)
    compared = set()
    for model in apps.get_app_configs():
        if not model.name.startswith("onestop"):
            continue
        for cls in model.get_models():
            if not cls._default_manager.exists():
                continue
            for label, qs in _variants(cls).items():
                stand_in = _stand_in(cls)
                every = CompiledAll(cls, lambda v, qs=qs: qs.exclude(pk=v).order_by("pk"), stand_in)
                alias, compiled = every._statement_for()
                assert compiled is not None, (cls, label)
                assert compiled.making is not None and compiled.making.direct, cls
                made = every.all(stand_in)
                expected = list(qs.order_by("pk"))
                assert [m.pk for m in made] == [e.pk for e in expected]
                with connection.cursor() as cursor:
                    cursor.execute(compiled.statement.sql, compiled.statement.params)
                    raws = cursor.fetchall()
                for obj, raw in zip(made, raws, strict=True):
                    assert_same(obj, _django_instance(compiled, cls, raw, alias))
                _after_load(
                    cls, made[:3], [_django_instance(compiled, cls, r, alias) for r in raws[:3]]
                )
                compared.add(cls.__name__)
    assert compared >= READ_COMPILED, READ_COMPILED - compared
    for cls in apps.get_models():
        if cls.__name__ in NO_ROWS_HERE:
            names = [f.attname for f in cls._meta.concrete_fields]
            assert Making.of(cls, names).direct and Making.of(cls, names[:2]).direct


def _values(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _unstamped(sql: str) -> str:
    """A statement without what differs between two saves of the same values: a Fernet
    token (a new one each time) and a time written "now" (``auto_now``)."""
    sql = re.sub(r"'gAAAAA[^']*'", "'<token>'", sql)
    return re.sub(r"'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[^']*'", "'<time>'", sql)


def _after_load(cls: type[models.Model], made: list[Any], django: list[Any]) -> None:
    for mine, theirs in zip(made, django, strict=True):
        deferred = sorted(theirs.get_deferred_fields())
        if deferred:  # one deferred field read: its own SELECT, the same on both
            assert getattr(mine, deferred[0]) == getattr(theirs, deferred[0])
            assert_same(mine, theirs)
        assert _values(mine) == _values(theirs)  # every field, read (and decrypted)
        assert_same(mine, theirs)
        mine.refresh_from_db()
        theirs.refresh_from_db()
        assert_same(mine, theirs)
        field = next((f for f in cls._meta.concrete_fields if not f.primary_key), None)
        for kwargs in ({"update_fields": [field.name]} if field else None, {}):
            if kwargs is None:
                continue
            sent: list[Any] = []
            for obj in (mine, theirs):
                with CaptureQueriesContext(connection) as queries:
                    try:
                        with transaction.atomic():
                            obj.save(**kwargs)
                    except Exception as refused:  # e.g. an append-only table's trigger
                        sent.append(type(refused))
                        continue
                sent.append(
                    [
                        _unstamped(q["sql"])
                        for q in queries.captured_queries
                        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO"))
                    ]
                )
            assert sent[0] == sent[1], (cls, kwargs)
            assert_same(mine, theirs)


@pytest.mark.django_db
def test_a_model_with_an_init_receiver_is_made_by_django(media_root: Path) -> None:
    """A ``pre_init`` or ``post_init`` receiver (connected after the statement was compiled
    and used) is called for each instance, as Django calls it; disconnected, the instances
    are made directly again."""
    from onestop.accounts.models import User
    from onestop.testing.factories import parent

    for n in range(3):
        parent(f"1390000001{n}")
    stand_in = -7_340_029_173
    every = CompiledAll(User, lambda v: User.objects.exclude(pk=v).order_by("pk"), stand_in)
    first = CompiledFirst(User, lambda v: User.objects.exclude(pk=v), stand_in)
    assert len(every.all(stand_in)) >= 3
    for signal in (signals.pre_init, signals.post_init):
        called: list[Any] = []

        def receiver(sender: Any, called: list[Any] = called, **kwargs: Any) -> None:
            called.append(kwargs.get("instance", kwargs.get("args")))

        signal.connect(receiver, sender=User, weak=False)
        try:
            users = every.all(stand_in)
            one = first.first(stand_in)
        finally:
            signal.disconnect(receiver, sender=User)
        assert len(called) == len(users) + 1
        if signal is signals.post_init:
            assert called == [*users, one]
        else:
            assert [tuple(args) for args in called] == [
                tuple(getattr(u, f.attname) for f in User._meta.concrete_fields)
                for u in [*users, one]
            ]
        again: list[Any] = []

        def elsewhere(sender: Any, again: list[Any] = again, **kwargs: Any) -> None:
            again.append(sender)

        signal.connect(elsewhere, sender=models.Model, weak=False)
        try:
            made = every.all(stand_in)  # a receiver for another sender: not this model's
        finally:
            signal.disconnect(elsewhere, sender=models.Model)
        assert again == [] and made


@pytest.mark.django_db
def test_a_model_that_makes_its_own_way_is_made_by_django(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A field's attribute that sets in its own way, a model's own ``__init__`` or
    ``from_db``: made by ``from_db``, the attribute's ``__set__`` called."""
    from onestop.accounts.models import User
    from onestop.testing.factories import parent

    parent("13900000020")
    names = [f.attname for f in User._meta.concrete_fields]
    assert Making.of(User, names).direct
    assert Making.of(User, names[:3]).direct
    set_names: list[str] = []

    class Noting(DeferredAttribute):
        def __set__(self, instance: Any, value: Any) -> None:
            set_names.append(self.field.attname)
            instance.__dict__[self.field.attname] = value

    monkeypatch.setattr(User, "username", Noting(User._meta.get_field("username")))
    assert not Making.of(User, names).direct
    assert Making.of(User, [n for n in names if n != "username"]).direct
    stand_in = -7_340_029_174
    users = CompiledAll(User, lambda v: User.objects.exclude(pk=v), stand_in).all(stand_in)
    assert set_names == ["username"] * len(users) and users
    monkeypatch.undo()

    def own_init(self: Any, *args: Any, **kwargs: Any) -> None:
        models.Model.__init__(self, *args, **kwargs)

    monkeypatch.setattr(User, "__init__", own_init)
    assert not Making.of(User, names).direct
    monkeypatch.undo()
    monkeypatch.setattr(User, "from_db", classmethod(lambda cls, db, f, v: None))
    assert not Making.of(User, names).direct
