"""The police system's (any department system's) case by number, ``GET /api/v1/cases/{number}``,
read in two statements compiled once per client scope (issue 10, session 24: "lookups by
case number … stay under 20 ms p99"; the answer cost 8 statements, each built per request,
and decrypted the case's form and signature for nothing): the same bytes as before for
the case's submitter, a department that works an item of it and one that does not, in
progress and worked to the end, with pre-review reasons and warnings; 404 as before for a
client outside the case's jurisdiction, also after another client's statement was
compiled, and for a client whose jurisdiction changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from onestop.accounts.permissions import items_for_officer
from onestop.cases.models import Case
from onestop.certificates.models import ELicence
from onestop.integration import api as api_module
from onestop.integration import selectors
from onestop.integration.models import ApiClient
from onestop.integration.schemas import CaseOut
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.simulate.credentials import Credential
from onestop.testing.costs import database_cost
from onestop.testing.drive import client_call, region_clients, work_every_task
from onestop.testing.newborns import another_newborn
from onestop.workflow.domain.outcome import case_outcome
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def before(client: ApiClient, number: str) -> bytes:
    """The answer as it was given before: the case read whole, its e-licences in force,
    the items the client may work and the items read one statement each (and the
    completed case's items' states again for its outcome), ninja's validation and dump of
    `CaseOut`, ninja's renderer."""
    case = Case.objects.get(number=number)
    serials = dict(
        ELicence.objects.filter(case=case, superseded_at__isnull=True).values_list(
            "item_id", "serial"
        )
    )
    rows = list(CaseItem.objects.filter(case=case).order_by("position"))
    workable = set(
        items_for_officer(client.user, CaseItem.objects.filter(case=case)).values_list(
            "pk", flat=True
        )
    )
    decision = case.decision or {}
    body = {
        "number": case.number,
        "region": case.region,
        "status": case.status,
        "decision": {
            "decision": decision.get("decision", "supplement"),
            "reasons": [
                {
                    "code": r.get("code", ""),
                    "message": r.get("message", ""),
                    "detail": r.get("detail"),
                }
                for r in decision.get("reasons", [])
                if isinstance(r, dict)
            ],
            "plan": decision.get("plan", []),
            "region": decision.get("region", case.region),
            "pack_version": decision.get("pack_version", case.pack_version),
            "warnings": [w for w in decision.get("warnings", []) if isinstance(w, dict)],
        },
        "submitted_at": case.submitted_at,
        "decided_at": case.decided_at,
        "completed_at": case.completed_at,
        "outcome": case_outcome(r.state for r in rows) if case.status == "completed" else None,
        "items": [
            {
                **{f: getattr(row, f) for f in ("item", "department", "state", "version")},
                **{f: getattr(row, f) for f in ("received_at", "due_at", "due_provisional")},
                "awaiting_confirmation": row.awaiting_confirmation or None,
                "finished_at": row.finished_at,
                "elicence_serial": serials.get(row.pk),
                "task_id": row.pk if row.pk in workable else None,
            }
            for row in rows
        ],
    }
    dumped = CaseOut.model_validate(body).model_dump()
    rendered = api_module.api.renderer.render(None, dumped, response_status=200)  # type: ignore[arg-type]
    return str(rendered).encode()


def _same(api: Api, number: str) -> dict[str, Any]:
    answer = api.get(f"/cases/{number}")
    assert answer.status_code == 200, answer.content
    client = ApiClient.objects.get(key_id=api.token.partition(".")[0])  # type: ignore[union-attr]
    assert answer.content == before(client, number)
    return answer.json()  # type: ignore[no-any-return]


def test_the_answer_is_the_same_for_each_client_and_state(example, media_root):
    submitter = Api(hospital().token)
    document = current(example("qinbei-accept"))
    document["favourite_colour"] = "blue"  # a pre-review warning (unknown field)
    number = submitter.post("/cases", document, key="s1").json()["number"]
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    stranger = Api(issue("police", "police_station", "fuzhou-ps").token)
    mine = _same(submitter, number)
    assert mine["decision"]["warnings"] and any(i["task_id"] for i in mine["items"])
    theirs = _same(police, number)  # it has an item at the station, not ready yet
    assert all((i["task_id"] is not None) == (i["department"] == "police") for i in theirs["items"])
    # Another client's statement compiled before: still not visible to this one.
    assert stranger.get(f"/cases/{number}").status_code == 404
    assert stranger.get("/cases/NOPE-1").status_code == 404

    wrong = another_newborn(current(example("qinbei-accept")), 1)
    wrong["applicant"]["id_number"] = "450703199203150221"  # a pre-review reason
    rejected = submitter.post("/cases", wrong, key="s2").json()["number"]
    assert _same(submitter, rejected)["decision"]["reasons"]
    assert police.get(f"/cases/{rejected}").status_code == 404  # no item at the station


def test_a_case_worked_to_the_end_reads_the_same_to_every_department(example, media_root):
    credentials: list[Credential] = region_clients("qinbei")
    submitter = next(c for c in credentials if c.department == "hospital")
    call = client_call(Client())
    number = call(submitter, "POST", "/cases", current(example("qinbei-accept")))["number"]
    work_every_task(call, credentials)
    departments = {
        i["department"] for i in call(submitter, "GET", f"/cases/{number}", None)["items"]
    }
    concerned = [c for c in credentials if c.department in departments]
    assert len(concerned) > 3
    for cred in concerned:  # the submitter and every department with an item of the case
        answer = _same(Api(cred.token), number)
        assert answer["outcome"] == "done"
        assert all(i["elicence_serial"] for i in answer["items"])


def test_the_answer_costs_four_statements_and_follows_a_changed_jurisdiction(example, media_root):
    submitter = Api(hospital().token)
    number = submitter.post("/cases", current(example("qinbei-accept")), key="c1").json()["number"]
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    assert police.get(f"/cases/{number}").status_code == 200  # compiled for its scope
    with database_cost(keep_sql=True) as cost:
        assert police.get(f"/cases/{number}").status_code == 200
    # the client with its rate counter, the case with its access check, the items with
    # their serials and workability, the rate counter's count (8 before session 24); not
    # the test's transaction's savepoint around the request's (PostgreSQL)
    statements = [
        q for q in cost.sql if not q.split(" ", 1)[1].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) <= 4, statements
    # both reads ran from their compiled statements (none fell back to its queryset)
    assert all(v is not None for _, v in selectors._CASE_ITEMS._kept._entries.values())
    for _, per_scope in selectors._CASE_OF_CLIENT._kept._entries.values():
        assert all(v is not None for _, v in per_scope._statements._entries.values())
    account = ApiClient.objects.get(key_id=police.token.partition(".")[0]).user  # type: ignore[union-attr]
    account.jurisdiction_code = "fuzhou-ps"
    account.save(update_fields=["jurisdiction_code"])
    assert police.get(f"/cases/{number}").status_code == 404
