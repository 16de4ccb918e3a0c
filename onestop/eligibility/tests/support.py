"""Shared helpers: load an example case, mutate one thing, pre-review it at a fixed time.

Every test starts from one of the shipped example documents (``onestop/examples``), deep
copied, so that a test changes exactly what it names and nothing else.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from onestop.core.clock import BEIJING, parse_time
from onestop.eligibility.check import check_case
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import Outcome, Reason
from onestop.policy.loader import default_packs
from onestop.reference.domain import default_reference

Case = dict[str, Any]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# A fixed "now" that none of the example documents needs (they all carry submitted_at).
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=BEIJING)

ACCEPT = Outcome.ACCEPT
SUPPLEMENT = Outcome.SUPPLEMENT
REJECT = Outcome.REJECT

# The accepted example of each region.
ACCEPTED = {
    "qinbei": "qinbei-accept",
    "lanzhou": "lanzhou-accept",
    "yuanling": "yuanling-accept-trustee",
    "fuzhou": "fuzhou-accept",
    "jilin": "jilin-accept-counter",
}
REGIONS = tuple(ACCEPTED)

# Valid resident ID numbers (GB 11643 check digits correct).
QINBEI_MOTHER = "450703199203150220"
QINBEI_FATHER = "450703199001010174"
LANZHOU_MOTHER = "620102199405200428"
LANZHOU_FATHER = "620103199308080619"
YUANLING_MOTHER = "431222199602020107"
YUANLING_FATHER = "431222199507070130"
YUANLING_GRANDMA = "431222196504040143"
FUZHOU_MOTHER = "350102199109090249"
FUZHOU_FATHER = "350111199010100271"
JILIN_MOTHER = "220102199303030283"
JILIN_FATHER = "220102199212120312"

BMC = "birth_certificate"
VACC = "vaccination_certificate"
REG = "birth_registration"
MIE = "medical_insurance_enrolment"
PAY = "medical_insurance_payment"
SSC = "social_security_card"
MR = "maternity_reimbursement"
PG = "parenting_guidance"

_CJK = re.compile(r"[\u4e00-\u9fff]")


@cache
def _raw(name: str) -> str:
    return (EXAMPLES / f"{name}.json").read_text(encoding="utf-8")


def example(name: str) -> Case:
    """A fresh deep copy of an example document (``qinbei-accept``, ...)."""
    value = json.loads(_raw(name))
    assert isinstance(value, dict)
    return copy.deepcopy(value)


def accepted(region: str) -> Case:
    """A fresh copy of the region's accepted example."""
    return example(ACCEPTED[region])


def at(text: str) -> datetime:
    """An ISO time; without an offset it is Beijing time."""
    return parse_time(text)


def check(raw: object, *, at: datetime | None = None, now: datetime = NOW) -> Decision:
    """Pre-review with the packaged packs and reference data."""
    return check_case(raw, packs=default_packs(), reference=default_reference(), now=now, at=at)


def codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def code_set(decision: Decision) -> set[str]:
    return set(codes(decision))


def details(decision: Decision, code: str) -> list[str | None]:
    return [reason.detail for reason in decision.reasons if reason.code == code]


def only(decision: Decision, code: str) -> Reason:
    """The single reason with ``code`` (fails when there is none or more than one)."""
    found = [reason for reason in decision.reasons if reason.code == code]
    assert len(found) == 1, f"expected one {code}, got {decision.as_json()['reasons']}"
    return found[0]


def pairs(decision: Decision) -> set[tuple[str, str | None]]:
    """(code, detail) of every reason."""
    return {(reason.code, reason.detail) for reason in decision.reasons}


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def plan_map(decision: Decision) -> dict[str, tuple[str, ...]]:
    """item → the items it waits for."""
    return {p.item: p.after for p in decision.plan}
