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
    response = client.post("/supervise/", {"q": MOTHER_ID}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert case.number in page  # the search found the mother's case
    urls = [url for url, _status in response.redirect_chain]
    assert urls and all(MOTHER_ID not in url for url in urls)
    assert response.request["QUERY_STRING"].startswith("s=")
    assert MOTHER_ID not in response.request["QUERY_STRING"]
    assert MOTHER_ID not in page  # not even echoed into the form: shown masked
    assert "450703********0220" in page
    # The token's page works again (reload, back button) in the same session only.
    again = client.get(urls[-1])
    assert case.number in again.content.decode()
    stranger = Client()
    stranger.force_login(staff("supervisor", kind="division", code="450703"))
    assert stranger.get(urls[-1]).status_code == 302  # expired/unknown token: back to the form
    # The query is kept encrypted in the session, not in plaintext.
    session = client.session.load()
    assert MOTHER_ID not in repr(session)
    # An old-style link with ?q= is turned into a token at once.
    old = client.get("/supervise/", {"q": MOTHER_ID})
    assert old.status_code == 302 and MOTHER_ID not in old["Location"]
    leaks = sum(MOTHER_ID in url for url in [*urls, old["Location"]])
    reliability_record("personal data", "supervisor ID searches: URLs produced", len(urls) + 1)
    reliability_record("personal data", "of those carrying the ID number", leaks)
