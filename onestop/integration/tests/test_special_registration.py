"""Lanzhou's special registrations (issue 11, promise 9; seed 000 (二) 2–3; ADR 0034): a
student couple with one collective student hukou registers at the spouse's family hukou; a
serviceman parent → the civilian parent's hukou. Accepted, and the birth registration is
routed to the police station of that hukou, with a note the officer reads — through the
command line (`onestop check`), the API and the workbench."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from onestop.cases.models import Case
from onestop.cli import main
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem


def student_couple(document: dict[str, Any]) -> dict[str, Any]:
    """The mother's hukou is a student collective hukou; the father's family hukou is in
    七里河区 (620103), whose police station is lanzhou-qilihe-ps."""
    document["birth_registration"]["hukou_type"] = "student_collective"
    return document


def serviceman_mother(document: dict[str, Any]) -> dict[str, Any]:
    document["mother"]["active_serviceman"] = True
    return document


CASES = {"student_collective": student_couple, "serviceman_parent": serviceman_mother}


@pytest.mark.parametrize("because", sorted(CASES))
def test_onestop_check_accepts_and_routes(because, example, tmp_path: Path, capsys) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASES[because](example("lanzhou-accept"))), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["decision"] == "accept" and printed["reasons"] == []
    route = printed["registration_route"]
    assert route["because"] == because and route["follows"] == "father"
    assert route["police_station"] == "lanzhou-qilihe-ps" and route["division"] == "620103"
    assert route["note"] in printed["notes"]


@pytest.mark.django_db
@pytest.mark.parametrize("because", sorted(CASES))
def test_the_api_routes_the_registration_to_the_spouses_station(
    because, example, media_root, client
) -> None:
    submitter = Api(hospital("lanzhou-mch", may_submit_cases=True, webhook_url="").token)
    response = submitter.post("/cases", CASES[because](current(example("lanzhou-accept"))), key="k")
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert case.status == "in_progress"
    assert case.police_station_code == "lanzhou-qilihe-ps"
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert (registration.jurisdiction_kind, registration.jurisdiction_code) == (
        "police_station",
        "lanzhou-qilihe-ps",
    )
    # the parents' own words stay as written; the route is the decision's
    assert case.document["birth_registration"]["follows"] == "mother"

    bmc = next(
        t for t in submitter.get("/tasks").json()["tasks"] if t["item"] == "birth_certificate"
    )
    done = submitter.post(f"/tasks/{bmc['id']}/complete", {"result": RESULTS["birth_certificate"]})
    assert done.status_code == 200, done.json()

    # The mother's station (城关) does not get it; the father's (七里河) does, and reads why.
    assert (
        Api(issue("police", "police_station", "lanzhou-ps").token).get("/tasks").json()["tasks"]
        == []
    )
    police = Api(issue("police", "police_station", "lanzhou-qilihe-ps").token)
    [task] = police.get("/tasks").json()["tasks"]
    detail = police.get(f"/tasks/{task['id']}").json()
    [note] = detail["notes"]
    assert "特殊情形落户" in note and ("学生集体户口" in note or "现役军人" in note)

    client.force_login(officer("police", "police_station", "lanzhou-qilihe-ps", "警官"))
    page = client.get(reverse("departments:task", args=[task["id"]]))
    assert page.status_code == 200
    assert note in page.content.decode()
