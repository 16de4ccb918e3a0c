"""Item rows are written in the columns a change sets by statements made once
(`workflow.services._write`, session 22): one row as ``save(update_fields=…)`` writes it,
several in one ``UPDATE … FROM``; the other columns are left as they are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from onestop.cases.services import case_submit
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import CLAIMED_FIELDS, READIED_FIELDS, _write

pytestmark = pytest.mark.django_db


def _rows(example, beijing) -> list[CaseItem]:
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    return list(CaseItem.objects.filter(case=case).order_by("position"))


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_rows_get_the_columns_and_nothing_else(example, beijing, media_root, count):
    rows = _rows(example, beijing)
    untouched = {r.pk: (r.urgency, r.item, r.after) for r in rows}
    at = beijing("2026-11-21T08:00:00+08:00")
    chosen = rows[:count]
    for n, row in enumerate(chosen):
        row.state = ItemState.READY
        row.received_at = at + timedelta(minutes=n)
        row.due_at = None if n == 1 else at + timedelta(days=n + 1)
        row.due_provisional = n == 2
        row.version += 7
        row.urgency = "overdue"  # not among the columns written: must stay
    with CaptureQueriesContext(connection) as queries:
        _write(chosen, READIED_FIELDS)
    assert len(queries) == 1
    for row in chosen:
        again = CaseItem.objects.get(pk=row.pk)
        assert (again.state, again.received_at, again.due_at, again.due_provisional) == (
            row.state,
            row.received_at,
            row.due_at,
            row.due_provisional,
        )
        assert again.version == row.version
        assert (again.urgency, again.item, again.after) == untouched[row.pk]
    others = [r for r in rows if r not in chosen]
    for row in others:
        assert CaseItem.objects.get(pk=row.pk).version == row.version


def test_a_foreign_key_column_and_a_missing_row(example, beijing, media_root):
    from onestop.testing.factories import officer

    rows = _rows(example, beijing)
    row = rows[0]
    who = officer(row.department, row.jurisdiction_kind, row.jurisdiction_code)
    row.state, row.claimed_by, row.claimed_at = (
        ItemState.IN_PROGRESS,
        who,
        beijing("2026-11-20T10:00:00+08:00"),
    )
    _write([row], CLAIMED_FIELDS)
    assert CaseItem.objects.get(pk=row.pk).claimed_by_id == who.pk
    CaseItem.objects.filter(pk=row.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        _write([row], CLAIMED_FIELDS)  # as save(update_fields=…) says it
    _write([], CLAIMED_FIELDS)  # nothing to write: no statement
