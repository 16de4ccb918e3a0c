"""The API's task detail passes on only e-licences whose seal verifies, as the workbench
shows a result only under a verified seal (issue 9, part 4; DESIGN.md: "its result becomes
an e-licence (signed) that later items use instead of paper")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from onestop.certificates.models import ELicence
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer

pytestmark = pytest.mark.django_db


def test_a_tampered_licence_is_not_passed_on_as_sealed(example, media_root, client):
    submitter = Api(hospital().token)
    number = submitter.post("/cases", current(example("qinbei-accept")), key="k").json()["number"]
    task = submitter.get("/tasks").json()["tasks"][0]
    done = submitter.post(f"/tasks/{task['id']}/complete", {"result": RESULTS["birth_certificate"]})
    assert done.status_code == 200
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    [registration] = police.get("/tasks").json()["tasks"]
    path = f"/tasks/{registration['id']}"

    [prior] = police.get(path).json()["prior_elicences"]
    assert prior["serial"] == f"{number}-01" and prior["kind"] == "birth_certificate"
    assert prior["result"] == RESULTS["birth_certificate"]

    # Someone with database access changes the certificate number on the licence row.
    licence = ELicence.objects.get(serial=prior["serial"])
    payload = dict(licence.payload)
    payload["result"] = dict(payload["result"], bmc_number="Q450999999")
    ELicence.objects.filter(pk=licence.pk).update(payload=payload)

    detail = police.get(path)
    assert detail.status_code == 200
    assert detail.json()["prior_elicences"] == []
    assert "Q450999999" not in detail.content.decode()
    # The workbench shows the same licence as failing its seal, without its result.
    client.force_login(officer("police", "police_station", "qinbei-xintang", "警官"))
    page = client.get(reverse("departments:task", args=[registration["id"]]))
    assert page.status_code == 200
    text = page.content.decode()
    assert prior["serial"] in text and "Q450999999" not in text
    assert "电子印章校验未通过" in text
