"""Credentials of the simulated department systems.

The demo data (`onestop serve`) creates one API client per region and department with the
known secrets below — **for the demo only**, like the demo password. A real deployment's
clients are created with ``manage.py api_client create`` and handed to the simulator as a
JSON file (``--credentials FILE``: a list of objects with ``department``, ``key_id``,
``token`` and ``webhook_secret``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

# The departments, in the order that gives each its webhook port (base + index).
DEPARTMENTS = ("hospital", "police", "cdc", "medical_insurance", "hrss", "tax", "health")
ABBREVIATIONS = {
    "hospital": "hosp",
    "police": "police",
    "cdc": "cdc",
    "medical_insurance": "mi",
    "hrss": "hrss",
    "tax": "tax",
    "health": "health",
}
# (region, hospital, police station, division): the demo jurisdictions (onestop.ops.demo).
DEMO_JURISDICTIONS = (
    ("qinbei", "qinbei-mch", "qinbei-xintang", "450703"),
    ("lanzhou", "lanzhou-mch", "lanzhou-ps", "6201"),
    ("yuanling", "yuanling-people", "yuanling-ps", "431222"),
    ("fuzhou", "fujian-mch", "fuzhou-ps", "3501"),
    ("jilin", "changchun-mch", "jilin-ps", "22"),
)
# Further police stations of the demo regions, (region, station, short name): Lanzhou's special
# registrations go to the police station of the other parent's hukou (ADR 0034).
DEMO_EXTRA_STATIONS = (("lanzhou", "lanzhou-qilihe-ps", "qilihe"),)
# The first webhook receiver port; `onestop serve` and `onestop simulate` both read it.
HOOK_PORT_ENV = "ONESTOP_SIMULATE_HOOK_PORT"
DEFAULT_HOOK_PORT = 8100


def hook_port_base() -> int:
    return int(os.environ.get(HOOK_PORT_ENV) or DEFAULT_HOOK_PORT)


DEMO_SECRET_SUFFIX = "onestop-demo-2026"
# The simulated departments' receivers take batched webhooks (ADR 0028): the demo clients
# are created with this many events per POST at most.
DEMO_WEBHOOK_BATCH = 50
# The simulated departments act on task.created only (`department.SimulatedDepartment`):
# the echoes of their own claims and completions would be received, counted and dropped,
# so their clients turn them off (``webhook_echo``; issue 10, session 28).
DEMO_WEBHOOK_ECHO = False


class ClientFields(TypedDict):
    name: str
    department: str
    jurisdiction_kind: str
    jurisdiction_code: str
    key_id: str
    secret: str
    webhook_secret: str


@dataclass(frozen=True)
class Credential:
    department: str
    key_id: str
    token: str  # "<key_id>.<secret>"
    webhook_secret: str
    jurisdiction_kind: str = ""
    jurisdiction_code: str = ""
    name: str = ""

    @property
    def secret(self) -> str:
        return self.token.partition(".")[2]

    def client_fields(self) -> ClientFields:
        """What the platform's ``api_client_create`` needs to register this system, but
        the webhook address (where its receiver listens, if anywhere)."""
        return {
            "name": self.name,
            "department": self.department,
            "jurisdiction_kind": self.jurisdiction_kind,
            "jurisdiction_code": self.jurisdiction_code,
            "key_id": self.key_id,
            "secret": self.secret,
            "webhook_secret": self.webhook_secret,
        }


def hook_port(department: str, base: int | None = None) -> int:
    return (hook_port_base() if base is None else base) + DEPARTMENTS.index(department)


def demo_credentials() -> list[Credential]:
    out = []
    for region, hospital, station, division in DEMO_JURISDICTIONS:
        for department in DEPARTMENTS:
            kind, code = {
                "hospital": ("hospital", hospital),
                "police": ("police_station", station),
            }.get(department, ("division", division))
            key_id = f"osk_{region}_{ABBREVIATIONS[department]}"
            out.append(
                Credential(
                    department=department,
                    key_id=key_id,
                    token=f"{key_id}.demo-{key_id}-{DEMO_SECRET_SUFFIX}",
                    webhook_secret=f"whsec_demo_{key_id}",
                    jurisdiction_kind=kind,
                    jurisdiction_code=code,
                    name=f"{region} {department} 模拟系统",
                )
            )
    for region, station, short in DEMO_EXTRA_STATIONS:
        key_id = f"osk_{region}_police_{short}"
        out.append(
            Credential(
                department="police",
                key_id=key_id,
                token=f"{key_id}.demo-{key_id}-{DEMO_SECRET_SUFFIX}",
                webhook_secret=f"whsec_demo_{key_id}",
                jurisdiction_kind="police_station",
                jurisdiction_code=station,
                name=f"{region} police {short} 模拟系统",
            )
        )
    return out


def load_credentials(path: Path) -> list[Credential]:
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of credentials")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: each credential is a JSON object")
        token = str(entry["token"])
        out.append(
            Credential(
                department=str(entry["department"]),
                key_id=str(entry.get("key_id") or token.partition(".")[0]),
                token=token,
                webhook_secret=str(entry.get("webhook_secret", "")),
            )
        )
    return out
