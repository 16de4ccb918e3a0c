"""Several cases locked in one compiled statement (`cases.services.cases_locked`) and
their items read in one (`workflow.services.cases_items`), as an API batch takes them
(issue 10, session 28): the same cases, in id order, each with what `case_locked` reads
(its audit stream's last record), and each case's items as `_case_items` reads them — one
statement each, whatever the number of cases up to the compiled sizes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from onestop.cases.models import Case
from onestop.cases.services import case_locked, case_submit, cases_locked
from onestop.testing.newborns import another_newborn
from onestop.workflow.services import _case_items, cases_items

pytestmark = pytest.mark.django_db


def _columns(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_several_cases_and_their_items_in_one_statement_each(example, media_root):
    base = example("qinbei-accept")
    ids = [
        case_submit(document=another_newborn(copy.deepcopy(base), n), actor=None).case.pk
        for n in range(1, 6)
    ]
    for chosen in (ids[:1], ids[:3], ids, [*ids, 10**12], []):
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                locked = cases_locked(reversed(chosen))
                items = cases_items(list(chosen))
            existing = [pk for pk in sorted(chosen) if Case.objects.filter(pk=pk).exists()]
            assert len(queries.captured_queries) == (2 if chosen else 0)
            assert list(locked) == existing  # in id order
            for pk in existing:
                one = case_locked(pk)
                assert _columns(locked[pk]) == _columns(one)
                assert locked[pk].document == one.document
                expected = _case_items(pk)
                assert [_columns(r) for r in items[pk]] == [_columns(r) for r in expected]
                assert [r.result for r in items[pk]] == [r.result for r in expected]
            assert set(items) == set(chosen)
            assert all(items[pk] == [] for pk in chosen if pk not in existing)
    assert Case.objects.count() == 5
