"""A supplement's new decision is told to the hospital system that submitted the case
(issue 9, part 3: it never was, so the system never heard the outcome)."""

from __future__ import annotations

import pytest

from onestop.cases.models import Case, CaseStatus
from onestop.integration.models import WebhookDelivery
from onestop.integration.tests.support import Api, current, hospital
from onestop.portal.tests.support import MOTHER_PHONE, mother_client, pdf, post

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"


def test_a_supplemented_api_case_gets_its_new_decision_as_a_case_decided_webhook(
    example, media_root
):
    submitter = hospital(webhook_url=HOOK)
    other = hospital("fujian-mch", webhook_url=HOOK)  # subscribed, but not the submitter
    document = current(example("qinbei-supplement-missing-materials"))
    answer = Api(submitter.token).post("/cases", document, key="s1").json()
    assert answer["decision"]["decision"] == "supplement"
    first = WebhookDelivery.objects.get(client=submitter.client, event="case.decided")
    assert first.payload["case"]["decision"] == "supplement"

    # The mother supplements on her pages (HTTP), as the one-time notice asked.
    case = Case.objects.get(number=answer["number"])
    files = {
        f"file_{code}": pdf(f"{code}.pdf")
        for code in ("household_register", "marriage_certificate", "delivery_record_page")
    }
    post(
        mother_client(MOTHER_PHONE),
        f"/my/cases/{case.number}/supplement/",
        {
            **files,
            "ethnicity_confirmation_ethnicity": "08",
            "ethnicity_confirmation_signed_by_mother": "on",
            "ethnicity_confirmation_signed_by_father": "on",
        },
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS, case.decision

    decided = list(
        WebhookDelivery.objects.filter(client=submitter.client, event="case.decided").order_by("pk")
    )
    assert [d.payload["case"]["decision"] for d in decided] == ["supplement", "accept"]
    again = decided[1].payload
    assert again["case_number"] == case.number and again["change"] == "case_decided"
    assert again["case"]["status"] == CaseStatus.IN_PROGRESS
    assert decided[1].status == WebhookDelivery.Status.PENDING  # queued, sent after commit
    # The accepted case's first task went to the hospital too, and nothing to the other one.
    assert WebhookDelivery.objects.filter(
        client=submitter.client, event="task.created", payload__task__item="birth_certificate"
    ).exists()
    assert not WebhookDelivery.objects.filter(client=other.client).exists()
