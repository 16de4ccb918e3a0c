"""The schema of the catalogue: every item and department defined once, as validated data.

An item says what it is called (zh/en), which departments may work it, what its
department records when it completes it (the result fields, later an e-licence and its
title), which parts of the case document and which materials its officers may open, what
physical result it hands over and where that is collected, and how it is routed to an
office (a jurisdiction). A department says what it is called, the kind of jurisdiction its
officers and API clients hold, how its items are routed by default and who works it.

Policy packs (``onestop.policy``) choose from the catalogue which items a region offers and
under which rules; every enum, choice list, OpenAPI enum, label and permission about items
and departments is derived from it (docs/adr/0020-one-catalogue-of-items-and-departments.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Cite = Annotated[str, Field(min_length=4)]

# The case document's top-level sections (spec/application.md) an item's officers may see.
Section = Literal[
    "newborns",
    "mother",
    "father",
    "birth_registration",
    "medical_insurance",
    "maternity",
    "social_security_card",
    "delivery",
    "authorization",
    "ethnicity_confirmation",
]
# The fields of the `mother` / `father` sections an item's officers may see.
ParentField = Literal[
    "known",
    "name",
    "id_number",
    "residency",
    "ethnicity",
    "phone",
    "hukou_division",
    "hukou_address",
    "residence_address",
    "employer",
    "marriage_certificate",
    "active_serviceman",
]
# The physical results of `delivery.<result>` in the case document.
DeliveredResult = Literal[
    "birth_certificate", "vaccination_certificate", "household_register", "social_security_card"
]
# How an item is routed to the office that works it (its jurisdiction):
# - birth_hospital: the newborn's birth hospital (kind hospital);
# - police_station: the police station chosen for the birth registration (kind police_station);
# - insurance_division: the division chosen for medical insurance (kind division);
# - hospital_division: the division of the birth hospital (kind division);
# - registering_division: the division of the registering parent's hukou (kind division).
# Where the case lacks what a rule needs, the item goes to the registering division.
Routing = Literal[
    "birth_hospital",
    "police_station",
    "insurance_division",
    "hospital_division",
    "registering_division",
]
ROUTING_KIND: dict[str, str] = {
    "birth_hospital": "hospital",
    "police_station": "police_station",
    "insurance_division": "division",
    "hospital_division": "division",
    "registering_division": "division",
}
JurisdictionKind = Literal["hospital", "police_station", "division"]
# Where the parents collect a physical result:
# - issuing_hospital: the hospital that issued it (else the birth hospital);
# - birth_hospital: the newborn's birth hospital;
# - service_center_or_police_station: the service center where the case was entered at the
#   counter (Jilin prints it there), else the registering police station;
# - bank_branch: the branch the department named in its result, else the chosen bank's;
# - department_window: the working department's window.
PickupPlace = Literal[
    "issuing_hospital",
    "birth_hospital",
    "service_center_or_police_station",
    "bank_branch",
    "department_window",
]
ResultKind = Literal["text", "code", "amount", "id_number", "datetime"]
WorkedBy = Literal["officer", "api_client"]

RESULT_TEXT_MAX = 200


def _both_roles() -> list[WorkedBy]:
    return ["officer", "api_client"]


def _name_only() -> list[ParentField]:
    return ["name"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Name(_Strict):
    """A name in Chinese (shown by default) and in English."""

    zh: Annotated[str, Field(min_length=1, max_length=64)]
    en: Annotated[str, Field(min_length=1, max_length=120)]

    def in_language(self, language: str | None) -> str:
        """The English name for ``en``/``en-…``, else the Chinese one."""
        return self.en if language and language.lower().startswith("en") else self.zh


class ResultField(_Strict):
    """One field a department records when it completes an item."""

    name: Code
    label: Annotated[str, Field(min_length=1, max_length=40)]
    label_en: Annotated[str, Field(min_length=1, max_length=80)]
    kind: ResultKind = "text"
    pattern: str | None = None
    example: str = ""
    required: bool = True
    max_length: Annotated[int, Field(ge=1, le=RESULT_TEXT_MAX)] = RESULT_TEXT_MAX
    public: Literal["full", "masked"] | None = Field(
        default=None,
        description="shown on the sealed e-licence (full or masked); null: payload only",
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"不是有效的正则表达式: {exc}") from None
        return value

    @model_validator(mode="after")
    def _example_fits(self) -> ResultField:
        if self.pattern and self.example and not re.fullmatch(self.pattern, self.example):
            raise ValueError(f"{self.name}: 示例 {self.example!r} 不符合 pattern {self.pattern}")
        if len(self.example) > self.max_length:
            raise ValueError(f"{self.name}: 示例超过 max_length")
        return self

    def label_in(self, language: str | None) -> str:
        return self.label_en if language and language.lower().startswith("en") else self.label


class Delivery(_Strict):
    """The physical result an item hands over, and how it is collected."""

    result: DeliveredResult
    name: Name
    bring: Annotated[str, Field(min_length=2)] = Field(
        description="what the person collecting brings, in Chinese"
    )
    pickup: PickupPlace
    cite: Cite | None = None


class Department(_Strict):
    code: Code
    name: Name
    jurisdiction_kind: JurisdictionKind = Field(
        description="the kind of jurisdiction its officers and API clients hold"
    )
    routing: Routing = Field(description="how its items are routed unless an item says otherwise")
    worked_by: list[WorkedBy] = Field(default_factory=_both_roles)
    cite: Cite | None = None

    @model_validator(mode="after")
    def _routing_fits(self) -> Department:
        if ROUTING_KIND[self.routing] != self.jurisdiction_kind:
            raise ValueError(
                f"部门 {self.code} 的 routing {self.routing} 得到的辖区类型为"
                f" {ROUTING_KIND[self.routing]}，与 jurisdiction_kind {self.jurisdiction_kind} 不符"
            )
        return self


class Material(_Strict):
    code: Code
    name: Name
    cite: Cite | None = None


class Item(_Strict):
    code: Code
    name: Name
    departments: Annotated[list[Code], Field(min_length=1)] = Field(
        description="the departments that may work it; a pack chooses one"
    )
    routing: dict[Code, Routing] = Field(
        default_factory=dict, description="per department, a routing other than its default"
    )
    result_fields: list[ResultField] = Field(default_factory=list)
    elicence_title: Name = Field(description="the title of the e-licence its result becomes")
    per_newborn: bool = Field(
        default=False,
        description="its result is about one child: a case for twins or triplets (多胞胎) "
        "runs it once per newborn, each with its own e-licence (ADR 0036)",
    )
    sections: list[Section] = Field(description="the case document sections its officers see")
    parent_fields: list[ParentField] = Field(
        default_factory=_name_only, description="what its officers see of each parent"
    )
    materials: list[Code] = Field(
        default_factory=list, description="the materials its officers may open"
    )
    delivery: Delivery | None = None
    cite: Cite | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        names = [f.name for f in self.result_fields]
        if len(set(names)) != len(names):
            raise ValueError(f"事项 {self.code} 的结果字段重复")
        for department in self.routing:
            if department not in self.departments:
                raise ValueError(
                    f"事项 {self.code} 的 routing 指定了 {department}，但它不在 departments 中"
                )
        return self


class CatalogueFile(_Strict):
    """One catalogue file: any of its three lists."""

    departments: list[Department] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
