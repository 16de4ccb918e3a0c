"""The parents' pages answered from their stamp (ADR 0026 amendment), through HTTP: the
same person, the same page, nothing changed: a 304 to If-None-Match and the kept body
otherwise; anyone else, a signed-out request or any change of what the page shows: not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.common.revalidate import PAGE_CACHE
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_deliver
from onestop.testing.factories import officer, parent
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db
MOTHER, FATHER, STRANGER = "13800000000", "13900000000", "13911112222"


@pytest.fixture
def case(example, beijing, media_root):
    PAGE_CACHE.clear()
    made = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    _send_all()
    return made


def _send_all() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(pk)


def _signed_in(phone: str) -> Client:
    client = Client()
    client.force_login(parent(phone))
    client.get("/my/guidance/")  # a first page: the CSRF cookie, the session written
    return client


def test_an_unchanged_page_is_304_to_its_etag_and_the_same_body_without(case):
    client = _signed_in(MOTHER)
    for url in (f"/my/cases/{case.number}/", "/my/cases/", "/my/messages/"):
        first = client.get(url)
        if url == "/my/messages/":  # the first view marks the messages read: a change
            first = client.get(url)
        assert first.status_code == 200 and first["ETag"], url
        assert "no-store" in first["Cache-Control"]  # issue 8: the browser keeps no copy
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b"", url
        assert again["ETag"] == first["ETag"]
        hits = PAGE_CACHE.hits
        kept = client.get(url)
        assert kept.status_code == 200 and kept.content == first.content, url
        assert PAGE_CACHE.hits == hits + 1


def test_another_parent_never_gets_the_page_nor_a_304(case):
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    shown = mother.get(page)
    assert shown.status_code == 200
    stranger = _signed_in(STRANGER)
    for _ in range(2):
        refused = stranger.get(page, HTTP_IF_NONE_MATCH=shown["ETag"])
        assert refused.status_code == 404 and case.number.encode() not in refused.content
    assert case.number not in stranger.get("/my/cases/").content.decode()
    # An officer (not a parent): refused as before, with or without the ETag.
    staff = Client()
    staff.force_login(officer("police", "police_station", "qinbei-xintang"))
    assert staff.get(page, HTTP_IF_NONE_MATCH=shown["ETag"]).status_code == 404


def test_the_other_parent_of_the_same_case_gets_their_own_page(case):
    mother, father = _signed_in(MOTHER), _signed_in(FATHER)
    page = f"/my/cases/{case.number}/"
    for_mother = mother.get(page)
    for_father = father.get(page, HTTP_IF_NONE_MATCH=for_mother["ETag"])
    assert for_father.status_code == 200 and for_father["ETag"] != for_mother["ETag"]
    mother_name = for_mother.content.decode().split('class="who">')[1].split("<")[0]
    father_name = for_father.content.decode().split('class="who">')[1].split("<")[0]
    assert mother_name != father_name and mother_name not in for_father.content.decode()


def test_a_signed_out_request_is_sent_to_sign_in(case):
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    etag = mother.get(page)["ETag"]
    mother.post("/accounts/logout/")
    for client in (mother, Client()):
        answer = client.get(page, HTTP_IF_NONE_MATCH=etag)
        assert answer.status_code == 302 and "/accounts/parent/" in answer["Location"]


def test_an_item_done_changes_the_page_at_once(case):
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    before = mother.get(page)
    assert mother.get(page).content == before.content  # kept
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(item_id=bmc.pk, actor=None, result={"bmc_number": "Q450123456"})
    after = mother.get(page, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert after.content != before.content
    assert mother.get(page).content == after.content
    listed = mother.get("/my/cases/")
    CaseItem.objects.filter(pk=bmc.pk).update(due_at=None)  # a change behind the services
    assert mother.get("/my/cases/", HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 200


def test_a_new_message_and_reading_it_change_the_pages(case, example, beijing):
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    mother.get("/my/messages/")  # everything read
    before, inbox = mother.get(page), mother.get("/my/messages/")
    assert 'class="badge"' not in before.content.decode().split("</nav>")[0]
    case_submit(
        document=another_newborn(example("qinbei-accept"), 1),
        actor=None,
        now=beijing("2026-11-21T09:30:00+08:00"),
    )
    _send_all()
    badge = mother.get(page, HTTP_IF_NONE_MATCH=before["ETag"])
    assert badge.status_code == 200 and 'class="badge"' in badge.content.decode()
    new = mother.get("/my/messages/", HTTP_IF_NONE_MATCH=inbox["ETag"])
    assert new.status_code == 200 and new.content != inbox.content  # (and marks it read)
    read = mother.get(page, HTTP_IF_NONE_MATCH=badge["ETag"])
    assert read.status_code == 200 and 'class="badge"' not in read.content.decode()


def test_the_language_switch_changes_the_page(case):
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    chinese = mother.get(page)
    assert mother.post("/i18n/setlang/", {"language": "en", "next": page}).status_code == 302
    english = mother.get(page, HTTP_IF_NONE_MATCH=chinese["ETag"])
    assert english.status_code == 200 and english["ETag"] != chinese["ETag"]
    assert '<html lang="en">' in english.content.decode()


def test_an_item_past_its_due_time_shows_the_urge_button_without_a_change_of_rows(
    case, monkeypatch, beijing
):
    # Due at noon (the calendar's times end a day; an edited time need not): the mark
    # turns on within a day, with no row changed.
    noon = beijing("2026-11-23T12:00:00+08:00")
    item = CaseItem.objects.filter(case=case, state="ready", due_at__isnull=False).first()
    assert item is not None
    CaseItem.objects.filter(pk=item.pk).update(due_at=noon)
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    monkeypatch.setattr(timezone, "now", lambda: noon - timedelta(seconds=1))
    before = mother.get(page)
    assert before.status_code == 200 and "已超期" not in before.content.decode()
    monkeypatch.setattr(timezone, "now", lambda: noon + timedelta(seconds=1))
    after = mother.get(page, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and "已超期" in after.content.decode()


def test_a_row_of_any_table_of_the_case_changes_the_page(case):
    """The stamp reads every model with a foreign key to the case (found from the models):
    a timeline entry written behind the services still changes the page."""
    mother = _signed_in(MOTHER)
    page = f"/my/cases/{case.number}/"
    before = mother.get(page)
    TimelineEntry.objects.create(
        case=case, at=timezone.now(), kind="note", message="门诊已确认", visible_to_parent=True
    )
    after = mother.get(page, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and "门诊已确认" in after.content.decode()
