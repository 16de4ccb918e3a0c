"""Offered item graphs of the seed regions (spec/regions.md, "Dependency order")."""

from __future__ import annotations

from datetime import datetime

from onestop.core.clock import BEIJING
from onestop.workflow.domain import ItemSpec

BMC = "birth_certificate"
VACC = "vaccination_certificate"
REG = "birth_registration"
MIE = "medical_insurance_enrolment"
MR = "maternity_reimbursement"
SSC = "social_security_card"
PG = "parenting_guidance"

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=BEIJING)

QINBEI = [
    ItemSpec(BMC, "hospital", (), 1),
    ItemSpec(VACC, "cdc", (), 1),
    ItemSpec(REG, "police", (BMC,), 2),
    ItemSpec(SSC, "hrss", (REG, MIE), 30),
    ItemSpec(MR, "medical_insurance", (REG,), 15),
    ItemSpec(MIE, "medical_insurance", (REG,), 1),
    ItemSpec(PG, "health", (), None),
]

FUZHOU = [
    ItemSpec(BMC, "hospital", (), 1),
    ItemSpec(VACC, "cdc", (), 1),
    ItemSpec(REG, "police", (BMC, VACC), 1),
    ItemSpec(MR, "medical_insurance", (REG,), 1),
    ItemSpec(MIE, "medical_insurance", (REG,), 1),
    ItemSpec(SSC, "hrss", (MR, MIE), 3),
]


def codes(specs: list[ItemSpec]) -> list[str]:
    return [s.item for s in specs]
