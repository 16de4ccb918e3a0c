"""The parents' messages page costs a fixed number of SQL statements however many
messages there are, and a page already read costs no UPDATE (issue 10, the 1,000-user
benchmark: docs/performance.md). Counts, not times: a regression guard."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.cases.services import case_submit
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_deliver
from onestop.testing.factories import parent
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

# Session and user (one joined SELECT: onestop.accounts.sessions), the page's rows, the
# UPDATE marking the shown unread messages read; first the page's stamp (ADR 0026
# amendment: the user's row and their messages, one statement), which also counts them and
# the unread ones — the paginator's count and the header's badge (less those just marked).
INBOX_STATEMENTS = 4
# Read again with nothing changed: session and user, the stamp; the body kept in the process.
UNCHANGED_STATEMENTS = 2


def _send_all() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(pk)


def _statements(client: Client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/my/messages/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_inbox_statements_do_not_grow_with_the_messages(example, beijing, media_root):
    now = beijing("2026-11-20T09:30:00+08:00")
    document = example("qinbei-accept")
    case_submit(document=document, actor=None, now=now)
    _send_all()
    client = Client()
    client.force_login(parent(document["mother"]["phone"]))
    client.get("/my/cases/")  # the session's first write is not the page's cost
    few, _ = _statements(client)
    read_again, shown = _statements(client)
    unchanged, kept = _statements(client)
    for n in range(22):  # more cases of the same mother: more messages than one page
        case_submit(document=another_newborn(example("qinbei-accept"), n + 1), actor=None, now=now)
    _send_all()
    assert Notification.objects.filter(channel="in_app").count() > 20
    many, body = _statements(client)

    assert few == many <= INBOX_STATEMENTS
    assert read_again == few - 1  # nothing new to mark read: no UPDATE
    assert unchanged == UNCHANGED_STATEMENTS and kept == shown
    assert body.count('class="card message') == 20
