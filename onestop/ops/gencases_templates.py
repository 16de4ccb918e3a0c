"""Template cases for the scale generator (`onestop gen-cases`, `onestop.ops.gencases`).

One accepted case per region is submitted by the birth hospital's system and worked to
the end by the department systems, all through the product's own API views in process
(Django's test client, every middleware), exactly as the end-to-end benchmark's
simulators do over HTTP. The rows the product wrote for these cases are what the
generator copies, case by case, with the per-case values changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import Client
from django.utils import timezone

from onestop.cases.models import Case
from onestop.integration.models import ApiClient
from onestop.integration.services import api_client_create
from onestop.ops.demo import shift_dates
from onestop.simulate.credentials import Credential, demo_credentials
from onestop.testing.drive import client_call, work_every_task
from onestop.testing.newborns import another_newborn
from onestop.testing.preview import preview_sign

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
            **cred.client_fields(),
            webhook_url=f"http://127.0.0.1:9/{cred.key_id}",  # never called here
        )
    return credentials


def make_template(region: str, serial: int) -> str:
    """Submit and work one case of ``region`` through the API; its number."""
    credentials = [c for c in _ensure_clients() if c.key_id.startswith(f"osk_{region}_")]
    client = Client()
    name = TEMPLATE_EXAMPLES[region]
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    shift_dates(document, timezone.now().astimezone(timezone.get_fixed_timezone(480)))
    another_newborn(document, 1000 + serial)
    hospital = next(c for c in credentials if c.department == "hospital")
    call = client_call(client)
    number = str(call(hospital, "POST", "/cases", document)["number"])
    work_every_task(call, credentials)
    # Fuzhou holds the birth certificate for the applicant's e-signature (ADR 0035): the
    # template's applicant signs, as a parent would on the preview page, and the rest runs.
    if preview_sign(Case.objects.get(number=number)) is not None:
        work_every_task(call, credentials)
    status = Case.objects.filter(number=number).values_list("status", flat=True).first()
    if status != "completed":
        raise RuntimeError(f"template case {number} of {region} ended {status}, not completed")
    return number


def make_templates() -> dict[str, str]:
    """One worked case per region: ``{region: case number}``."""
    return {region: make_template(region, n) for n, region in enumerate(TEMPLATE_EXAMPLES)}
