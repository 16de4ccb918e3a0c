"""The parents' list (`/my/cases/`) read by a statement compiled once (issue 10 part 3):
the same cases, in the same order, as the same deferred instances with their outcome as
``parent_cases(user).only(*LIST_SHOWN)`` gives."""

from __future__ import annotations

from copy import copy
from typing import Any

import pytest
from django.db import connections, router

from onestop.accounts.models import Role
from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import case_submit
from onestop.portal.selectors import _PARENT_LIST, LIST_SHOWN, parent_case_list, parent_cases
from onestop.testing.factories import parent
from onestop.workflow.models import CaseItem, ItemState

pytestmark = pytest.mark.django_db


def _seen(cases: list[Case]) -> list[tuple[Any, ...]]:
    return [
        (
            c.pk,
            c.number,
            c.status,
            c.submitted_at,
            c.outcome,  # type: ignore[attr-defined]
            c.get_status_display(),
            frozenset(c.get_deferred_fields()),
            c._state.db,
            c._state.adding,
        )
        for c in cases
    ]


def test_the_compiled_list_answers_as_the_queryset(example, beijing, media_root):
    numbers = []
    for name, at in (
        ("qinbei-accept", "2026-11-20T09:30:00+08:00"),
        ("yuanling-accept-trustee", "2026-11-20T10:30:00+08:00"),
        ("fuzhou-accept", "2026-11-20T11:30:00+08:00"),
        ("lanzhou-accept", "2026-11-21T09:30:00+08:00"),
        ("jilin-accept-counter", "2026-11-22T09:30:00+08:00"),
    ):
        numbers.append(case_submit(document=example(name), actor=None, now=beijing(at)).case.number)
    mother = parent("13800000000")
    # The parent's phone in each of the three columns the scope reads (test data).
    index = mother.phone_index
    Case.objects.filter(number=numbers[2]).update(applicant_phone_index=index)
    Case.objects.filter(number=numbers[3]).update(mother_phone_index=index)
    Case.objects.filter(number=numbers[4]).update(father_phone_index=index)
    # Three outcomes of completed cases: all done, partly refused, refused.
    done, partly, refused = (Case.objects.get(number=n) for n in numbers[-3:][::-1])
    for case, states in (
        (done, [ItemState.DONE]),
        (partly, [ItemState.DONE, ItemState.REFUSED]),
        (refused, [ItemState.REFUSED]),
    ):
        items = list(CaseItem.objects.filter(case=case).order_by("position"))
        assert len(items) >= 2
        for n, item in enumerate(items):
            item.state = states[min(n, len(states) - 1)]
        CaseItem.objects.bulk_update(items, ["state"])
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.COMPLETED)

    stranger = parent("13900000009")
    inactive, officer, superuser = copy(mother), copy(mother), copy(mother)  # (not saved)
    inactive.is_active = False
    officer.role = Role.OFFICER
    superuser.is_superuser = True  # `cases_visible_to`: every case
    for user in (mother, stranger, inactive, officer, superuser):
        expected = list(parent_cases(user).only(*LIST_SHOWN))
        got = parent_case_list(user)
        assert _seen(got) == _seen(expected)
    # The parent's list was read by the compiled statement (not the queryset's fallback).
    alias = router.db_for_read(Case)
    assert _PARENT_LIST._statements.get((alias, connections[alias].vendor)) is not None
    seen = _seen(parent_case_list(mother))
    assert {row[4] for row in seen} >= {"done", "partly_refused", "refused"}
    assert len(seen) >= 4


def test_the_compiled_case_read_answers_as_the_queryset(example, beijing, media_root):
    from onestop.portal.selectors import _PARENT_CASE, parent_case

    numbers = [
        case_submit(document=example(name), actor=None, now=beijing(at)).case.number
        for name, at in (
            ("qinbei-accept", "2026-11-20T09:30:00+08:00"),
            ("fuzhou-accept", "2026-11-20T11:30:00+08:00"),
        )
    ]
    mother = parent("13800000000")
    stranger = parent("13900000009")
    Case.objects.filter(number=numbers[1]).update(father_phone_index=mother.phone_index)
    inactive, officer, superuser = copy(mother), copy(mother), copy(mother)  # (not saved)
    inactive.is_active = False
    officer.role = Role.OFFICER
    superuser.is_superuser = True
    for defer in ((), ("document",)):
        for user in (mother, stranger, inactive, officer, superuser):
            for number in (*numbers, "QINBEI-20261120-99999"):
                expected = (
                    parent_cases(user, outcome=False).defer(*defer).filter(number=number).first()
                )
                got = parent_case(user, number, defer)
                if expected is None:
                    assert got is None
                    continue
                assert got is not None
                assert got.get_deferred_fields() == expected.get_deferred_fields()
                assert (got._state.db, got._state.adding) == (
                    expected._state.db,
                    expected._state.adding,
                )
                shown = [
                    f.attname
                    for f in Case._meta.concrete_fields
                    if f.attname not in expected.get_deferred_fields()
                ]
                assert [getattr(got, a) for a in shown] == [getattr(expected, a) for a in shown]
                assert got.document == expected.document  # loaded on access alike
        alias = router.db_for_read(Case)
        kept = _PARENT_CASE.get(defer)
        assert kept is not None
        read = kept[1]
        assert read._statements.get((alias, connections[alias].vendor)) is not None
