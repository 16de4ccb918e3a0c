"""A client that turned its echoes off (``ApiClient.webhook_echo``; issue 10, session 28;
ADR 0011) hears no ``task.updated`` of the changes it made itself through the API — its
claims, completions, returns and refusals, whose answers carry them — and every other
event as before: the tasks that become ready (also by its own change), the changes made by
an officer or another client. A client that keeps them hears everything, as before."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from onestop.integration.models import ApiClient, WebhookDelivery, WebhookStamp
from onestop.integration.tests.support import Api, admin_edit, current, hospital, issue
from onestop.simulate.department import build_result
from onestop.testing.factories import officer
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"
STATION = ("police", "police_station", "qinbei-xintang")
CDC = ("cdc", "division", "450703")


def _rows(client: ApiClient) -> list[tuple[str, str, str]]:
    """(event, change, item) of each delivery written for ``client``, oldest first."""
    return [
        (d.event, d.payload.get("change", ""), d.payload.get("task", {}).get("item", ""))
        for d in WebhookDelivery.objects.filter(client=client).order_by("pk")
    ]


def _work(api: Api, task_id: int) -> None:
    """Claim and complete the task through the API, as a department system does."""
    claimed = api.post(f"/tasks/{task_id}/claim")
    assert claimed.status_code == 200, claimed.content[:300]
    detail = api.get(f"/tasks/{task_id}").json()
    result = build_result(detail.get("result_fields", []), task_id, detail.get("data"))
    done = api.post(
        f"/tasks/{task_id}/complete",
        {"result": result, "expected_version": claimed.json()["version"]},
    )
    assert done.status_code == 200, done.content[:300]


def _web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_client_without_echoes_hears_no_change_it_made_itself(example, media_root):
    quiet = hospital(webhook_url=HOOK, webhook_echo=False)  # submits and works the case
    loud = hospital(webhook_url=HOOK)  # the same hospital's other system, echoes kept
    station_quiet = issue(*STATION, webhook_url=HOOK, webhook_echo=False)
    station_loud = issue(*STATION, webhook_url=HOOK)
    cdc_quiet = issue(*CDC, webhook_url=HOOK, webhook_echo=False)
    api = Api(quiet.token)

    submitted = api.post("/cases", current(example("qinbei-accept")), key="e1")
    assert submitted.status_code == 201, submitted.content[:300]
    number = submitted.json()["number"]
    rows = {r.item: r for r in CaseItem.objects.filter(case__number=number)}
    # Its own submission made the task: task.created (and case.decided) still come.
    assert _rows(quiet.client) == [
        ("case.decided", "case_decided", ""),
        ("task.created", "item_became_ready", "birth_certificate"),
    ]

    _work(api, rows["birth_certificate"].pk)
    assert _rows(quiet.client) == [
        ("case.decided", "case_decided", ""),
        ("task.created", "item_became_ready", "birth_certificate"),
    ]  # its claim and completion: not told back to it
    assert _rows(loud.client) == [
        ("task.created", "item_became_ready", "birth_certificate"),
        ("task.updated", "item_claimed", "birth_certificate"),
        ("task.updated", "item_completed", "birth_certificate"),
    ]  # another system of the same hospital hears of them
    # The next item, ready by the hospital's completion: told to the station's systems.
    ready = ("task.created", "item_became_ready", "birth_registration")
    assert _rows(station_quiet.client) == _rows(station_loud.client) == [ready]

    # The station's other system works the item: the quiet one hears of every change.
    _work(Api(station_loud.token), rows["birth_registration"].pk)
    told = [
        ready,
        ("task.updated", "item_claimed", "birth_registration"),
        ("task.updated", "item_completed", "birth_registration"),
    ]
    assert _rows(station_quiet.client) == _rows(station_loud.client) == told

    # An officer claims the CDC's item in the web workbench: told to the quiet CDC system.
    vaccination = rows["vaccination_certificate"]
    answer = _web(officer(*CDC)).post(
        f"/work/tasks/{vaccination.pk}/claim/", {"version": vaccination.version}
    )
    assert answer.status_code in (200, 302)
    assert _rows(cdc_quiet.client)[-1] == (
        "task.updated",
        "item_claimed",
        "vaccination_certificate",
    )


def test_returns_and_refusals_of_a_client_without_echoes_are_not_told_back(example, media_root):
    quiet = hospital(webhook_url=HOOK, webhook_echo=False)
    station = issue(*STATION, webhook_url=HOOK)
    api = Api(quiet.token)
    numbers = []
    for n in (1, 2):
        document = current(example("qinbei-accept"))
        another_newborn(document, 50 + n)
        submitted = api.post("/cases", document, key=f"r{n}")
        assert submitted.status_code == 201, submitted.content[:300]
        numbers.append(submitted.json()["number"])
    returned, refused = (
        CaseItem.objects.get(case__number=number, item="birth_certificate") for number in numbers
    )
    before = _rows(quiet.client)
    answer = api.post(f"/tasks/{returned.pk}/return", {"reasons": ["出生时间有误"]})
    assert answer.status_code == 200, answer.content[:300]
    answer = api.post(f"/tasks/{refused.pk}/refuse", {"reasons": ["非本院出生"]})
    assert answer.status_code == 200, answer.content[:300]
    assert _rows(quiet.client) == before
    # The refusal stopped the station's item: that is told (to the station's system).
    assert ("task.updated", "item_cancelled", "birth_registration") in _rows(station.client)


def test_a_client_keeps_its_echoes_by_default(example, media_root):
    loud = hospital(webhook_url=HOOK)
    assert loud.client.webhook_echo is True
    api = Api(loud.token)
    submitted = api.post("/cases", current(example("qinbei-accept")), key="d1")
    assert submitted.status_code == 201, submitted.content[:300]
    row = CaseItem.objects.get(case__number=submitted.json()["number"], item="birth_certificate")
    _work(api, row.pk)
    assert _rows(loud.client) == [
        ("case.decided", "case_decided", ""),
        ("task.created", "item_became_ready", "birth_certificate"),
        ("task.updated", "item_claimed", "birth_certificate"),
        ("task.updated", "item_completed", "birth_certificate"),
    ]


def test_echoes_are_set_on_the_command_line_and_in_the_admin(example, media_root, admin_client):
    out = StringIO()
    call_command(
        "api_client",
        "create",
        *("--department", "hospital", "--kind", "hospital", "--code", "qinbei-mch"),
        *("--webhook", HOOK, "--no-echo"),
        stdout=out,
    )
    shown = json.loads(out.getvalue())
    assert shown["webhook_echo"] is False
    quiet = ApiClient.objects.get(key_id=shown["key_id"])
    assert quiet.webhook_echo is False
    out = StringIO()
    call_command("api_client", "create", "--department", "cdc", "--kind", "division",
                 "--code", "450703", stdout=out)  # fmt: skip
    assert json.loads(out.getvalue())["webhook_echo"] is True
    out = StringIO()
    call_command("api_client", "list", stdout=out)
    listed = {line.split("\t")[0]: line.split("\t") for line in out.getvalue().splitlines()}
    assert listed[quiet.key_id][5] == "no-echo"
    assert "echo" in [cols[5] for key, cols in listed.items() if key != quiet.key_id]

    api = Api(shown["token"])

    def claim(n: int) -> None:
        document = current(example("qinbei-accept"))
        another_newborn(document, 70 + n)
        number = api.post("/cases", document, key=f"c{n}").json()["number"]
        row = CaseItem.objects.get(case__number=number, item="birth_certificate")
        assert api.post(f"/tasks/{row.pk}/claim").status_code == 200

    claim(1)
    assert [r for r in _rows(quiet) if r[0] == "task.updated"] == []

    # Staff turn the echoes back on in the admin: the webhook stamp moves (the processes
    # read the targets again) and the client's next claim is told back to it.
    stamp = WebhookStamp.objects.get(pk=1).token
    admin_edit(admin_client, quiet, webhook_echo="on")
    quiet.refresh_from_db()
    assert quiet.webhook_echo is True
    assert WebhookStamp.objects.get(pk=1).token != stamp
    claim(2)
    assert [r for r in _rows(quiet) if r[0] == "task.updated"] == [
        ("task.updated", "item_claimed", "birth_certificate")
    ]


def test_a_client_without_echoes_hears_nothing_of_its_own_batches(example, media_root):
    """The batch endpoints (`POST /tasks/claims`, `/tasks/completions`) are the client's
    own changes too: no ``task.updated`` of them to it; the same hospital's other system
    hears each (review of session 28: the batches were not covered)."""
    quiet = hospital(webhook_url=HOOK, webhook_echo=False)
    loud = hospital(webhook_url=HOOK)
    api = Api(quiet.token)
    numbers = []
    for n in range(2):
        document = current(example("qinbei-accept"))
        if n:
            document = another_newborn(document, n)
        submitted = api.post("/cases", document, key=f"b{n}")
        assert submitted.status_code == 201, submitted.content[:300]
        numbers.append(submitted.json()["number"])
    tasks = list(
        CaseItem.objects.filter(case__number__in=numbers, item="birth_certificate").order_by("pk")
    )
    assert len(tasks) == 2
    quiet_before = _rows(quiet.client)
    claimed = api.post(
        "/tasks/claims", {"tasks": [{"id": t.pk, "expected_version": t.version} for t in tasks]}
    )
    assert claimed.status_code == 200, claimed.content[:300]
    results = claimed.json()["results"]
    assert [r["status"] for r in results] == [200, 200]
    body = {
        "tasks": [
            {
                "id": r["id"],
                "result": build_result(r["body"]["result_fields"], r["id"], r["body"].get("data")),
                "expected_version": r["body"]["version"],
            }
            for r in results
        ]
    }
    done = api.post("/tasks/completions", body)
    assert done.status_code == 200, done.content[:300]
    assert [r["status"] for r in done.json()["results"]] == [200, 200]
    assert _rows(quiet.client) == quiet_before  # nothing of its own two batches
    heard = [r for r in _rows(loud.client) if r[0] == "task.updated"]
    assert sorted(heard) == sorted(
        [("task.updated", "item_claimed", "birth_certificate")] * 2
        + [("task.updated", "item_completed", "birth_certificate")] * 2
    )
