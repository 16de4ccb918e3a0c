"""Entering an example case document through the real channels: the parents' online form
(step by step) and the counter's entry form, as people would."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from onestop.testing.files import pdf_bytes

# A real one-page PDF: the upload checks parse every file whole (ADR 0014).
PDF = pdf_bytes()
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?[+-]\d{2}:\d{2}$")


def _flat(value: Any, prefix: str, sep: str, out: dict[str, Any], *, counter: bool) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flat(item, f"{prefix}{sep}{key}" if prefix else key, sep, out, counter=counter)
    elif isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return  # items and materials are chosen, not typed
        for index, item in enumerate(value):
            _flat(item, f"{prefix}{sep}{index}", sep, out, counter=counter)
    elif isinstance(value, bool):
        if counter:
            if value:
                out[prefix] = "on"
        else:
            out[prefix] = "true" if value else "false"
    elif value is not None:
        text = str(value)
        if _ZONED.match(text):  # the forms take the minute, Beijing time
            text = text[:16] if not counter else text[:16].replace("T", " ")
        out[prefix] = text


def online_fields(document: dict[str, Any]) -> dict[str, str]:
    out: dict[str, Any] = {}
    _flat(document, "", "_", out, counter=False)
    return out


def counter_fields(document: dict[str, Any]) -> dict[str, Any]:
    """The counter's form is the same unified form as online (the same field names), with
    the items, the applicant and the number of newborns chosen at the top."""
    authorization = document.get("authorization") or {}
    return {
        **online_fields(document),
        "region": document["region"],
        "items": document["items"],
        "applicant_role": document["applicant"]["role"],
        "newborn_count": str(len(document.get("newborns") or [None])),
        "authorization_items": authorization.get("items", []),
        "materials": document["materials"],
    }


def apply_online(client: Client, document: dict[str, Any], *, signer: str) -> Any:
    """Fill the online form with ``document`` and sign it; the response of the signature."""
    region = document["region"]
    step = "/my/apply/{}/{}/".format
    assert client.get(f"/my/apply/{region}/").status_code == 302
    role = document["applicant"]["role"]
    response = client.post(step(region, "items"), {"items": document["items"], "role": role})
    assert response.status_code == 302, _errors(response.content.decode())
    fields = online_fields(document)
    for name in ("birth", "parents", "details"):
        response = client.post(step(region, name), {**fields, "action": "next"})
        assert response.status_code == 302, _errors(response.content.decode())
    files = {
        f"file_{code}": SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf")
        for code in document["materials"]
    }
    response = client.post(step(region, "materials"), {**files, "action": "next"})
    assert response.status_code == 302, response.content.decode()[:3000]
    return client.post(step(region, "confirm"), {"signer_name": signer, "promise": "on"})


def enter_at_counter(client: Client, document: dict[str, Any]) -> Any:
    return client.post("/counter/new/", counter_fields(document))


def _errors(page: str) -> str:
    """The form's error lines, to say why a step did not go on."""
    return "\n".join(
        re.findall(r'data-path="[^"]+"|class="errorlist[^<]*<li>[^<]*|class="errornote[^<]*', page)
    )
