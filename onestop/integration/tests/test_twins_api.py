"""Twins over the API (多胞胎, issue 11 promise 8, ADR 0036): a hospital system submits one
case with two newborns; each department's system works its tasks over HTTP as the
simulated systems do (`onestop.simulate.department.build_result`) until the case is done;
every per-newborn task says which baby, sees only that baby, and issues its own e-licence."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from onestop.certificates.models import ELicence
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.simulate.department import build_result

pytestmark = pytest.mark.django_db

# Who works each item of a qinbei case (department, jurisdiction kind, code).
OFFICES = {
    "hospital": ("hospital", "qinbei-mch"),
    "cdc": ("division", "450703"),
    "police": ("police_station", "qinbei-xintang"),
    "medical_insurance": ("division", "450703"),
    "hrss": ("division", "450703"),
    "health": ("division", "450703"),
    "tax": ("division", "450703"),
}


def twins(document):
    second = copy.deepcopy(document["newborns"][0])
    second.update(name="覃沐晴", sex="2", record_number=second["record_number"] + "-B")
    document["newborns"].append(second)
    document["maternity"]["plurality"] = 2
    return document


def test_twins_case_over_the_api_completes_with_one_elicence_per_baby(example, media_root):
    submitter = Api(hospital().token)
    answer = submitter.post("/cases", twins(current(example("qinbei-accept"))), key="twins-1")
    assert answer.status_code == 201, answer.json()
    number = answer.json()["number"]
    assert answer.json()["decision"]["decision"] == "accept"

    systems = {
        dept: Api(issue(dept, kind, code).token) if dept != "hospital" else submitter
        for dept, (kind, code) in OFFICES.items()
    }
    seen_twin = False
    for _ in range(8):
        worked = 0
        for api in systems.values():
            for task in api.get("/tasks?state=open&limit=100").json()["tasks"]:
                if task["state"] != "ready":
                    continue
                detail = api.get(f"/tasks/{task['id']}").json()
                babies = detail["data"].get("newborns")
                if task["newborn"] == "第二个孩子":
                    seen_twin = True
                    # A per-newborn task sees only its own baby (least privilege).
                    assert [b["name"] for b in babies] == ["覃沐晴"]
                if task["item"] == "maternity_reimbursement":
                    assert task["newborn"] == ""  # the mother's, once for the case
                claimed = api.post(
                    f"/tasks/{task['id']}/claim", {"expected_version": task["version"]}
                )
                assert claimed.status_code == 200, claimed.json()
                result = build_result(detail["result_fields"], task["id"], detail["data"])
                due = detail.get("payment")
                if isinstance(due, dict) and due.get("amount_yuan"):
                    result["amount_yuan"] = str(due["amount_yuan"])
                done = api.post(
                    f"/tasks/{task['id']}/complete",
                    {"result": result, "expected_version": claimed.json()["version"]},
                )
                assert done.status_code == 200, done.json()
                worked += 1
        if not worked:
            break
    assert seen_twin

    case = submitter.get(f"/cases/{number}").json()
    assert case["status"] == "completed", case
    items = case["items"]
    assert {i["state"] for i in items} == {"done"}
    assert all(i["elicence_serial"] for i in items)
    codes = [i["item"] for i in items]
    assert codes.count("birth_certificate") == 2
    assert codes.count("birth_registration") == 2
    assert codes.count("maternity_reimbursement") == 1

    # One birth certificate per baby, each naming its baby, each verifying publicly.
    licences = ELicence.objects.filter(case__number=number, kind="birth_certificate")
    names = sorted(lic.payload["subject"]["newborns"][0]["name"] for lic in licences)
    assert names == ["覃沐晴", "覃沐阳"]
    public = Client()
    for licence in licences:
        verdict = public.get(f"/verify/{licence.serial}.json").json()
        assert verdict["valid"] is True, verdict
