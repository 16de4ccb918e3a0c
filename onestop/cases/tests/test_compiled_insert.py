"""`common.compiled.CompiledInsert` writes the rows `bulk_create` writes (issue 10, helper
h-submission): the same values read back (encrypted, JSON, times), the keys returned and
set, and Django's own insert where the compiled one does not apply."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from onestop.cases.models import Case, Newborn, NewbornClaim, Person
from onestop.cases.services import case_submit
from onestop.common.compiled import CompiledInsert
from onestop.core.clock import parse_time

pytestmark = pytest.mark.django_db

QINBEI_AT = parse_time("2026-11-20T10:00:00+08:00")


@pytest.fixture
def case(example, media_root) -> Case:
    return case_submit(document=example("qinbei-accept"), actor=None, now=QINBEI_AT).case


def bare_case(number: str) -> Case:
    return Case.objects.create(
        number=number,
        region="qinbei",
        pack_version="1",
        status="in_progress",
        decision={},
        document={},
        submitted_at=QINBEI_AT,
        decided_at=QINBEI_AT,
    )


def people(case: Case, n: int, tag: str) -> list[Person]:
    """``n`` trustees, each of a case of its own (a case has one person per role)."""
    return [
        Person(
            case=bare_case(f"{tag}-{i}"),
            role="trustee",
            name=f"{tag}受托人{i}",
            id_number=f"62010219900101{i:04d}",
            id_index=f"{tag}-index-{i}",
            phone=None if i % 2 else "13800000000",
            residency="",
            hukou_division="620102",
        )
        for i in range(n)
    ]


# Every column the rows are compared by: all but the keys (the row's, and its case, one of
# its own per row).
FIELDS = tuple(f.attname for f in Person._meta.concrete_fields if f.name not in ("id", "case"))


def read(tag: str) -> list[tuple[object, ...]]:
    rows = Person.objects.filter(id_index__startswith=f"{tag}-").order_by("pk")
    return [tuple(getattr(p, f) for f in FIELDS) for p in rows]


@pytest.mark.parametrize("n", [1, 3])
def test_the_rows_are_bulk_creates_and_the_keys_are_set(case, n):
    Person.objects.bulk_create(people(case, n, "django"))
    written = people(case, n, "compiled")
    compiled = CompiledInsert(Person)
    assert compiled._statement(connection, "default", n) is not None  # not Django's insert
    compiled.insert(written)
    assert read("compiled") == [
        tuple(v.replace("django", "compiled") if isinstance(v, str) else v for v in row)
        for row in read("django")
    ]
    stored = list(Person.objects.filter(id_index__startswith="compiled-").order_by("pk"))
    assert [(p.pk, p.case_id) for p in written] == [(p.pk, p.case_id) for p in stored]
    assert all(not p._state.adding and p._state.db == "default" for p in written)


@pytest.mark.parametrize("n", [1, 3])
def test_rows_written_where_a_condition_holds_are_all_or_none(case, n):
    """`insert_all_where` (issue 10, session 29): the rows `insert` writes, in one
    statement, where the condition holds; none where it does not."""
    Person.objects.bulk_create(people(case, n, "django"))
    compiled = CompiledInsert(Person)
    refused = people(case, n, "refused")
    with CaptureQueriesContext(connection) as queries:
        assert compiled.insert_all_where(refused, "1 = %s", [0]) is False
    assert len(queries) == 1 and read("refused") == []
    assert all(p.pk is None for p in refused)
    written = people(case, n, "where")
    with CaptureQueriesContext(connection) as queries:
        assert compiled.insert_all_where(written, "1 = %s", [1]) is True
    assert len(queries) == 1
    assert read("where") == [
        tuple(v.replace("django", "where") if isinstance(v, str) else v for v in row)
        for row in read("django")
    ]
    stored = list(Person.objects.filter(id_index__startswith="where-").order_by("pk"))
    assert [p.pk for p in written] == [p.pk for p in stored]


def test_json_and_times_as_django_writes_them(case):
    baby = Newborn(
        case=case,
        position=5,
        name="宝宝",
        sex="F",
        born_at="2026-11-19T08:00:00+08:00",
        hospital_code="h",
        medical={"weight_g": 3200, "blood_type": None},
    )
    CompiledInsert(Newborn).insert([baby])
    again = Newborn.objects.get(pk=baby.pk)
    assert (again.medical, again.born_at, again.name) == (baby.medical, baby.born_at, "宝宝")
    claims = [
        NewbornClaim(case=case, position=0, kind="record", key_index=f"k{i}", claimed_at=QINBEI_AT)
        for i in range(2)
    ]
    CompiledInsert(NewbornClaim).insert(claims)
    read_back = NewbornClaim.objects.filter(key_index__in=["k0", "k1"]).order_by("pk")
    assert [(c.pk, c.active, c.claimed_at, c.released_at) for c in read_back] == [
        (c.pk, True, QINBEI_AT, None) for c in claims
    ]


def test_django_writes_an_instance_with_its_key_or_an_expression(case):
    keyed = people(case, 1, "keyed")[0]
    keyed.pk = 987_654
    CompiledInsert(Person).insert([keyed])
    assert Person.objects.filter(pk=987_654, id_index="keyed-index-0").exists()
    expressed = people(case, 1, "expr")[0]
    expressed.residency = Value("local")
    CompiledInsert(Person).insert([expressed])
    assert Person.objects.get(id_index="expr-index-0").residency == "local"


def test_save_new_lets_save_listeners_hear_it(case):
    heard: list[bool] = []

    def listener(sender, instance, created, **kwargs):
        heard.append(created)

    post_save.connect(listener, sender=Person)
    try:
        CompiledInsert(Person).save_new(people(case, 1, "heard")[0])
    finally:
        post_save.disconnect(listener, sender=Person)
    assert heard == [True]
    quiet = people(case, 1, "quiet")[0]
    CompiledInsert(Person).save_new(quiet)
    assert quiet.pk == Person.objects.get(id_index="quiet-index-0").pk


def test_a_refused_row_is_the_callers_error_and_rolls_its_block_back(case):
    held = NewbornClaim.objects.filter(case=case, active=True).first()
    assert held is not None
    again = NewbornClaim(
        case=case, position=0, kind=held.kind, key_index=held.key_index, claimed_at=QINBEI_AT
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CompiledInsert(NewbornClaim).insert([again])
    assert again.pk is None
    assert NewbornClaim.objects.filter(key_index=held.key_index).count() == 1


def test_a_models_own_save_runs_as_djangos_would(case, monkeypatch):
    """`save_new` of a model with its own ``save()`` calls it (a guard there is kept)."""
    saved: list[Person] = []
    plain = Person.save

    def own_save(self: Person, *args: object, **kwargs: object) -> None:
        saved.append(self)
        plain(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Person, "save", own_save)
    [person] = people(case, 1, "own")
    CompiledInsert(Person).save_new(person)
    assert saved == [person] and person.pk is not None
    assert read("own") and read("own")[0][FIELDS.index("id_index")] == "own-index-0"


def test_rows_whose_columns_cannot_go_as_arrays_get_a_statement_per_number_of_rows(
    case, monkeypatch
):
    """On PostgreSQL several rows go as one array per column; where a column's type cannot,
    the statement lists each row, so 2 and 3 rows are two statements, not one reused."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    compiled = CompiledInsert(Person)
    monkeypatch.setattr(
        connection,
        "data_types",
        {k: v for k, v in connection.data_types.items() if k != "CharField"},
    )
    two = compiled._statement(connection, "default", 2)
    three = compiled._statement(connection, "default", 3)
    assert two is not None and three is not None and not two.unnest and not three.unnest
    assert two.sql != three.sql
    compiled.insert(people(case, 3, "rows"))
    assert len(read("rows")) == 3


def test_rows_of_several_models_are_written_together_as_each_alone(case, example):
    # Session 28 (h-submit): the submission's people, newborns and declared materials go
    # in one statement on PostgreSQL (a WITH of their INSERTs; SQLite: one each) — the
    # rows each INSERT writes alone, in order, each instance given its own row's key.
    from onestop.cases.models import Material
    from onestop.cases.services import _MATERIAL_INSERT, _NEWBORN_INSERT, _PERSON_INSERT
    from onestop.common.inserts import insert_together

    Person.objects.bulk_create(people(case, 3, "django"))
    written = people(case, 3, "together")
    babies = [
        Newborn(case=w.case, position=0, name=f"宝宝{i}", sex="F", medical={"weight_g": i})
        for i, w in enumerate(written)
    ]
    materials = [
        Material(
            case=case,
            code=f"code-{i}",
            source=Material.Source.DECLARED,
            token=f"t{i}",
            uploaded_at=QINBEI_AT,
        )
        for i in range(2)
    ]
    with CaptureQueriesContext(connection) as statements:
        insert_together(
            (_PERSON_INSERT, written), (_NEWBORN_INSERT, babies), (_MATERIAL_INSERT, materials)
        )
    assert len(statements) == (1 if connection.vendor == "postgresql" else 3)
    assert read("together") == [
        tuple(v.replace("django", "together") if isinstance(v, str) else v for v in row)
        for row in read("django")
    ]
    for objs in (written, babies, materials):
        assert all(o.pk is not None and not o._state.adding for o in objs)
    assert [(p.pk, p.name) for p in written] == list(
        Person.objects.filter(pk__in=[p.pk for p in written])
        .order_by("pk")
        .values_list("pk", "name")
    )
    for baby in babies:
        stored = Newborn.objects.get(pk=baby.pk)
        assert (stored.case_id, stored.name, stored.medical) == (
            baby.case_id,
            baby.name,
            baby.medical,
        )
    assert [(m.pk, m.code) for m in materials] == list(
        Material.objects.filter(pk__in=[m.pk for m in materials])
        .order_by("pk")
        .values_list("pk", "code")
    )
