"""Template cases for the scale generator (`onestop gen-cases`, `onestop.ops.gencases`).

One accepted case per region is submitted by the birth hospital's system and worked to
the end by the department systems, all through the product's own API views in process
(Django's test client, every middleware), exactly as the end-to-end benchmark's
simulators do over HTTP. The rows the product wrote for these cases are what the
generator copies, case by case, with the per-case values changed.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from django.test import Client
from django.utils import timezone

from onestop.cases.models import Case
from onestop.integration.models import ApiClient
from onestop.integration.services import api_client_create
from onestop.ops.demo import shift_dates
from onestop.simulate.credentials import Credential, demo_credentials
from onestop.simulate.department import build_result
from onestop.testing.newborns import another_newborn

# The accepted example of each region (onestop/examples), worked to the end.
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TEMPLATE_EXAMPLES = {
    "qinbei": "qinbei-accept",
    "fuzhou": "fuzhou-accept",
    "lanzhou": "lanzhou-accept",
    "yuanling": "yuanling-accept-trustee",
    "jilin": "jilin-accept-counter",
}


def _ensure_clients() -> list[Credential]:
    credentials = demo_credentials()
    known = set(ApiClient.objects.values_list("key_id", flat=True))
    for cred in credentials:
        if cred.key_id in known:
            continue
        api_client_create(
            name=cred.name,
            department=cred.department,
            jurisdiction_kind=cred.jurisdiction_kind,
            jurisdiction_code=cred.jurisdiction_code,
            webhook_url=f"http://127.0.0.1:9/{cred.key_id}",  # never called here
            key_id=cred.key_id,
            secret=cred.secret,
            webhook_secret=cred.webhook_secret,
        )
    return credentials


def _api(client: Client, cred: Credential, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {cred.token}", "Idempotency-Key": str(uuid.uuid4())}
    if method == "GET":
        answer = client.get(f"/api/v1{path}", headers=headers)
    else:
        answer = client.post(
            f"/api/v1{path}",
            json.dumps(body or {}, ensure_ascii=False),
            content_type="application/json",
            headers=headers,
        )
    if answer.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.content[:300]!r}")
    return answer.json()


def make_template(region: str, serial: int) -> str:
    """Submit and work one case of ``region`` through the API; its number."""
    credentials = [c for c in _ensure_clients() if c.key_id.startswith(f"osk_{region}_")]
    client = Client()
    name = TEMPLATE_EXAMPLES[region]
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    shift_dates(document, timezone.now().astimezone(timezone.get_fixed_timezone(480)))
    another_newborn(document, 1000 + serial)
    hospital = next(c for c in credentials if c.department == "hospital")
    number = str(_api(client, hospital, "POST", "/cases", document)["number"])
    for _ in range(20):  # rounds: items become ready after others are done
        worked = False
        for cred in credentials:
            for task in _api(client, cred, "GET", "/tasks?state=open&limit=100")["tasks"]:
                if task["state"] != "ready":
                    continue
                detail = _api(client, cred, "GET", f"/tasks/{task['id']}")
                claimed = _api(
                    client,
                    cred,
                    "POST",
                    f"/tasks/{task['id']}/claim",
                    {"expected_version": detail["version"]},
                )
                result = build_result(
                    detail.get("result_fields", []), task["id"], detail.get("data")
                )
                _api(
                    client,
                    cred,
                    "POST",
                    f"/tasks/{task['id']}/complete",
                    {"result": result, "expected_version": claimed["version"]},
                )
                worked = True
        if not worked:
            break
    status = Case.objects.filter(number=number).values_list("status", flat=True).first()
    if status != "completed":
        raise RuntimeError(f"template case {number} of {region} ended {status}, not completed")
    return number


def make_templates() -> dict[str, str]:
    """One worked case per region: ``{region: case number}``."""
    return {region: make_template(region, n) for n, region in enumerate(TEMPLATE_EXAMPLES)}
