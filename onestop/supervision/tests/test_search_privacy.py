"""The supervisor's search by ID number keeps the number out of every URL (issue 8,
defect 11: "The supervisor's ID-number search writes the full ID to the access log (use
POST or a scrubbed access log)"). What gunicorn logs is the request line and Referer: the
URLs checked here; the scrubbing of the log itself is tested in onestop/common/tests."""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.cases.services import case_submit
from onestop.testing.factories import staff
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db
MOTHER_ID = "450703199203150220"


@pytest.fixture
def case(example, beijing, media_root):
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def test_search_by_id_number_works_and_no_url_carries_the_number(case):
    client = Client()
    client.force_login(staff("supervisor", kind="division", code="450703"))
    response = client.post("/supervise/", {"q": MOTHER_ID})
    # One request (issue 10, part 4): the POST is answered with the results, no redirect;
    # the number travelled in the POST body only, and the answer is not stored by browsers.
    assert response.status_code == 200
    assert response.request["QUERY_STRING"] == ""
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert case.number in page  # the search found the mother's case
    assert MOTHER_ID not in page  # not even echoed into the form: shown masked
    assert "450703********0220" in page
    assert MOTHER_ID not in repr(client.session.load())  # nor kept in the session
    urls: list[str] = []
    # An old-style link with ?q= is turned into a token at once, whose page works again
    # (reload, back button) in the same session only.
    old = client.get("/supervise/", {"q": MOTHER_ID})
    assert old.status_code == 302 and MOTHER_ID not in old["Location"]
    assert "?s=" in old["Location"]
    urls.append(old["Location"])
    again = client.get(old["Location"])
    assert case.number in again.content.decode() and MOTHER_ID not in again.content.decode()
    stranger = Client()
    stranger.force_login(staff("supervisor", kind="division", code="450703"))
    assert stranger.get(old["Location"]).status_code == 302  # unknown token: back to the form
    # The query is kept encrypted in the session, not in plaintext.
    session = client.session.load()
    assert MOTHER_ID not in repr(session)
    leaks = sum(MOTHER_ID in url for url in urls)
    reliability_record("personal data", "supervisor ID searches: URLs produced", len(urls))
    reliability_record("personal data", "of those carrying the ID number", leaks)
