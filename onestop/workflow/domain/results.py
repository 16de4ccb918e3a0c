"""What a department must record when it completes an item (its result, later an e-licence).

Pure data and validation; the workbench form and the API both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ResultField:
    name: str
    label: str
    pattern: str | None = None
    example: str = ""
    required: bool = True


RESULT_FIELDS: Mapping[str, tuple[ResultField, ...]] = {
    "birth_certificate": (
        ResultField("bmc_number", "出生医学证明编号", r"[A-Z]\d{9}", "Q450123456"),
    ),
    "vaccination_certificate": (
        ResultField("certificate_number", "预防接种证编号", r"[0-9A-Za-z-]{4,32}", "YF2026-0001"),
    ),
    "birth_registration": (
        ResultField(
            "hukou_entry", "户口登记（户籍页）编号", r"[0-9A-Za-z-]{4,32}", "HK450703-0001"
        ),
        ResultField("citizen_id_number", "新生儿公民身份号码", r"\d{17}[\dX]", required=False),
    ),
    "medical_insurance_enrolment": (
        ResultField("insurance_number", "医保参保编号", r"[0-9A-Za-z-]{4,32}", "YB4507030001"),
    ),
    "medical_insurance_payment": (
        ResultField("payment_reference", "缴费凭证号", r"[0-9A-Za-z-]{4,40}", "SW2026110001"),
        ResultField("amount_yuan", "缴费金额（元）", r"\d{1,6}(\.\d{1,2})?", "400"),
    ),
    "social_security_card": (
        ResultField("card_number", "社会保障卡卡号", r"[0-9A-Za-z]{6,20}", "A45070312"),
        ResultField("pickup_place", "领卡地点", None, "工商银行钦州分行营业部", required=False),
    ),
    "maternity_reimbursement": (
        ResultField("amount_yuan", "报销金额（元）", r"\d{1,7}(\.\d{1,2})?", "3200.00"),
    ),
    "parenting_guidance": (
        ResultField(
            "visit_arranged", "新生儿访视安排", None, "2026-11-28 上门访视", required=False
        ),
    ),
}


@dataclass(frozen=True)
class ResultProblem:
    field: str
    message: str


def validate_result(
    item: str, data: Mapping[str, object]
) -> tuple[dict[str, str], list[ResultProblem]]:
    """The cleaned result (strings, trimmed; unknown keys dropped) and its problems."""
    cleaned: dict[str, str] = {}
    problems: list[ResultProblem] = []
    for spec in RESULT_FIELDS.get(item, ()):
        raw = data.get(spec.name)
        value = "" if raw is None else str(raw).strip()
        if not value:
            if spec.required:
                problems.append(ResultProblem(spec.name, f"必须填写{spec.label}"))
            continue
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            hint = f"，例如 {spec.example}" if spec.example else ""
            problems.append(ResultProblem(spec.name, f"{spec.label}格式不正确{hint}"))
            continue
        cleaned[spec.name] = value
    return cleaned, problems
