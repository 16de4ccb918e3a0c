"""The officer's queue page costs the same number of SQL statements however long the queue
is (issue 10: the queue read and decrypted 200 whole case documents per request). Counts,
not times: a regression guard for the 1,000-user benchmark (docs/performance.md)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.cases.services import case_submit
from onestop.departments.selectors import QUEUE_PAGE_SIZE
from onestop.testing.costs import count_decryptions
from onestop.testing.factories import officer
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

# Session, user and whether they enrolled a second factor (one statement), the calendar's
# published years, the stamp (the queue's count, the header's unread count of staff
# messages, the corrections waiting and corrected results unread, and the page's rows
# with their urge counts: all read by the stamp, the page takes them from it): fixed,
# whatever the number of open items (8 before issue 10 part 3's officer pages; 5 before
# session 22 wrote the rows from the stamp's (5 → 4 measured)).
QUEUE_STATEMENTS = 4


def _submit(example, beijing, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        document = another_newborn(example("qinbei-accept"), n + 1)
        case_submit(document=document, actor=None, now=beijing("2026-11-20T09:30:00+08:00"))


def _statements(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_queue_statements_do_not_grow_with_the_queue(example, beijing, media_root):
    client = Client()
    client.force_login(officer("hospital", "hospital", "qinbei-mch"))
    client.get("/work/")  # the session's first write is not the page's cost
    _submit(example, beijing, 2)
    few, _ = _statements(client, "/work/")
    _submit(example, beijing, QUEUE_PAGE_SIZE + 3, start=2)
    many, body = _statements(client, "/work/")
    assert few == many <= QUEUE_STATEMENTS
    assert body.count('href="/work/tasks/') == QUEUE_PAGE_SIZE  # one page of the queue
    second, body = _statements(client, "/work/?page=2")
    assert second == many and body.count('href="/work/tasks/') == 5


def test_queue_decrypts_nothing(example, beijing, media_root, monkeypatch):
    """The list shows number, item, state, claimer and due time: no encrypted column (the
    case document, decision, signature, the item's result) is read for it."""
    _submit(example, beijing, 3)
    client = Client()
    client.force_login(officer("hospital", "hospital", "qinbei-mch"))
    client.get("/work/")
    decrypted = count_decryptions(monkeypatch)
    _, body = _statements(client, "/work/")
    assert body.count('href="/work/tasks/') == 3
    assert decrypted == []


def test_task_page_checks_reference_data_and_twins_once(example, beijing, media_root):
    """Issue 10, part 3 (docs/performance.md "1,000 users"): the officer's task page ran
    the reference data's freshness check as five aggregate queries and asked twice whether
    the case is a multiple birth; now one statement each. The access to the case's
    personal data is still recorded (ADR 0019), once per view."""
    from onestop.audit.models import AccessRecord
    from onestop.workflow.models import CaseItem

    _submit(example, beijing, 1)
    client = Client()
    user = officer("hospital", "hospital", "qinbei-mch")
    client.force_login(user)
    client.get("/work/")
    row = CaseItem.objects.filter(department="hospital").order_by("position").first()
    assert row is not None
    client.get(f"/work/tasks/{row.pk}/")  # warm: the reference data built once
    before = AccessRecord.objects.filter(actor=user, granted=True).count()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/work/tasks/{row.pk}/")
    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("reference_" in s for s in sql) == 1, sql
    assert sum('"newborn" >' in s for s in sql) == 1, sql
    assert AccessRecord.objects.filter(actor=user, granted=True).count() == before + 1


# Session, user and whether they enrolled a second factor (one statement); the item with
# its urge count, "twins?", whether it has correction notices, its card production, the
# case's preview confirmation and the header's unread staff messages (one statement); the
# access record; the reference data's freshness; the duplicates' two (claims, the
# mother's cases' births); the materials; the calendar; the corrections card's links'
# items (17 before issue 10 part 3's officer pages).
TASK_STATEMENTS = 9


def test_task_page_statement_budget(example, beijing, media_root):
    from onestop.workflow.models import CaseItem

    _submit(example, beijing, 1)
    client = Client()
    client.force_login(officer("hospital", "hospital", "qinbei-mch"))
    client.get("/work/")
    row = CaseItem.objects.filter(department="hospital").order_by("position").first()
    assert row is not None
    client.get(f"/work/tasks/{row.pk}/")  # warm: the reference data built once
    count, body = _statements(client, f"/work/tasks/{row.pk}/")
    assert count <= TASK_STATEMENTS
    assert row.case.number in body


def test_task_page_read_compiled_once_follows_the_officers_scope(example, beijing, media_root):
    """The task page's item statement is compiled once per officer and scope (session 22):
    the officer's jurisdiction changed, the same item is refused at once (404, the refusal
    recorded), and another officer of another scope never gets it."""
    from onestop.accounts.models import User
    from onestop.audit.models import AccessRecord
    from onestop.workflow.models import CaseItem

    _submit(example, beijing, 1)
    user = officer("hospital", "hospital", "qinbei-mch")
    item = CaseItem.objects.filter(department="hospital").first()
    assert item is not None
    client = Client()
    client.force_login(user)
    assert client.get(f"/work/tasks/{item.pk}/").status_code == 200
    assert client.get(f"/work/tasks/{item.pk}/").status_code == 200
    other = Client()
    other.force_login(officer("hospital", "hospital", "another-hospital"))
    assert other.get(f"/work/tasks/{item.pk}/").status_code == 404
    User.objects.filter(pk=user.pk).update(jurisdiction_code="another-hospital")
    refused = AccessRecord.objects.filter(granted=False).count()
    assert client.get(f"/work/tasks/{item.pk}/").status_code == 404
    assert AccessRecord.objects.filter(granted=False).count() == refused + 1


def test_a_pages_rows_are_read_by_their_keys_not_by_the_desks_scope_again(
    example, beijing, media_root
):
    """Issue 10 part 4: the stamp's rows are the page's keys (a slice of the queue's keys,
    which carry the access scope and the open states), read by key. The scope repeated
    outside the keys' subquery let PostgreSQL walk every open item of the desk to match
    them to the page (87 rows for 50 at 20,000 cases, 417 at 100,000): the statement names
    the desk's columns once, in the keys' subquery; its rows are the page's items."""
    from onestop.departments.selectors import officer_queue, officer_queue_keys, queue_page_rows

    _submit(example, beijing, QUEUE_PAGE_SIZE + 3)
    user = officer("hospital", "hospital", "qinbei-mch")
    for order in ("due", "new"):
        keys = officer_queue_keys(user, order=order)
        page = keys[QUEUE_PAGE_SIZE : 2 * QUEUE_PAGE_SIZE]
        sql = str(queue_page_rows(page, order=order).query)
        assert sql.count('"jurisdiction_code"') == 1, sql
        rows = [item.pk for item in queue_page_rows(page, order=order)]
        every = list(officer_queue(user, order=order).values_list("pk", flat=True))
        assert rows == every[QUEUE_PAGE_SIZE:] and len(rows) == 3
