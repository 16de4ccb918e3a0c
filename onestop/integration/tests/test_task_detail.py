"""The API's task detail passes on only e-licences whose seal verifies, as the workbench
shows a result only under a verified seal (issue 9, part 4; DESIGN.md: "its result becomes
an e-licence (signed) that later items use instead of paper")."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from onestop.cases.claims import possible_duplicates
from onestop.cases.models import Case, CaseStatus, NewbornClaim
from onestop.certificates.models import ELicence
from onestop.certificates.selectors import _CASE_STAND_IN, _prior_query
from onestop.common.compiled import CompiledAll
from onestop.common.kept import Kept
from onestop.integration import selectors
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer
from onestop.testing.newborns import another_newborn
from onestop.workflow.card import CARD_OF

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


def test_the_details_reads_of_its_case_are_one_statement_and_agree(
    example, media_root, monkeypatch
):
    """The case's declared materials, preview and possible duplicates are read in one
    statement (`selectors._CaseFacts`, issue 10 part 2) and say what the reads they replace
    say: `possible_duplicates` (a shared key, released or not; the same mother with a birth
    within 48 hours; of these, the active cases), the materials' codes, no preview."""
    api = Api(hospital().token)
    base = current(example("qinbei-accept"))
    numbers = [
        api.post("/cases", another_newborn(copy.deepcopy(base), n), key=f"k{n}").json()["number"]
        for n in range(1, 5)
    ]
    one, two, three, four = (Case.objects.get(number=n) for n in numbers)
    Case.objects.filter(pk=three.pk).update(status=CaseStatus.REJECTED)  # not counted
    # A case of another mother that once claimed a key of the first case's newborn.
    other = another_newborn(copy.deepcopy(base), 9)
    other["mother"]["id_number"] = other["applicant"]["id_number"] = "450703199304160321"
    stranger = Case.objects.get(number=api.post("/cases", other, key="o").json()["number"])
    [key] = NewbornClaim.objects.filter(case=one, kind="record").values_list("key_index", flat=True)
    NewbornClaim.objects.create(
        case=stranger, position=0, kind="record", key_index=key, active=False,
        claimed_at=timezone.now(), released_at=timezone.now(),
    )  # fmt: skip
    Case.objects.filter(pk=four.pk).update(mother_id_index="")  # no births read for it
    built = []
    reads = selectors._cases_reads
    monkeypatch.setattr(selectors, "_CASES_READS", Kept(size=64))  # compiled afresh here

    def counted(*args: Any) -> Any:
        built.append(args[0])
        return reads(*args)

    monkeypatch.setattr(selectors, "_cases_reads", counted)
    seen = set()
    for case in Case.objects.filter(pk__in=[one.pk, two.pk, three.pk, four.pk, stranger.pk]):
        with CaptureQueriesContext(connection) as queries:
            facts = selectors._facts_of_cases([case])[case.pk]
        assert len(queries) == 1, [q["sql"] for q in queries]
        assert facts.duplicates == len(possible_duplicates(case))
        assert facts.declared == set(case.materials.values_list("code", flat=True))
        assert facts.declared and facts.preview is None
        seen.add(facts.duplicates)
    assert len(seen) > 1  # not the same count everywhere: the parts are each used
    # Compiled with the stand-ins, never run as a queryset with a case's id.
    assert built and all(ids[0] == selectors._CASES_AT for ids in built)


def test_the_details_other_reads_compile_with_their_stand_ins():
    """The prior e-licences' read is compiled once per list of awaited items
    (`CompiledAll`), the card's and the payment notice's once (`CompiledFirst`), not run
    as querysets each time (a stand-in Django cannot compile as expected would make every
    read fall back to the queryset)."""
    for after in (("birth_certificate",), ("birth_certificate", "household_registration-2")):
        compiled = CompiledAll(ELicence, _prior_query(after), _CASE_STAND_IN)
        assert compiled._compile(connection.alias) is not None
    assert CARD_OF._compile(connection.alias) is not None
    assert selectors._NOTICE_OF._compile(connection.alias) is not None
