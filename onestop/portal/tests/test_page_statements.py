"""The parents' case list and case progress page cost a fixed number of SQL statements
however far the case has gone (issue 10, the 1,000-user benchmark: docs/performance.md).
Counts, not times: a regression guard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onestop.cases.services import case_submit
from onestop.common.revalidate import PAGE_CACHE
from onestop.portal import views as portal_views
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


# --- the cards the stamp found no rows for ask nothing (issue 10 part 4) ---------------------

# A finished case (two steps done, their e-licences issued) with no rating, correction,
# payment notice or card production: session and user, the stamp, the case, its items,
# its timeline, its e-licences, the calendar's published years. The rating card's two
# reads (rated steps, replied follow-ups), the corrections card's and the card
# production's are not asked: the stamp read no row of theirs.
FINISHED_CASE_PAGE = 7


def _finished(example: Any, beijing: Any) -> Any:
    from onestop.ops.demo import shift_dates
    from onestop.testing.factories import finished_by_officers

    document = example("qinbei-accept")
    document["items"] = ["birth_certificate", "birth_registration"]
    now = beijing("2026-11-20T09:30:00+08:00")
    shift_dates(document, now)
    return finished_by_officers(document, now)


def _page(client: Client, url: str) -> tuple[str, int]:
    """The page rendered now (no kept body), CSRF values blanked; its statements."""
    PAGE_CACHE.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1-", response.content.decode())
    return html, len(queries)


def _without_the_stamps_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """The view as before: every card reads its rows."""
    monkeypatch.setattr(portal_views, "case_page_read_none", lambda request: frozenset())


def test_a_finished_cases_page_asks_nothing_of_the_cards_without_rows(
    example, beijing, media_root, monkeypatch
):
    case = _finished(example, beijing)
    client = Client()
    client.force_login(parent(example("qinbei-accept")["mother"]["phone"]))
    client.get("/my/guidance/")  # the session's first write is not the page's cost
    url = f"/my/cases/{case.number}/"
    html, statements = _page(client, url)
    assert statements == FINISHED_CASE_PAGE
    assert 'id="rating"' in html and 'id="elicences"' in html
    with monkeypatch.context() as patched:
        _without_the_stamps_word(patched)
        html_before, statements_before = _page(client, url)
    assert html == html_before  # the same page, byte for byte
    assert statements_before == FINISHED_CASE_PAGE + 3


def test_the_cards_with_rows_show_them_as_before(example, beijing, media_root, monkeypatch):
    """A bad rating, its follow-up replied to: the rating card reads both (the follow-up
    is no table of the stamp's: it is a rating's, so a rating read means it is asked)."""
    from onestop.ratings.models import FollowUp
    from onestop.ratings.services import Given, case_rate, follow_up_reply
    from onestop.testing.factories import officer

    case = _finished(example, beijing)
    mother = parent(example("qinbei-accept")["mother"]["phone"])
    at = beijing("2026-11-27T10:00:00+08:00")
    case_rate(case=case, actor=mother, given=[Given("birth_registration", 1)], now=at)
    item = CaseItem.objects.get(case=case, item="birth_registration")
    follow_up_reply(
        follow_up_id=FollowUp.objects.get(case=case).pk,
        actor=officer(item.department, item.jurisdiction_kind, item.jurisdiction_code),
        text="已约谈窗口人员并整改",
        now=beijing("2026-11-30T10:00:00+08:00"),
    )
    client = Client()
    client.force_login(mother)
    client.get("/my/guidance/")
    url = f"/my/cases/{case.number}/"
    html, statements = _page(client, url)
    with monkeypatch.context() as patched:
        _without_the_stamps_word(patched)
        html_before, statements_before = _page(client, url)
    assert html == html_before
    assert 'id="rating"' in html and 'class="state ready"' in html  # the reply waits
    # Only the corrections card's read is left out: rated steps and follow-ups are read.
    assert statements == statements_before - 1 == FINISHED_CASE_PAGE + 2


def test_the_items_results_are_opened_only_where_read(example, beijing, media_root, monkeypatch):
    """Each done item's result is encrypted; of the case page's cards only the maternity
    card reads one (its paid amount: `workflow/tests/test_maternity.py`); the others stay
    sealed."""
    from onestop.common.fields import EncryptedJSONField

    case = _finished(example, beijing)
    client = Client()
    client.force_login(parent(example("qinbei-accept")["mother"]["phone"]))
    client.get("/my/guidance/")
    opened: list[str] = []
    read = EncryptedJSONField.from_db_value

    def counted(self: Any, value: Any, *args: Any) -> Any:
        opened.append(f"{self.model.__name__}.{self.name}")
        return read(self, value, *args)

    monkeypatch.setattr(EncryptedJSONField, "from_db_value", counted)
    html, _ = _page(client, f"/my/cases/{case.number}/")
    assert 'id="elicences"' in html  # two items done, their licences shown
    assert "CaseItem.result" not in opened
