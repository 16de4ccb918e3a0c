"""The webhook targets are kept per process under the webhook stamp the API's client read
carries (issue 10, session 26; migration 0007): the database's triggers move it on every
change of what makes a client a target, whoever makes it — the admin's form, the command
line — so the next request's deliveries follow the change; while it stands the targets
are not read again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onestop.integration.models import ApiClient, WebhookDelivery, WebhookStamp
from onestop.integration.services import webhook_deliver
from onestop.integration.tests.support import Api, admin_edit, current, hospital
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

# The targets' read (`services._WEBHOOK_CLIENTS`): every active client with a URL.
TARGETS_READ = 'AS "events_json" FROM "integration_apiclient"'


def _targets_read(queries: CaptureQueriesContext) -> int:
    return sum(TARGETS_READ in q["sql"] for q in queries.captured_queries)


def _delivered(client: ApiClient) -> list[str]:
    return list(WebhookDelivery.objects.filter(client=client).values_list("event", flat=True))


def test_every_change_of_a_webhook_client_reaches_the_next_request(
    example, media_root, admin_client
):
    submitter = hospital()
    api = Api(submitter.token)
    watcher = hospital(webhook_url="").client  # the same hospital's second system: no URL yet
    control = hospital(webhook_url="https://control.example/hook").client
    stamp = WebhookStamp.objects.get(pk=1).token

    assert api.post("/cases", current(example("qinbei-accept")), key="a").status_code == 201
    task = api.get("/tasks").json()["tasks"][0]
    assert _delivered(watcher) == [] and _delivered(control) == ["task.created"]

    # Staff give the watcher a URL in the admin: the stamp moves, the next request's
    # event is delivered to it, at that URL.
    admin_edit(admin_client, watcher, webhook_url="https://watcher.example/hook")
    assert WebhookStamp.objects.get(pk=1).token != stamp
    with CaptureQueriesContext(connection) as claim:
        assert api.post(f"/tasks/{task['id']}/claim").status_code == 200
    assert _targets_read(claim) == 1  # read again under the moved stamp
    assert _delivered(watcher) == ["task.updated"]
    sent: list[str] = []

    def receiver(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        sent.append(url)
        return 204

    delivery = WebhookDelivery.objects.get(client=watcher)
    assert webhook_deliver(delivery.pk, transport=receiver) == "delivered"
    assert sent == ["https://watcher.example/hook"]

    # Another URL: the next delivery goes there.
    admin_edit(admin_client, watcher, webhook_url="https://watcher.example/v2")
    done = api.post(f"/tasks/{task['id']}/complete", {"result": {"bmc_number": "Q450999999"}})
    assert done.status_code == 200, done.content[:300]
    assert _delivered(watcher) == ["task.updated", "task.updated"]
    latest = WebhookDelivery.objects.filter(client=watcher).latest("pk")
    sent.clear()
    assert webhook_deliver(latest.pk, transport=receiver) == "delivered"
    assert sent == ["https://watcher.example/v2"]

    # Its events changed in the admin (task.updated no longer goes to it), the control
    # deactivated on the command line: the next requests' events go to neither.
    admin_edit(admin_client, watcher, events=json.dumps(["case.decided"]))
    call_command("api_client", "deactivate", control.key_id, stdout=StringIO())
    before = (len(_delivered(watcher)), len(_delivered(control)))
    other = current(example("qinbei-accept"))
    another_newborn(other, 1)
    with CaptureQueriesContext(connection) as submitted:
        assert api.post("/cases", other, key="c").status_code == 201
    assert _targets_read(submitted) == 1  # the stamp moved
    ready = [t for t in api.get("/tasks").json()["tasks"] if t["state"] == "ready"]
    stamp = WebhookStamp.objects.get(pk=1).token
    with CaptureQueriesContext(connection) as claimed:
        assert api.post(f"/tasks/{ready[0]['id']}/claim").status_code == 200
    assert _targets_read(claimed) == 0  # unchanged clients: not read again
    assert WebhookStamp.objects.get(pk=1).token == stamp
    assert (len(_delivered(watcher)), len(_delivered(control))) == before


def test_the_stamp_covers_what_makes_a_target_and_its_triggers_stand() -> None:
    """What the kept targets hold and select by is among the columns that move the stamp,
    and the database has every trigger the migration made (a later migration that rebuilt
    the table, or dropped a column with CASCADE, would drop them silently and every
    process would keep stale targets; review of session 26)."""
    import importlib
    import re

    from onestop.integration import services
    from onestop.reference import stamp_triggers

    # The latest migration that made the triggers (0007's, made again with more columns).
    migration = importlib.import_module("onestop.integration.migrations.0009_webhook_echo")
    read = {*services._TARGET_FIELDS, "active", "webhook_url"} - {"pk"}
    assert read <= set(migration.COLUMNS)
    made = stamp_triggers.trigger_sql(
        connection.vendor,
        migration.TABLES,
        stamp=migration.STAMP,
        function=migration.FUNCTION,
        columns=migration.COLUMNS,
    )[0]
    expected = {re.search(r"CREATE TRIGGER (\w+)", sql).group(1) for sql in made}  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                " AND tgrelid = 'integration_apiclient'::regclass"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'integration_apiclient'"
            )
        present = {name for (name,) in cursor.fetchall()}
    assert expected and expected <= present, (expected, present)


def test_the_kept_targets_of_a_key_are_picked_once_and_handed_out_as_copies(monkeypatch):
    """Under one stamp the clients matching a department (or a submitter's key) are picked
    from the kept targets once (session 31, h-cpu: every event of every request scanned
    them all); each caller gets its own list, and a moved stamp picks again."""
    from onestop.integration import services

    one = services._Target(1, "k1", "police", "division", "450700", 11, False, ())
    two = services._Target(2, "k2", "health", "division", "450700", 12, False, ())
    three = services._Target(3, "k3", "police", "division", "450702", 13, False, ())
    alias = "default"
    monkeypatch.setattr(services, "_targets_kept", (alias, "stamp-a", [one, two, three], {}))
    services.webhook_stamp_seen("stamp-a")
    try:
        first = services._clients(("department", "police"))
        assert first == [one, three]
        first.clear()  # the caller's own list
        assert services._clients(("department", "police")) == [one, three]
        assert services._clients(("key_id", "k2")) == [two]
        kept = services._targets_kept
        assert kept is not None and set(kept[3]) == {("department", "police"), ("key_id", "k2")}
    finally:
        services.webhook_stamp_seen(None)
