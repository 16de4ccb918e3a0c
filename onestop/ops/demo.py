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

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.cases.models import Case
from onestop.cases.services import DuplicateNewborn, case_submit
from onestop.common.fields import index_of
from onestop.core.clock import format_time, parse_time, to_beijing
from onestop.hospitals.selectors import delivery_record_exists
from onestop.hospitals.services import delivery_record_upsert
from onestop.reference.services import reference_seed

DEMO_PASSWORD = "onestop-demo-2026"
# The demo administrator and supervisors must pass a TOTP second factor like real ones
# (ADR 0013). Their authenticator secret is this published demo key (20 bytes, hex): add
# DEMO_TOTP_SECRET to any authenticator app, or run `manage.py demo_totp <username>`.
DEMO_TOTP_KEY = b"onestop-demo-totp-20".hex()
DEMO_TOTP_SECRET = "N5XG K43U N5YC 2ZDF NVXS 25DP ORYC 2MRQ"
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
            DemoUser(
                f"{region}-hotline",
                Role.OPERATOR,
                "12345话务员",
                kind=JurisdictionKind.DIVISION,
                code=division,
            )
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
    # Lanzhou's special registrations go to the other parent's hukou station (ADR 0034).
    from onestop.simulate.credentials import DEMO_EXTRA_STATIONS

    for region, station, short in DEMO_EXTRA_STATIONS:
        users.append(
            DemoUser(
                f"{region}-police-{short}",
                Role.OFFICER,
                NAMES["police"],
                "police",
                JurisdictionKind.POLICE_STATION,
                station,
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
    _demo_second_factor()
    return created


def _demo_second_factor() -> None:
    """A TOTP device with the demo key for each demo account whose role needs one."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for spec in demo_users():
        if spec.role not in settings.TOTP_REQUIRED_ROLES:
            continue
        user = User.objects.filter(username=spec.username).first()
        if user is None or TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            continue
        TOTPDevice.objects.create(user=user, name="演示动态口令", key=DEMO_TOTP_KEY, confirmed=True)


def _cases() -> int:
    if Case.objects.exists():
        return 0
    now = timezone.now()
    count = 0
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        when = now - timedelta(minutes=60 - count)
        shift_dates(document, when)
        try:
            case = case_submit(document=document, actor=None, now=when).case
        except DuplicateNewborn:
            # Two examples tell stories of one family: one newborn may have one active case
            # (issue 8), so the demo files the later story as another baby of the mother.
            _another_newborn(document, count + 1)
            case = case_submit(document=document, actor=None, now=when).case
        if path.stem in DEMO_PROGRESS:
            _advance(case, DEMO_PROGRESS[path.stem], when + timedelta(minutes=5))
        count += 1
    return count


def _another_newborn(document: dict[str, Any], n: int) -> None:
    for baby in document.get("newborns") or []:
        if isinstance(baby, dict) and isinstance(baby.get("record_number"), str):
            baby["record_number"] = f"{baby['record_number']}-{n}"
        if isinstance(baby, dict) and isinstance(baby.get("born_at"), str):
            baby["born_at"] = format_time(parse_time(baby["born_at"]) - timedelta(minutes=n))


# So that the demo's later desks have work: these examples start with some items issued.
DEMO_PROGRESS = {
    "qinbei-accept": {"birth_certificate": {"bmc_number": "Q450100001"}},
    "lanzhou-accept": {"birth_certificate": {"bmc_number": "G620100001"}},
}


def _advance(case: Case, results: dict[str, dict[str, str]], when: datetime) -> None:
    from onestop.workflow.models import CaseItem
    from onestop.workflow.services import item_complete

    for item, result in results.items():
        row = CaseItem.objects.filter(case=case, item=item, state="ready").first()
        if row is not None:
            item_complete(item_id=row.pk, actor=None, result=result, now=when)


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


def _newborn_and_mother(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    newborns = document.get("newborns")
    baby = newborns[0] if isinstance(newborns, list) and newborns else None
    mother = document.get("mother")
    return (
        baby if isinstance(baby, dict) else {},
        mother if isinstance(mother, dict) else {},
    )


def delivery_data(baby: dict[str, Any], mother: dict[str, Any]) -> dict[str, Any]:
    """What a hospital's delivery record holds about a newborn (and the mother's name)."""
    from onestop.hospitals.selectors import DELIVERY_FIELDS

    data = {key: baby.get(key) for key in DELIVERY_FIELDS if key != "mother_name"}
    data["mother_name"] = mother.get("name")
    return data


def _submitted_newborn(
    hospital: str, record_number: str, mother_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The newborn as a stored demo case has it (dates already shifted), if any."""
    cases = Case.objects.filter(mother_id_index=index_of(mother_id, purpose="id")).order_by(
        "submitted_at"
    )
    for case in cases[:20]:
        baby, mother = _newborn_and_mother(case.document)
        if baby.get("hospital") == hospital and baby.get("record_number") == record_number:
            return baby, mother
    return None


# A delivery record without a case, to try the online application with pre-filling:
# the parent enters this mother's ID number, hospital and record number.
FRESH_HOSPITAL = "qinbei-mch"
FRESH_RECORD_NUMBER = "ZY2026-DEMO-0001"
FRESH_MOTHER_ID = "450703199408180140"
FRESH_DATA: dict[str, Any] = {
    "sex": "2",
    "weight_g": 3150,
    "length_cm": 49,
    "gestational_weeks": 39,
    "birth_attendant": "韦敏",
    "blood_type": "O",
    "in_hospital": True,
    "mother_name": "李娜",
}


def _delivery_records() -> int:
    """A hospital delivery record for every example case's newborn (plus one fresh one),
    matching the stored case; existing records are left alone."""
    created = 0
    now = timezone.now()
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        baby, mother = _newborn_and_mother(document)
        hospital, number = baby.get("hospital"), baby.get("record_number")
        mother_id = mother.get("id_number")
        if not (isinstance(hospital, str) and isinstance(number, str)):
            continue
        if not isinstance(mother_id, str) or delivery_record_exists(hospital, number):
            continue
        stored = _submitted_newborn(hospital, number, mother_id)
        if stored is None:
            shift_dates(document, now)
            stored = _newborn_and_mother(document)
        delivery_record_upsert(
            hospital=hospital,
            record_number=number,
            mother_id_number=mother_id,
            data=delivery_data(*stored),
            now=now,
        )
        created += 1
    if not delivery_record_exists(FRESH_HOSPITAL, FRESH_RECORD_NUMBER):
        born = to_beijing(now - timedelta(days=3)).replace(hour=9, minute=40, second=0)
        delivery_record_upsert(
            hospital=FRESH_HOSPITAL,
            record_number=FRESH_RECORD_NUMBER,
            mother_id_number=FRESH_MOTHER_ID,
            data={**FRESH_DATA, "born_at": format_time(born)},
            now=now,
        )
        created += 1
    return created


def _api_clients() -> int:
    """One API client per region and department for `onestop simulate`, with the known demo
    secrets of `onestop.simulate.credentials` (demo only). Their webhooks point at the
    simulators' receivers only while the simulators run (`demo_webhooks`)."""
    from onestop.integration.models import ApiClient
    from onestop.integration.services import api_client_create
    from onestop.simulate.credentials import (
        DEMO_WEBHOOK_BATCH,
        DEMO_WEBHOOK_ECHO,
        demo_credentials,
    )

    created = 0
    for cred in demo_credentials():
        if ApiClient.objects.filter(key_id=cred.key_id).exists():
            continue
        api_client_create(
            **cred.client_fields(),
            webhook_url="",  # set by demo_webhooks() when the simulators run
            webhook_batch_max=DEMO_WEBHOOK_BATCH,
            webhook_echo=DEMO_WEBHOOK_ECHO,
        )
        created += 1
    return created


def demo_webhooks(*, enabled: bool) -> int:
    """Point the demo API clients' webhooks at the simulators' receivers (``enabled``) or
    switch them off, so a demo run without simulators queues no deliveries that can only
    fail. The simulators' receivers take batched webhooks (ADR 0028) and want no echoes
    of their own changes (ADR 0011, session 28). Returns the number of clients changed."""
    from django.db.models import Q

    from onestop.integration.models import ApiClient
    from onestop.simulate.credentials import (
        DEMO_WEBHOOK_BATCH,
        DEMO_WEBHOOK_ECHO,
        demo_credentials,
        hook_port,
    )

    changed = 0
    for cred in demo_credentials():
        url = f"http://127.0.0.1:{hook_port(cred.department)}/webhook" if enabled else ""
        changed += (
            ApiClient.objects.filter(key_id=cred.key_id)
            .filter(
                ~Q(webhook_url=url)
                | ~Q(webhook_batch_max=DEMO_WEBHOOK_BATCH)
                | ~Q(webhook_echo=DEMO_WEBHOOK_ECHO)
            )
            .update(
                webhook_url=url,
                webhook_batch_max=DEMO_WEBHOOK_BATCH,
                webhook_echo=DEMO_WEBHOOK_ECHO,
            )
        )
    return changed


def seed_demo() -> dict[str, int]:
    return {
        "reference": reference_seed(),
        "users": _users(),
        "api_clients": _api_clients(),
        "cases": _cases(),
        "delivery_records": _delivery_records(),
    }
