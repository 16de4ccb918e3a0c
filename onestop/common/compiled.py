"""Statements compiled once per process, their varying parameters put in per call (issue 10
part 3).

Building a queryset and compiling it to SQL costs the same CPU on every request although
the statement only differs by a parameter or two: the API client's key id on every API
call (~40 % of a department system's poll once the rest was cut, cProfile), the page
position of the department systems' task list, "now" in the officer's queue stamp.
`Statement` is such a statement: compiled once with *stand-ins* — values no request
passes — where the varying parameters go, the position of each found in the
parameters, and per call only those are replaced. A statement whose stand-ins are not
each found exactly once is not kept (`Statement.of` answers None): its caller runs the
queryset every time instead. Keep statements in a `kept.Kept` keyed by everything the
queryset was built from (the database's alias and vendor first).

`CompiledFirst` is the common case of one model read by one value: it makes the row into
the model instance exactly as Django's model iterable does — the compiler's converters,
``from_db`` with the selected (not deferred) fields, ``select_related`` rows by Django's
related populators, annotations — each instance made without ``Model.__init__`` where
that is the same instance (`onestop.common.loaded`: no init signal's receiver, no field
attribute that sets in its own way; issue 10, session 28).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    OneToOneField,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    QuerySet,
    SmallAutoField,
    SmallIntegerField,
    TextField,
    UUIDField,
    signals,
    sql,
)
from django.db.models.base import ModelState
from django.db.models.constants import OnConflict
from django.db.models.query import RelatedPopulator
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

from onestop.common.kept import Kept
from onestop.common.loaded import Making, populators

M = TypeVar("M", bound=Model)
T = TypeVar("T")

Converters = tuple[tuple[int, tuple[Any, ...], Any], ...]


@dataclass(frozen=True)
class Statement:
    """SQL and its parameters with the stand-ins' positions (module docstring)."""

    sql: str
    params: tuple[Any, ...]
    at: tuple[int, ...]
    converters: Converters = ()

    @classmethod
    def of(
        cls, sql: str, params: Sequence[Any], stand_ins: Sequence[Any], converters: Converters = ()
    ) -> Statement | None:
        """The statement, or None where a stand-in is not found exactly once."""
        at = []
        for stand_in in stand_ins:
            found = [i for i, p in enumerate(params) if p == stand_in]
            if len(found) != 1:
                return None
            at.append(found[0])
        return cls(sql, tuple(params), tuple(at), converters)

    @classmethod
    def compiled(cls, compiler: SQLCompiler, stand_ins: Sequence[Any]) -> Statement | None:
        """A queryset's compiler's statement with the converters Django applies to its
        selected columns (None also where it selects nothing: an empty access scope)."""
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return None
        found = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        converters = tuple((pos, tuple(cs), expr) for pos, (cs, expr) in found.items())
        return cls.of(sql, params, stand_ins, converters)

    def bind(self, *values: Any) -> list[Any]:
        """The parameters with ``values`` where the stand-ins were, in their order."""
        params = list(self.params)
        for at, value in zip(self.at, values, strict=True):
            params[at] = value
        return params

    def convert(self, row: Sequence[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        values = list(row)
        for pos, convs, expr in self.converters:
            for convert in convs:
                values[pos] = convert(values[pos], expr, connection)
        return values

    def rows(self, connection: BaseDatabaseWrapper, *values: Any) -> list[tuple[Any, ...]]:
        """Every row for ``values``, converted as the queryset would have."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.bind(*values))
            found = cursor.fetchall()
        if not self.converters:
            return [tuple(row) for row in found]
        return [tuple(self.convert(row, connection)) for row in found]


@dataclass(frozen=True)
class _FirstOf:
    statement: Statement
    select: Any
    klass_info: Any
    init_list: tuple[str, ...]
    start: int
    end: int
    annotations: tuple[tuple[str, int], ...]
    locks: bool = False  # SELECT … FOR UPDATE: refused outside a transaction, as Django does
    making: Making | None = None  # the instance made as ``from_db`` makes it (`loaded`)
    populators: tuple[RelatedPopulator, ...] = ()  # ``select_related``'s, made so too


class CompiledFirst(Generic[M]):
    """``build(value).first()``, compiled once per database (module docstring); with
    several stand-ins, ``build(*values).first()``."""

    def __init__(
        self, model: type[M], build: Callable[..., QuerySet[M]], stand_in: Any, *more: Any
    ):
        # ``more``: further stand-ins where the statement differs by several values (each
        # call then gives as many values, in their order; ``build`` takes as many).
        self.model, self.build, self.stand_in = model, build, stand_in
        self.stand_ins = (stand_in, *more)
        self._statements: Kept[tuple[str, str], _FirstOf | None] = Kept(size=64)

    def _query(self, *values: Any) -> QuerySet[M]:
        qs = self.build(*values)
        return qs if qs.ordered else qs.order_by("pk")

    def _limited(self, qs: QuerySet[M]) -> QuerySet[M]:
        return qs[:1]

    def _compile(self, alias: str) -> _FirstOf | None:
        compiler = self._limited(self._query(*self.stand_ins)).query.get_compiler(alias)
        statement = Statement.compiled(compiler, self.stand_ins)
        info = compiler.klass_info
        if statement is None or info is None or info["model"] is not self.model:
            return None
        select = compiler.select
        fields = info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = tuple(f[0].target.attname for f in select[start:end])
        return _FirstOf(
            statement=statement,
            select=select,
            klass_info=info,
            init_list=init_list,
            start=start,
            end=end,
            annotations=tuple((compiler.annotation_col_map or {}).items()),
            locks=bool(compiler.query.select_for_update),
            making=Making.of(self.model, init_list),
            populators=tuple(populators(info, select, alias)),
        )

    def first(self, *values: Any) -> M | None:
        found = self.first_with_row(*values)
        return None if found is None else found[1]

    def first_with_row(self, *values: Any) -> tuple[tuple[Any, ...], M] | None:
        """``first(value)`` with the row as the database sent it (before the converters:
        what a caller may hash to tell whether anything of it changed); the row is ``()``
        where the statement did not compile as expected and the queryset ran instead."""
        alias, compiled = self._statement_for()
        if compiled is None:
            found = self._query(*values).using(alias).first()
            return None if found is None else ((), found)
        connection = connections[alias]
        if (
            compiled.locks
            and connection.features.has_select_for_update
            and connection.get_autocommit()
        ):
            # Django's compiler refuses this at each compilation; compiled once, it is
            # refused here (a lock outside a transaction would hold nothing).
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.statement.sql, compiled.statement.bind(*values))
            raw = cursor.fetchone()
        if raw is None:
            return None
        return tuple(raw), self._instance(compiled, raw, alias, connection)

    def _statement_for(self) -> tuple[str, _FirstOf | None]:
        alias = router.db_for_read(self.model)
        key = (alias, connections[alias].vendor)
        return alias, self._statements.get_or_make(key, lambda: self._compile(alias))

    def _instance(
        self, compiled: _FirstOf, raw: Sequence[Any], alias: str, connection: BaseDatabaseWrapper
    ) -> M:
        """A row made into the model instance as Django's model iterable makes it (without
        ``Model.__init__`` where that is the same: `onestop.common.loaded`); ``connection``:
        ``alias``'s, looked up once per statement (not per row: asgiref's `Local`)."""
        row = compiled.statement.convert(raw, connection)
        values = row[compiled.start : compiled.end]
        if compiled.making is None:
            obj = self.model.from_db(alias, list(compiled.init_list), values)
        else:
            obj = compiled.making.make(alias, values)
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, pos in compiled.annotations:
            setattr(obj, name, row[pos])
        made: M = obj
        return made


class CompiledAll(CompiledFirst[M]):
    """``list(build(value))``, compiled once per database: every row, in the queryset's
    order, as model instances (``CompiledFirst``'s making of each)."""

    def _limited(self, qs: QuerySet[M]) -> QuerySet[M]:
        return qs

    def all(self, *values: Any) -> list[M]:
        alias, compiled = self._statement_for()
        if compiled is None:
            return list(self._query(*values).using(alias))
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.statement.sql, compiled.statement.bind(*values))
            raws = cursor.fetchall()
        return [self._instance(compiled, raw, alias, connection) for raw in raws]


def padded(values: Sequence[T]) -> list[T]:
    """``values`` with the last repeated up to a power of two (none: none): the values of a
    statement compiled once per such count, so a few statements serve every count (an API
    batch's ids, cases, kinds)."""
    if not values:
        return []
    size = 1 << (len(values) - 1).bit_length()
    return [*values, *[values[-1]] * (size - len(values))]


class CompiledAllOfIds(Generic[M]):
    """``list(build(*ids))`` for up to ``2 ** most`` ids in one statement: a `CompiledAll`
    per number of ids rounded up to a power of two (the last id repeated), so a few
    statements serve every count — an API batch's cases locked and their items read
    (issue 10, session 28). ``stand_in`` and the ``2 ** most - 1`` values below it are
    the stand-ins (values no request passes)."""

    def __init__(
        self, model: type[M], build: Callable[..., QuerySet[M]], stand_in: int, most: int = 6
    ) -> None:
        self._by_size = {
            1 << n: CompiledAll(model, build, *(stand_in - k for k in range(1 << n)))
            for n in range(most + 1)
        }

    def all(self, ids: Sequence[int]) -> list[M] | None:
        """The rows of ``ids`` (sorted, distinct); None where there are more ids than one
        statement takes (the caller runs its queryset)."""
        if not ids:
            return []
        values = padded(ids)
        compiled = self._by_size.get(len(values))
        if compiled is None:
            return None
        return compiled.all(*values)


class CompiledValues:
    """``list(build(*values))`` of a ``values_list`` queryset (tuples), compiled once per
    database with one stand-in per value; ``model`` routes the read."""

    def __init__(
        self, model: type[Model], build: Callable[..., QuerySet[Any]], *stand_ins: Any
    ) -> None:
        self.model, self.build, self.stand_ins = model, build, stand_ins
        self._statements: Kept[tuple[str, str], Statement | None] = Kept(size=64)

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        alias = router.db_for_read(self.model)
        statement = self._statements.get_or_make(
            (alias, connections[alias].vendor),
            lambda: Statement.compiled(
                self.build(*self.stand_ins).query.get_compiler(alias), self.stand_ins
            ),
        )
        if statement is None:
            return [tuple(row) for row in self.build(*values).using(alias)]
        return statement.rows(connections[alias], *values)


class CompiledPerKey(Generic[M]):
    """``build()(value).first()`` with one `CompiledFirst` per ``key`` — for a read whose
    statement differs by one value once the key (an API client, its account's scope) is
    fixed: the access check and the idempotency record of every task action (issue 10
    part 2). At most ``size`` keys are kept, the least recently used dropped; ``build``
    is called only for a key not kept."""

    def __init__(self, model: type[M], stand_in: Any, size: int = 1000) -> None:
        self.model, self.stand_in = model, stand_in
        self._kept: Kept[Hashable, CompiledFirst[M]] = Kept(size)

    def first(
        self, key: Hashable, build: Callable[[], Callable[[Any], QuerySet[M]]], value: Any
    ) -> M | None:
        compiled = self._kept.get_or_make(
            key, lambda: CompiledFirst(self.model, build(), self.stand_in)
        )
        return compiled.first(value)


class CompiledRowsPerKey:
    """The rows of ``build(*values)`` (a ``values_list`` queryset: tuples) with one
    `Statement` per database and ``key`` — for a read whose queryset differs by the
    values once the key (an API client's scope, its state and page size) is fixed: the
    department systems' task list and a case's items as a client sees them (issue 10,
    session 24). ``build`` must build the same statement for the same key; it is
    compiled once with the stand-ins, and where they are not each found exactly once
    (or the scope selects nothing) the queryset runs every time instead. At most
    ``size`` keys are kept, the least recently used dropped."""

    def __init__(self, *stand_ins: Any, size: int = 1000) -> None:
        self.stand_ins = stand_ins
        self._kept: Kept[Hashable, Statement | None] = Kept(size)

    def rows(
        self, alias: str, key: tuple[Any, ...], build: Callable[..., QuerySet[Any]], *values: Any
    ) -> list[tuple[Any, ...]]:
        connection = connections[alias]
        statement = self._kept.get_or_make(
            (alias, connection.vendor, *key),
            lambda: Statement.compiled(
                build(*self.stand_ins).query.get_compiler(alias), self.stand_ins
            ),
        )
        if statement is None:
            return [tuple(row) for row in build(*values).using(alias)]
        return statement.rows(connection, *values)


# The fields whose value of these exact types Django's ``get_db_prep_save`` returns as it
# is — on every backend: these classes prepare nothing but ``str()``/``bool()`` of other
# values and a lazy text's text — so `CompiledInsert` passes it without the five calls.
_AS_IS: dict[type[Any], tuple[type[Any], ...]] = {
    CharField: (str, type(None)),
    TextField: (str, type(None)),
    BooleanField: (bool, type(None)),
}


_INTEGERS = (
    IntegerField,
    BigIntegerField,
    SmallIntegerField,
    PositiveIntegerField,
    PositiveBigIntegerField,
    PositiveSmallIntegerField,
)
_AUTO = (AutoField, BigAutoField, SmallAutoField)


@dataclass(frozen=True)
class _Prepared:
    """How `CompiledInsert` prepares one column's values on one kind of connection
    without ``get_db_prep_save``'s five to ten calls where a value's exact type makes the
    result known (issue 10, session 31, h-cpu): a value of a type in ``as_is`` goes as it
    is; an ``int`` where ``wrap`` is set goes as ``wrap(value)`` (PostgreSQL's integer
    adapter types, as ``adapt_integerfield_value`` wraps it); an aware ``datetime`` as it
    is where ``aware_as_is``. Anything else: the field's ``get_db_prep_save``."""

    field: Field[Any, Any]
    as_is: tuple[type[Any], ...]
    wrap: Callable[[int], Any] | None = None
    aware_as_is: bool = False


def _prepared(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> _Prepared:
    """Each value type whose prepared value `_Prepared` knows for ``field`` on
    ``connection``'s kind of database — Django's own code read for the exact field class
    (a subclass may prepare in its own way: Django's), the backend's operations checked
    to be the ones read; ``common/tests/test_compiled_prepared.py`` compares the two for
    every concrete field of the product's models on the database the tests run on."""
    ops, kind = connection.ops, type(field)
    base = BaseDatabaseOperations
    if kind in _AS_IS:
        return _Prepared(field, _AS_IS[kind])
    if kind in (ForeignKey, OneToOneField):
        # ``None`` → None; an int → the target's ``get_db_prep_save``: an automatic key's
        # ``int(value)`` then ``validate_autopk_value`` (the base's returns it).
        target: Any = getattr(field, "target_field", None)
        if type(target) in _AUTO and type(ops).validate_autopk_value is base.validate_autopk_value:
            return _Prepared(field, (int, type(None)))
        return _Prepared(field, (type(None),))
    if kind in _INTEGERS:
        # ``int(value)`` then ``adapt_integerfield_value``: the base's returns it; the
        # PostgreSQL backend's wraps it in psycopg's type of the column's size.
        adapt = type(ops).adapt_integerfield_value
        if adapt is base.adapt_integerfield_value:
            return _Prepared(field, (int, type(None)))
        type_map = getattr(ops, "integerfield_type_map", None)
        if connection.vendor == "postgresql" and type_map is not None:
            return _Prepared(field, (type(None),), wrap=type_map[field.get_internal_type()])
        return _Prepared(field, ())
    if kind is DateTimeField:
        # ``to_python`` keeps a datetime; an aware one is not warned about nor made aware;
        # the PostgreSQL backend's ``adapt_datetimefield_value`` returns it.
        return _Prepared(field, (type(None),), aware_as_is=connection.vendor == "postgresql")
    if kind is UUIDField:
        if connection.features.has_native_uuid_field:
            return _Prepared(field, (uuid.UUID, type(None)))
        return _Prepared(field, (type(None),))
    return _Prepared(field, ())


def _prepare(
    columns: tuple[_Prepared, ...], row: Sequence[Any], connection: BaseDatabaseWrapper
) -> list[Any]:
    """``[field.get_db_prep_save(value, connection) …]`` of a row's values (`_Prepared`)."""
    out = []
    for column, v in zip(columns, row, strict=True):
        kind = type(v)
        if kind in column.as_is:
            out.append(v)
        elif kind is int and column.wrap is not None:
            out.append(column.wrap(v))
        elif kind is datetime and column.aware_as_is and v.utcoffset() is not None:
            out.append(v)
        else:
            out.append(column.field.get_db_prep_save(v, connection))
    return out


# Values of these exact types are no expression (`CompiledInsert._values`' check asks the
# others whether they have ``resolve_expression``).
_NOT_EXPRESSIONS = frozenset(
    {str, int, bool, float, type(None), datetime, date, uuid.UUID, Decimal, dict, list}
)


@dataclass(frozen=True)
class _InsertOf:
    sql: str
    unnest: bool  # PostgreSQL's UNNEST of one array per column (Django's bulk form there)


def _saves_its_own_way(model: type[Model]) -> bool:
    """Whether a model's ``save()`` has code of its own or save signals' listeners: its
    rows are then written by ``save()``, as Django would write them, not by a compiled
    INSERT."""
    return (
        model.save is not Model.save
        or signals.pre_save.has_listeners(model)
        or signals.post_save.has_listeners(model)
    )


def _placeholder(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    """A value's placeholder where the statement gives it no type of its own (a SELECT's
    or UNION's column): cast to its column's type on PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"%s::{field.cast_db_type(connection)}"
    return "%s"


def array_placeholder(connection: BaseDatabaseWrapper) -> str:
    """The placeholder of a parameter that is a Python list sent as a PostgreSQL array:
    ``%b`` (psycopg 3's binary format) where the connection binds its parameters on the
    server (Django's ``OPTIONS`` ``server_side_binding``, which the product sets), else
    ``%s``. psycopg writes a list in the text format element by element, quoting and
    escaping each (a regex over every JSON payload, ``ListDumper._dump_list``): 571 of a
    15-row INSERT's 740 µs per execute; in binary 77 of 224 (issue 10, session 27,
    helper h-binary; docs/performance.md). A client-side binding cursor has no binary
    parameters: it puts each value into the SQL as a literal, so there it stays ``%s``.
    A scalar parameter gains nothing measurable in binary and keeps ``%s``."""
    if getattr(connection.features, "uses_server_side_binding", False):
        return "%b"
    return "%s"


@dataclass(frozen=True)
class _NewPlan:
    """How `CompiledInsert.new` fills a new instance: per concrete field its name, its
    attribute's name, its default (``field.get_default``, called per instance as
    ``__init__`` calls it) and whether it is a relation set through its descriptor."""

    fields: tuple[tuple[str, str, Callable[[], Any], bool], ...]
    names: frozenset[str]


def _new_plan(model: type[Model]) -> _NewPlan | None:
    from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
    from django.db.models.query_utils import DeferredAttribute

    from onestop.common.fields import EncryptedTextField

    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return None
    # The attributes that only keep the value in the instance's ``__dict__`` (an encrypted
    # field's decrypts a stored token when read: a value set is kept as it is).
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute, EncryptedTextField.descriptor_class)
    fields = []
    for field in model._meta.concrete_fields:
        found = (k.__dict__[field.attname] for k in model.__mro__ if field.attname in k.__dict__)
        if type(next(found, None)) not in plain:
            return None
        fields.append((field.name, field.attname, field.get_default, field.is_relation))
    names = frozenset(n for name, attname, _, _ in fields for n in (name, attname))
    return _NewPlan(tuple(fields), names)


class CompiledInsert(Generic[M]):
    """New rows of ``model`` written as ``bulk_create(objs)`` writes them — every concrete
    field but the automatic primary key, the keys returned and set on the instances —
    with the statement built once per database (and per number of rows where it differs):
    building Django's INSERT (the compiler's ``as_sql``, quoting, placeholders) was 12–15 %
    of a case's profile (issue 10, helper h-submission). Per call each value is prepared
    as Django's compiler prepares it (``field.pre_save(obj, add=True)``, then
    ``get_db_prep_save``: encryption, JSON, time zones), and on PostgreSQL several rows go
    as Django sends them, one array per column (``UNNEST``) — in psycopg's binary format
    where the connection binds on the server (`array_placeholder`).

    ``save_new(obj)`` is ``obj.save()`` of a new row (a model with its own ``save()`` or
    with save signals' listeners is saved by Django, so they run). Django writes the rows
    itself — the same rows — for an instance with its key set, a value that is an
    expression, a field with its own placeholder, a database that cannot return the keys, or
    a model with other returned columns. Like ``bulk_create``: no signals, and the caller's
    atomic block is marked for rollback on an error (an ``IntegrityError`` is the caller's
    to answer). More rows than one statement may carry are Django's too (it writes them in
    batches)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        opts = model._meta
        self.fields = tuple(
            f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field
        )
        self.pk = opts.pk
        self._prepared: dict[tuple[str, str], tuple[_Prepared, ...]] = {}
        # `_values`: the fields whose ``pre_save`` is not Django's plain read of the
        # attribute (called first, in order), then every field's attribute read at once.
        self._reading = (
            tuple(f for f in self.fields if type(f).pre_save is not Field.pre_save),
            attrgetter(*(f.attname for f in self.fields)) if self.fields else lambda obj: (),
        )
        self.usable = (
            opts.auto_field is not None
            and opts.pk is opts.auto_field
            and list(opts.db_returning_fields) == [opts.pk]
            and not opts.parents
            and not any(hasattr(f, "get_placeholder") for f in self.fields)
        )
        self._statements: Kept[tuple[str, str, int, bool], _InsertOf | None] = Kept(size=64)
        self._conditional: Kept[tuple[str, str, int, str], str | None] = Kept(size=16)
        self._plan: _NewPlan | None = None  # `new`'s, made on first use
        self._planned = False

    def new(self, **values: Any) -> M:
        """``model(**values)``, a new row for this insert to write, built without Django's
        ``Model.__init__`` (issue 10, session 30, h-cpu: 84 function calls and ~40 µs for
        a message's row, where the fields' loop, the keyword checks and the init signals
        are most of it): the same instance — ``_state`` new, each concrete field's
        attribute the value given (by its name or its column's attribute name), else its
        default (called where it is callable, as ``__init__`` calls it), a related
        instance set through its descriptor (its id and its cache, as ``__init__`` sets
        it). Django's own ``__init__`` where the model has ``pre_init``/``post_init``
        listeners, a field's attribute is a descriptor that does more than keep the
        value, or a name is not a concrete field's (it raises as it always did)."""
        plan = self._new_plan()
        if plan is None or not plan.names.issuperset(values):
            return self.model(**values)
        obj = self.model.__new__(self.model)
        obj._state = ModelState()
        data = obj.__dict__
        for name, attname, default, related in plan.fields:
            if name in values:
                if related:
                    setattr(obj, name, values[name])
                else:
                    data[attname] = values[name]
            elif attname in values:
                data[attname] = values[attname]
            else:
                data[attname] = default()
        return obj

    def _new_plan(self) -> _NewPlan | None:
        if not self._planned:
            self._plan, self._planned = _new_plan(self.model), True
        return self._plan

    def _compile(
        self, connection: BaseDatabaseWrapper, rows: int, ignore: bool = False
    ) -> _InsertOf | None:
        features, ops = connection.features, connection.ops
        if not self.usable:
            return None
        if ignore:
            # Django's form of ``bulk_create(ignore_conflicts=True)``: nothing returned
            # (``INSERT … ON CONFLICT DO NOTHING``; SQLite: ``INSERT OR IGNORE``).
            if not features.supports_ignore_conflicts:
                return None
            if rows > 1 and not features.has_bulk_insert:
                return None
            returning = ops.on_conflict_suffix_sql(list(self.fields), OnConflict.IGNORE, (), ())
            insert = ops.insert_statement(on_conflict=OnConflict.IGNORE)
        else:
            if not features.can_return_columns_from_insert:
                return None
            if rows > 1 and not features.can_return_rows_from_bulk_insert:
                return None
            # (not in django-stubs' BaseDatabaseOperations; every backend that returns has it)
            returning, returning_params = ops.return_insert_columns([self.pk])  # type: ignore[attr-defined]
            if returning_params:
                return None
            insert = ops.insert_statement()
        table = ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(ops.quote_name(str(f.column)) for f in self.fields)
        unnest = (
            rows > 1
            and connection.vendor == "postgresql"
            and all(
                (getattr(f, "target_field", f) if f.is_relation else f).get_internal_type()
                in connection.data_types
                for f in self.fields
            )
        )
        if unnest:
            values = f"SELECT * FROM {self._unnest(connection)}"
        else:
            placeholders: list[Any] = [["%s"] * len(self.fields)] * rows
            values = ops.bulk_insert_sql(self.fields, placeholders)
        statement = f"{insert} {table} ({columns}) {values}"
        return _InsertOf(f"{statement} {returning}" if returning else statement, unnest)

    def _unnest(self, connection: BaseDatabaseWrapper) -> str:
        """The rows as PostgreSQL's ``UNNEST`` of one array per column, each cast to its
        column's type."""
        mark = array_placeholder(connection)
        types = ", ".join(
            f"({mark})::" + str(f.db_type(connection)).split("(")[0] + "[]" for f in self.fields
        )
        return f"UNNEST({types})"

    def insert(self, objs: Sequence[M]) -> None:
        """``bulk_create(objs)`` of new instances (the class docstring)."""
        objs = list(objs)
        if not objs:
            return
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        compiled = self._statement(connection, alias, len(objs))
        if connection.ops.bulk_batch_size(list(self.fields), objs) < len(objs):
            compiled = None  # more than one statement may carry (SQLite): Django batches
        values = None if compiled is None else self._values(objs)
        if compiled is None or values is None:
            self.model._default_manager.db_manager(alias).bulk_create(objs)
            return
        params = self._params(connection, compiled, values)
        with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            keys = cursor.fetchall()
        self.keys_set(objs, [key for (key,) in keys], alias)

    def prepared(self, alias: str, objs: Sequence[M]) -> tuple[str, list[Any]] | None:
        """The ``INSERT … RETURNING`` of ``objs`` and its parameters, for a caller that
        sends it inside a statement of its own (a ``WITH``), then sets the keys it gets
        back (`keys_set`); None where Django must write them (the class docstring)."""
        objs = list(objs)
        connection = connections[alias]
        compiled = self._statement(connection, alias, len(objs)) if objs else None
        if compiled is None or connection.ops.bulk_batch_size(list(self.fields), objs) < len(objs):
            return None
        values = self._values(objs)
        if values is None:
            return None
        return compiled.sql, self._params(connection, compiled, values)

    @staticmethod
    def keys_set(objs: Sequence[M], keys: Sequence[Any], alias: str) -> None:
        """The written rows' keys put on their instances, as ``bulk_create`` does."""
        for obj, key in zip(objs, keys, strict=True):
            obj.pk = key
            obj._state.adding = False
            obj._state.db = alias

    def insert_ignoring_conflicts(self, objs: Sequence[M]) -> int:
        """``bulk_create(objs, ignore_conflicts=True)`` of new instances — a row whose
        unique value is taken is skipped (``INSERT … ON CONFLICT DO NOTHING``; SQLite:
        ``INSERT OR IGNORE``), no key is set (the statement returns none) — and how many
        rows were written, which ``bulk_create`` does not say: the statements' row count
        (on PostgreSQL and SQLite, the rows inserted). Where the compiled statement does
        not apply (the class docstring), Django's insert query of ``bulk_create``, in as
        many statements as it batches."""
        objs = list(objs)
        if not objs:
            return 0
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        compiled = self._statement(connection, alias, len(objs), ignore=True)
        if connection.ops.bulk_batch_size(list(self.fields), objs) < len(objs):
            compiled = None  # more than one statement may carry (SQLite): Django batches
        values = None if compiled is None else self._values(objs)
        written = 0
        with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
            if compiled is not None and values is not None:
                cursor.execute(compiled.sql, self._params(connection, compiled, values))
                written = max(cursor.rowcount, 0)
            else:
                written = self._django_ignoring(connection, cursor, objs)
        for obj in objs:
            obj._state.adding = False
            obj._state.db = alias
        return written

    def insert_new(self, objs: Sequence[M], returned: str) -> list[Any] | None:
        """`insert_ignoring_conflicts` in one statement that returns the field
        ``returned`` of each row written (``INSERT … ON CONFLICT DO NOTHING RETURNING``;
        SQLite: ``INSERT OR IGNORE … RETURNING``), so a caller learns which rows were new
        without reading first (issue 10: the embedded SMS gateway read the ids it knew,
        then inserted the others). None, with nothing written, where the statement does
        not apply (the class docstring): the caller writes its own way."""
        objs = list(objs)
        if not objs:
            return []
        field = next(f for f in (*self.fields, self.pk) if f.name == returned)
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        if not connection.features.can_return_columns_from_insert:
            return None
        compiled = self._statement(connection, alias, len(objs), ignore=True)
        if compiled is None or connection.ops.bulk_batch_size(list(self.fields), objs) < len(objs):
            return None
        values = self._values(objs)
        if values is None:
            return None
        returning, returning_params = connection.ops.return_insert_columns([field])  # type: ignore[attr-defined]
        if returning_params or not returning:
            return None
        with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
            cursor.execute(
                f"{compiled.sql} {returning}", self._params(connection, compiled, values)
            )
            written = [field.to_python(value) for (value,) in cursor.fetchall()]
        for obj in objs:
            obj._state.adding = False
            obj._state.db = alias
        return written

    def _django_ignoring(self, connection: BaseDatabaseWrapper, cursor: Any, objs: list[M]) -> int:
        """Django's ``ON CONFLICT DO NOTHING`` insert of ``objs`` in its batches, as
        ``bulk_create`` sends them: the instances with their key set with the key, then
        the others without."""
        written = 0
        every = [f for f in self.model._meta.concrete_fields if not f.generated]
        for fields, some in (
            (every, [o for o in objs if o.pk is not None]),
            (list(self.fields), [o for o in objs if o.pk is None]),
        ):
            size = max(1, connection.ops.bulk_batch_size(fields, some))
            for start in range(0, len(some), size):
                query = sql.InsertQuery(self.model, on_conflict=OnConflict.IGNORE)
                batch: list[Model] = [*some[start : start + size]]
                query.insert_values(fields, batch)
                for statement, params in query.get_compiler(connection=connection).as_sql():
                    cursor.execute(statement, params)
                    written += max(cursor.rowcount, 0)
        return written

    def _params(
        self, connection: BaseDatabaseWrapper, compiled: _InsertOf, values: list[list[Any]]
    ) -> list[Any]:
        """The rows' values prepared as Django's compiler prepares them (a text or a
        flag that ``get_db_prep_save`` would return as it is, as it is: `_AS_IS`), one
        array per column where the statement ``UNNEST``s them."""
        key = (connection.alias, connection.vendor)
        columns = self._prepared.get(key)
        if columns is None:  # made once per database (two threads may both make it)
            columns = self._prepared[key] = tuple(_prepared(f, connection) for f in self.fields)
        prepared = [_prepare(columns, row, connection) for row in values]
        if compiled.unnest:
            return [list(column) for column in zip(*prepared, strict=True)]
        return [value for row in prepared for value in row]

    def save_new(self, obj: M) -> None:
        """``obj.save()`` of a new instance (the class docstring)."""
        if _saves_its_own_way(self.model):
            obj.save(force_insert=True)
            return
        self.insert([obj])

    def insert_where(self, obj: M, condition: str, params: Sequence[Any]) -> bool | None:
        """``obj`` written as `insert` writes it, but only where ``condition`` (SQL with its
        ``params``, judged by the database in the same statement) holds: ``INSERT … SELECT
        values WHERE condition RETURNING`` the key. True: written, the key set; False:
        the condition did not hold, nothing written; None: the statement does not apply
        here (the class docstring, and a model whose ``save`` has its own code or
        listeners, as `save_new` says: the caller writes the row its own way). On
        PostgreSQL each value is cast to its column's type (a ``SELECT``'s parameters have
        none)."""
        return self.insert_selecting(obj, {}, f"WHERE {condition}", params)

    def insert_all_where(
        self, objs: Sequence[M], condition: str, params: Sequence[Any]
    ) -> bool | None:
        """`insert_where` of several rows in one statement: all of ``objs`` written where
        ``condition`` (which names no column of the rows: it holds for all or for none)
        holds, none where it does not — ``INSERT … SELECT * FROM UNNEST(arrays) WHERE
        condition RETURNING`` the keys on PostgreSQL, ``SELECT * FROM (VALUES …) WHERE …``
        elsewhere (issue 10, session 29: a transaction's audit records in one INSERT).
        True: written, the keys set; False: nothing written; None: the statement does
        not apply (`insert_where`; more rows than one statement may carry)."""
        objs = list(objs)
        if len(objs) <= 1:
            return self.insert_where(objs[0], condition, params) if objs else True
        if _saves_its_own_way(self.model):
            return None
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        compiled = self._statement(connection, alias, len(objs))
        if compiled is None or connection.ops.bulk_batch_size(list(self.fields), objs) < len(objs):
            return None
        limit = connection.features.max_query_params
        if not compiled.unnest and limit and len(self.fields) * len(objs) + len(params) > limit:
            return None  # the condition's parameters too (SQLite: 999 in all)
        values = self._values(objs)
        if values is None:
            return None
        rows = 2 if compiled.unnest else len(objs)  # UNNEST: one statement for any number
        key = (alias, connection.vendor, rows, condition)
        sql = self._conditional.get_or_make(
            key, lambda: self._all_where_sql(connection, len(objs), compiled.unnest, condition)
        )
        if sql is None:
            return None
        with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
            cursor.execute(sql, [*self._params(connection, compiled, values), *params])
            keys = cursor.fetchall()
        if not keys:
            return False
        self.keys_set(objs, [key for (key,) in keys], alias)
        return True

    def _all_where_sql(
        self, connection: BaseDatabaseWrapper, rows: int, unnest: bool, condition: str
    ) -> str | None:
        ops = connection.ops
        returning, returning_params = ops.return_insert_columns([self.pk])  # type: ignore[attr-defined]
        if returning_params or not returning:
            return None
        if unnest:
            source = self._unnest(connection)
        else:
            row = "(" + ", ".join(_placeholder(f, connection) for f in self.fields) + ")"
            source = "(VALUES " + ", ".join([row] * rows) + ") AS v"
        table = ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(ops.quote_name(str(f.column)) for f in self.fields)
        return (
            f"{ops.insert_statement()} {table} ({columns}) "
            f"SELECT * FROM {source} WHERE {condition} {returning}"
        )

    def insert_selecting(
        self, obj: M, taken: Mapping[str, str], tail: str, params: Sequence[Any]
    ) -> bool | None:
        """`insert_where`, over ``tail`` (``FROM … WHERE …`` with its ``params``), the
        values of the fields named in ``taken`` (attribute name → SQL expression, e.g. a
        column of the row read: ``b.id``) taken from those expressions: where one holds
        ``%s``, that is the field's own value (cast as `insert_where` casts it). The
        database writes a row only where ``tail`` selects one (at most one: the caller's
        condition); its ``taken`` values, as written, are then set on ``obj`` with the key
        (one statement: a row another table decides, e.g. its batch, issue 10, session
        26)."""
        if _saves_its_own_way(self.model):
            return None
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        compiled = self._statement(connection, alias, 1)
        values = None if compiled is None else self._values([obj])
        if compiled is None or values is None:
            return None
        key = (alias, connection.vendor, -1, repr((sorted(taken.items()), tail)))
        sql = self._conditional.get_or_make(
            key, lambda: self._selecting_sql(connection, taken, tail)
        )
        if sql is None:
            return None
        prepared = self._params(connection, _InsertOf(sql, False), values)
        kept = [
            value
            for f, value in zip(self.fields, prepared, strict=True)
            if f.attname not in taken or "%s" in taken[f.attname]
        ]
        with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
            cursor.execute(sql, [*kept, *params])
            found = cursor.fetchone()
        if found is None:
            return False
        returned = [f for f in self.fields if f.attname in taken]
        for f, value in zip(returned, found[1:], strict=True):
            setattr(obj, f.attname, f.to_python(value))
        self.keys_set([obj], [found[0]], alias)
        return True

    def _selecting_sql(
        self, connection: BaseDatabaseWrapper, taken: Mapping[str, str], tail: str
    ) -> str | None:
        ops = connection.ops
        returned = [f for f in self.fields if f.attname in taken]
        if len(returned) != len(taken):
            return None
        returning, returning_params = ops.return_insert_columns([self.pk, *returned])  # type: ignore[attr-defined]
        if returning_params or not returning:
            return None
        values = ", ".join(
            taken[f.attname].replace("%s", _placeholder(f, connection))
            if f.attname in taken
            else _placeholder(f, connection)
            for f in self.fields
        )
        table = ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(ops.quote_name(str(f.column)) for f in self.fields)
        return f"{ops.insert_statement()} {table} ({columns}) SELECT {values} {tail} {returning}"

    def _statement(
        self, connection: BaseDatabaseWrapper, alias: str, rows: int, ignore: bool = False
    ) -> _InsertOf | None:
        vendor = connection.vendor
        if vendor == "postgresql" and rows > 1:
            # One statement for any number of rows where PostgreSQL sends arrays; where a
            # column's type cannot go as an array, one per number of rows as elsewhere.
            arrays = self._statements.get_or_make(
                (alias, vendor, 2, ignore), lambda: self._compile(connection, 2, ignore)
            )
            if arrays is None or arrays.unnest:
                return arrays
        key = (alias, vendor, rows, ignore)
        return self._statements.get_or_make(key, lambda: self._compile(connection, rows, ignore))

    def _values(self, objs: list[M]) -> list[list[Any]] | None:
        """Each instance's values as Django's insert takes them (None: an instance with
        its key, or an expression among them: Django writes them)."""
        rows = []
        own, read = self._reading
        for obj in objs:
            if obj.pk is not None:
                return None
            if obj._state.__dict__.get("fields_cache"):
                # A related instance is cached: Django's checks of it (with nothing cached
                # they check nothing).
                obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
            for f in own:
                f.pre_save(obj, True)  # e.g. ``auto_now_add``: sets the attribute it returns
            row = [read(obj)] if len(self.fields) == 1 else list(read(obj))
            for v in row:
                if type(v) not in _NOT_EXPRESSIONS and hasattr(v, "resolve_expression"):
                    return None
            rows.append(row)
        return rows


class CompiledUpdate(Generic[M]):
    """Rows of ``model`` written in some columns (``fields``), not whole, by statements
    made once per database, columns and number of rows (issue 10 part 2: CPU; a column
    another writer changed meanwhile is kept). ``save(update_fields=…)`` compiled an
    UPDATE per call, and ``bulk_update`` a ``CASE WHEN`` per column and row.

    One row: the UPDATE ``save(update_fields=…)`` sends — ``SET a = %s, … WHERE pk = %s``
    — with its check that the row was there (``DatabaseError`` as Django says it).
    Several: ``UPDATE … SET a = v.a, … FROM (SELECT %s AS pk, %s AS a, … UNION ALL SELECT
    …) AS v WHERE pk = v.pk`` (PostgreSQL; SQLite from 3.33), on PostgreSQL each value
    cast to its column's type as ``bulk_update``'s ``CASE`` is (a column of NULLs is text
    otherwise); elsewhere ``bulk_update``. Each value is prepared by its field
    (``get_db_prep_save``) as Django prepares it. Every row must be there (``DatabaseError``
    otherwise, of one row as of several). A model with its own ``save()`` or save signals'
    listeners is saved by ``save(update_fields=…)``, row by row, so they run."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._statements: Kept[
            tuple[str, str, tuple[str, ...], int], tuple[str, list[Field[Any, Any]]]
        ] = Kept(size=64)
        self._prepared: dict[tuple[str, str, tuple[str, ...]], tuple[_Prepared, ...]] = {}

    def update(self, rows: Sequence[M], fields: Sequence[str]) -> None:
        """Write ``rows``' ``fields`` (the class docstring); no rows or no fields: no
        statement (as ``save(update_fields=[])``)."""
        if not rows or not fields:
            return
        if _saves_its_own_way(self.model):
            # A model with its own ``save()`` or save signals' listeners: saved by Django, so
            # they run (as `CompiledInsert.save_new`; review of session 28).
            for row in rows:
                row.save(update_fields=list(fields))
            return
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        if len(rows) > 1 and not self.update_from(connection):
            self.model._default_manager.db_manager(alias).bulk_update(rows, list(fields))
            return
        names = tuple(fields)
        sql, columns = self._statements.get_or_make(
            (alias, connection.vendor, names, len(rows)),
            lambda: self._sql(connection, names, len(rows)),
        )
        key = (alias, connection.vendor, names)
        prepared = self._prepared.get(key)
        if prepared is None:  # made once per database and columns
            prepared = self._prepared[key] = tuple(_prepared(f, connection) for f in columns)
        read = attrgetter(*(f.attname for f in columns))
        params: list[Any] = []
        one = len(rows) == 1
        for row in rows:
            values = _prepare(prepared, [read(row)] if len(columns) == 1 else read(row), connection)
            params.extend([*values, row.pk] if one else [row.pk, *values])
        with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
            cursor.execute(sql, params)
            # Every row must have been there: as ``save(update_fields=…)`` says it of one
            # row, and of several (a row missing would otherwise be a write lost without a
            # word; review of session 28).
            if cursor.rowcount != len({row.pk for row in rows}):
                raise DatabaseError("Save with update_fields did not affect any rows.")

    @staticmethod
    def update_from(connection: BaseDatabaseWrapper) -> bool:
        """Whether the database takes ``UPDATE … FROM`` (PostgreSQL; SQLite from 3.33)."""
        if connection.vendor == "postgresql":
            return True
        return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33)

    def _sql(
        self, connection: BaseDatabaseWrapper, fields: tuple[str, ...], count: int
    ) -> tuple[str, list[Field[Any, Any]]]:
        """The UPDATE of ``fields`` of ``count`` rows and the fields in their parameters'
        order (the class docstring)."""
        opts = self.model._meta
        columns: list[Field[Any, Any]] = [
            cast(Field[Any, Any], opts.get_field(name)) for name in fields
        ]
        quote = connection.ops.quote_name

        def name(field: Field[Any, Any]) -> str:
            return quote(str(field.column))

        pk_field: Field[Any, Any] = opts.pk
        table, pk = quote(opts.db_table), name(pk_field)
        if count == 1:
            sets = ", ".join(f"{name(f)} = %s" for f in columns)
            return f"UPDATE {table} SET {sets} WHERE {table}.{pk} = %s", columns

        def value(field: Field[Any, Any]) -> str:
            return _placeholder(field, connection)

        first = ", ".join(
            [f"{value(pk_field)} AS {pk}"] + [f"{value(f)} AS {name(f)}" for f in columns]
        )
        rest = ", ".join([value(pk_field)] + [value(f) for f in columns])
        rows = " UNION ALL ".join([f"SELECT {first}"] + [f"SELECT {rest}"] * (count - 1))
        sets = ", ".join(f"{name(f)} = v.{name(f)}" for f in columns)
        return (
            f"UPDATE {table} SET {sets} FROM ({rows}) AS v WHERE {table}.{pk} = v.{pk}",
            columns,
        )
