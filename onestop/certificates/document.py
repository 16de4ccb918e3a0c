"""What an e-licence holds (pure, no Django).

Two documents per licence:

- the **payload**, kept encrypted at rest: the full result as the department recorded it,
  the newborns' full names and birth times, the case and the issuer — for the parents and
  the officers of later items;
- the **sealed document**, what the e-seal signs and the QR code carries, readable by
  anyone who holds the QR code: issuer, item, issue time, serial, a *masked* summary of the
  subject, the result fields that are document numbers (never ID numbers, phone numbers or
  addresses in full), and ``payload_digest``, the SM3 of the canonical payload, which ties
  the seal to the full content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from onestop.catalogue.loader import Catalogue
from onestop.catalogue.names import CatalogueView
from onestop.certificates.seal import payload_digest
from onestop.core.clock import format_time, parse_time
from onestop.reference.idnumber import mask_id_number, mask_name

# Which result fields the sealed document shows, and how: the catalogue's result fields
# marked ``public`` (onestop/catalogue/data/items.yaml), plus the two fields of an
# automatic or instant completion. Anything else (free text such as a pickup place or a
# visit arrangement, amounts of money) is only in the payload, covered by its digest.
# Default deny: a new result field stays private until the catalogue marks it public; a
# name two items disclose differently is masked.
Disclosure = Literal["full", "masked"]
_COMPLETION_FIELDS: Mapping[str, Disclosure] = {"granted": "full", "basis": "full"}


def _disclosed(known: Catalogue) -> dict[str, Disclosure]:
    shown: dict[str, Disclosure] = {}
    for item in known.items.values():
        for spec in item.result_fields:
            if spec.public is not None:
                shown[spec.name] = "masked" if shown.get(spec.name) == "masked" else spec.public
    return shown | dict(_COMPLETION_FIELDS)


PUBLIC_RESULT_FIELDS: Mapping[str, Disclosure] = CatalogueView(_disclosed)

SEX_LABELS: Mapping[str, str] = {"1": "男", "2": "女"}


def _mask_number(value: str) -> str:
    if len(value) == 18:
        return mask_id_number(value)
    keep = max(1, len(value) // 4)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def public_result(result: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, how in PUBLIC_RESULT_FIELDS.items():
        value = result.get(name)
        if value is None or value == "":
            continue
        text = str(value)
        out[name] = text if how == "full" else _mask_number(text)
    return out


def _birth_date(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        return parse_time(value).date().isoformat()
    except ValueError:
        return ""


def licence_payload(
    *,
    serial: str,
    case_number: str,
    item: str,
    item_name: str,
    issuer_code: str,
    issuer_name: str,
    issued_at: datetime,
    result: Mapping[str, Any],
    newborns: Sequence[Mapping[str, Any]],
    remarks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The full licence content (stored encrypted). ``remarks``: marks of the paper form
    (福州 online BMC: 副页 无副页, 存根备注 线上办理; ADR 0035), sealed as they are."""
    extra: dict[str, Any] = {"remarks": dict(remarks)} if remarks else {}
    return {
        **extra,
        "serial": serial,
        "case_number": case_number,
        "item": item,
        "item_name": item_name,
        "issuer": {"code": issuer_code, "name": issuer_name},
        "issued_at": format_time(issued_at),
        "result": dict(result),
        "subject": {
            "newborns": [
                {
                    "name": str(n.get("name") or ""),
                    "sex": str(n.get("sex") or ""),
                    "born_at": str(n.get("born_at") or ""),
                }
                for n in newborns
            ]
        },
    }


def sealed_document(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The public, masked document the seal signs, derived from the full payload."""
    issuer = payload.get("issuer") or {}
    newborns = (payload.get("subject") or {}).get("newborns") or []
    return {
        "serial": payload["serial"],
        "issuer": {"code": issuer.get("code", ""), "name": issuer.get("name", "")},
        "item": {"code": payload["item"], "name": payload.get("item_name", "")},
        "issued_at": payload["issued_at"],
        "subject": {
            "case": payload.get("case_number", ""),
            "newborns": [
                {
                    "name": mask_name(n.get("name")),
                    "sex": SEX_LABELS.get(str(n.get("sex") or ""), ""),
                    "born": _birth_date(n.get("born_at")),
                }
                for n in newborns
            ],
        },
        "result": public_result(payload.get("result") or {}),
        **({"remarks": dict(payload["remarks"])} if payload.get("remarks") else {}),
        "payload_digest": payload_digest(payload),
        # A corrected licence names the serial it replaces (ADR 0042), under its seal.
        **({"replaces": str(payload["replaces"])} if payload.get("replaces") else {}),
    }
