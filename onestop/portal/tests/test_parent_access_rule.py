"""A parent's whole access rule (`accounts.permissions.parent_scope`, the one definition
`cases_visible_to`, the parents' compiled reads and their pages' stamps use), through
HTTP: who the rule lets see a case — the applicant (here a trustee, the grandmother), the
mother, the father — and who it does not: a stranger, a parent whose phone changed away
from the case's, a parent with no phone, an inactive parent. Each is checked on the case
page, the notice, the list, and again with the case's ETag (a stamp must not let one in)."""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.accounts.models import User
from onestop.audit.models import AccessRecord
from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.common.fields import index_of
from onestop.common.revalidate import PAGE_CACHE
from onestop.testing.factories import parent

pytestmark = pytest.mark.django_db
TRUSTEE, MOTHER, FATHER = "13600003333", "13600004444", "13600005555"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/my/guidance/")  # a first page: the CSRF cookie, the session written
    return client


def _sees(client: Client, case: Case, etag: str = "") -> bool:
    page = client.get(f"/my/cases/{case.number}/", HTTP_IF_NONE_MATCH=etag)
    notice = client.get(f"/my/cases/{case.number}/notice.pdf")
    listing = client.get("/my/cases/")
    if page.status_code == 200:
        assert notice.status_code == 200 and case.number in listing.content.decode()
        return True
    assert page.status_code == 404 and case.number.encode() not in page.content
    assert notice.status_code == 404
    assert listing.status_code == 200 and case.number not in listing.content.decode()
    return False


def test_the_applicant_and_both_parents_see_the_case_and_no_one_else(example, beijing, media_root):
    PAGE_CACHE.clear()
    case = case_submit(
        document=example("yuanling-accept-trustee"),
        actor=None,
        now=beijing("2026-11-16T10:20:00+08:00"),
    ).case
    trustee, mother, father = parent(TRUSTEE), parent(MOTHER), parent(FATHER)
    for user in (trustee, mother, father):
        assert _sees(_client(user), case), user.phone
    etag = _client(mother).get(f"/my/cases/{case.number}/")["ETag"]

    stranger = parent("13911113333")
    no_phone = User.objects.create_user(username="parent-no-phone", role="parent")
    assert not _sees(_client(stranger), case)
    assert not _sees(_client(stranger), case, etag)
    assert not _sees(_client(no_phone), case)
    assert not _sees(_client(no_phone), case, etag)

    # The father's phone changes to another number: the case no longer is his.
    father.phone = "13600006666"
    father.phone_index = index_of(father.phone, purpose="phone")
    father.save()
    assert not _sees(_client(father), case)
    assert not _sees(_client(father), case, etag)
    # ... and the one who now has his old number sees it.
    assert _sees(_client(parent(FATHER)), case)

    # An account without its stored index is matched by its phone's (`parent_phone_index`).
    User.objects.filter(pk=mother.pk).update(phone_index=None)
    assert _sees(_client(User.objects.get(pk=mother.pk)), case)

    # An inactive parent is signed out: sent to sign in, shown nothing.
    inactive = parent("13600007777")
    Case.objects.filter(pk=case.pk).update(father_phone_index=inactive.phone_index)
    client = _client(inactive)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    answer = client.get(f"/my/cases/{case.number}/", HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 302 and "/accounts/parent/" in answer["Location"]

    # Parents refused are only refused; no read of a case was recorded as granted.
    assert not AccessRecord.objects.filter(granted=True).exists()
