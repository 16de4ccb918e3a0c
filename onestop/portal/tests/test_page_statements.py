"""The parents' case list and case progress page cost a fixed number of SQL statements
however far the case has gone (issue 10, the 1,000-user benchmark: docs/performance.md).
Counts, not times: a regression guard."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.cases.services import case_submit
from onestop.testing.factories import parent
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

# Session and user (one joined SELECT: onestop.accounts.sessions), the case (its outcome
# set from its items), its items, its timeline; the calendar's published years (the
# overall promise's latest date); once an item is done, its e-licences and the case's
# corrections (ADR 0042: a correction is of an issued licence) — none before; the
# medical-insurance payment notice only when the case has a payment item, the social
# security card once dispatched (ADR 0037); first the page's stamp (ADR 0026 amendment:
# the raw rows the page is built from, in one statement), which also counts the unread
# messages for the header.
CASE_PAGE_STATEMENTS = 9
# The same page while no item is done: no e-licence or correction can exist yet.
CASE_PAGE_NOTHING_DONE = CASE_PAGE_STATEMENTS - 2
# Session and user, the stamp (with the unread count), the cases (with their outcomes).
CASE_LIST_STATEMENTS = 3
# Read again with nothing changed: session and user, the stamp; the body kept in the process.
UNCHANGED_STATEMENTS = 2


def _statements(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_case_page_and_list_statements_do_not_grow_as_the_case_goes_on(
    example, beijing, media_root
):
    document = example("qinbei-accept")
    now = beijing("2026-11-20T09:30:00+08:00")
    case = case_submit(document=document, actor=None, now=now).case
    client = Client()
    client.force_login(parent(document["mother"]["phone"]))
    client.get("/my/guidance/")  # the session's first write is not the page's cost
    page = f"/my/cases/{case.number}/"
    fresh = _statements(client, page)
    fresh_list = _statements(client, "/my/cases/")
    assert _statements(client, page) == _statements(client, "/my/cases/") == UNCHANGED_STATEMENTS

    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(item_id=bmc.pk, actor=None, result={"bmc_number": "Q450123456"}, now=now)
    later = _statements(client, page)
    later_list = _statements(client, "/my/cases/")

    assert fresh <= CASE_PAGE_NOTHING_DONE
    assert later <= CASE_PAGE_STATEMENTS
    assert fresh_list == later_list <= CASE_LIST_STATEMENTS
