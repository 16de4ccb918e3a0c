"""Demo data for all five regions: reference rows, staff accounts and a few cases.

Idempotent: running it again adds nothing that exists. The demo password is printed by
`onestop serve`; it is for the embedded demo only (real deployments create their users).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.core.clock import format_time, parse_time
from onestop.reference.services import reference_seed

DEMO_PASSWORD = "onestop-demo-2026"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    name: str
    department: str = ""
    kind: str = ""
    code: str = ""


# (region, hospital, police station, service center, division prefix, counter)
REGIONS = (
    ("qinbei", "qinbei-mch", "qinbei-xintang", "qinbei-sc", "450703"),
    ("lanzhou", "lanzhou-mch", "lanzhou-ps", "lanzhou-sc", "6201"),
    ("yuanling", "yuanling-people", "yuanling-ps", "yuanling-sc", "431222"),
    ("fuzhou", "fujian-mch", "fuzhou-ps", "fuzhou-sc", "3501"),
    ("jilin", "changchun-mch", "jilin-ps", "jilin-sc", "22"),
)

DIVISION_DEPARTMENTS = ("cdc", "medical_insurance", "hrss", "tax", "health")
NAMES = {
    "hospital": "医院签发员",
    "police": "派出所民警",
    "cdc": "疾控经办员",
    "medical_insurance": "医保经办员",
    "hrss": "人社经办员",
    "tax": "税务经办员",
    "health": "卫健经办员",
}


def demo_users() -> list[DemoUser]:
    users = [DemoUser("admin", Role.ADMIN, "系统管理员")]
    for region, hospital, station, center, division in REGIONS:
        users.append(
            DemoUser(
                f"{region}-supervisor",
                Role.SUPERVISOR,
                "监督员",
                kind=JurisdictionKind.DIVISION,
                code=division,
            )
        )
        counter_kind, counter = (
            (JurisdictionKind.SERVICE_CENTER, center)
            if region == "jilin"
            else (JurisdictionKind.HOSPITAL, hospital)
        )
        users.append(
            DemoUser(f"{region}-clerk", Role.CLERK, "窗口受理员", kind=counter_kind, code=counter)
        )
        users.append(
            DemoUser(
                f"{region}-hospital",
                Role.OFFICER,
                NAMES["hospital"],
                "hospital",
                JurisdictionKind.HOSPITAL,
                hospital,
            )
        )
        users.append(
            DemoUser(
                f"{region}-police",
                Role.OFFICER,
                NAMES["police"],
                "police",
                JurisdictionKind.POLICE_STATION,
                station,
            )
        )
        for department in DIVISION_DEPARTMENTS:
            users.append(
                DemoUser(
                    f"{region}-{department.replace('_', '-')}",
                    Role.OFFICER,
                    NAMES[department],
                    department,
                    JurisdictionKind.DIVISION,
                    division,
                )
            )
    return users


@transaction.atomic
def _users() -> int:
    created = 0
    for spec in demo_users():
        if User.objects.filter(username=spec.username).exists():
            continue
        user = User(
            username=spec.username,
            role=spec.role,
            display_name=spec.name,
            department=spec.department,
            jurisdiction_kind=spec.kind,
            jurisdiction_code=spec.code,
            is_staff=spec.role == Role.ADMIN,
            is_superuser=spec.role == Role.ADMIN,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        created += 1
    return created


def _cases() -> int:
    if Case.objects.exists():
        return 0
    now = timezone.now()
    count = 0
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        when = now - timedelta(minutes=60 - count)
        shift_dates(document, when)
        case_submit(document=document, actor=None, now=when)
        count += 1
    return count


def shift_dates(document: dict[str, Any], now: datetime) -> None:
    """Move the example's dates so that it is submitted ``now`` and every interval (age of
    the child, validity of an authorization) stays what the example meant."""
    submitted = document.get("submitted_at")
    if not isinstance(submitted, str):
        return
    delta = now - parse_time(submitted)
    days = timedelta(days=delta.days)
    document["submitted_at"] = format_time(now)
    for baby in document.get("newborns") or []:
        if isinstance(baby, dict) and isinstance(baby.get("born_at"), str):
            baby["born_at"] = format_time(parse_time(baby["born_at"]) + delta)
    authorization = document.get("authorization")
    if isinstance(authorization, dict):
        for key in ("valid_from", "valid_to"):
            if isinstance(authorization.get(key), str):
                day = date.fromisoformat(authorization[key])
                authorization[key] = (day + days).isoformat()


def seed_demo() -> dict[str, int]:
    return {"reference": reference_seed(), "users": _users(), "cases": _cases()}
