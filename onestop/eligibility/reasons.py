"""Pre-review reason codes (`spec/decisions.md`): stable English codes, Chinese messages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from onestop.catalogue.names import DEPARTMENT_NAMES, ITEM_NAMES, MATERIAL_NAMES


class Outcome(StrEnum):
    ACCEPT = "accept"
    SUPPLEMENT = "supplement"
    REJECT = "reject"


ReasonClass = Literal["reject", "supplement"]


@dataclass(frozen=True)
class ReasonKind:
    code: str
    decision: ReasonClass
    message: str  # Chinese; may contain {placeholders} filled by the rule
    title_en: str


@dataclass(frozen=True)
class Reason:
    code: str
    decision: ReasonClass
    message: str
    detail: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


_KINDS = (
    ReasonKind(
        "invalid_id_number",
        "reject",
        "{who}的身份证号码无效：{why}",
        "a parent's resident ID number fails GB 11643",
    ),
    ReasonKind(
        "birth_in_future",
        "reject",
        "新生儿出生时间（{born}）晚于申请时间，请核对出生时间",
        "the birth time is after the submission time",
    ),
    ReasonKind(
        "outside_age_window",
        "reject",
        "新生儿出生于{born}，已超过“{window}”的办理期限，请通过原渠道分别办理",
        "the newborn is older than the pack's window",
    ),
    ReasonKind(
        "born_outside_region",
        "reject",
        "新生儿出生的医疗机构（{hospital}）不是{scope}具备助产资质的医疗机构，不在本地“出生一件事”受理范围内",
        "the hospital is not a qualified midwifery hospital of the region",
    ),
    ReasonKind(
        "not_in_hospital_birth",
        "reject",
        "本地“出生一件事”只受理在助产机构内住院分娩的新生儿",
        "born outside a hospital",
    ),
    ReasonKind(
        "non_marital_birth",
        "reject",
        "本地“出生一件事”只受理婚内生育的新生儿（需父母结婚证）",
        "parents not married to each other",
    ),
    ReasonKind(
        "single_or_divorced_parent",
        "reject",
        "父母离异或单亲的情形，暂不纳入本地“出生一件事”受理范围",
        "one parent only, or parents divorced",
    ),
    ReasonKind(
        "mother_unknown",
        "reject",
        "母亲身份不明的情形，不能通过“出生一件事”办理",
        "mother's identity unknown",
    ),
    ReasonKind(
        "foreign_parent",
        "reject",
        "{who}为{residency}，暂不纳入本地“出生一件事”受理范围",
        "a parent is not a mainland Chinese citizen as the pack requires",
    ),
    ReasonKind(
        "no_local_hukou",
        "reject",
        "{who}的户籍不在{scope}，不符合本地“出生一件事”的落户条件",
        "the required parent's hukou is not in the region",
    ),
    ReasonKind(
        "newborn_unnamed",
        "reject",
        "新生儿尚未取名，暂不纳入本地“出生一件事”受理范围，取名后可再申请",
        "the newborn has no name yet",
    ),
    ReasonKind(
        "wrong_applicant",
        "reject",
        "本地“出生一件事”须由{admitted}申请，当前申请人身份为{role}",
        "the applicant is not someone the pack admits",
    ),
    ReasonKind(
        "ssc_already_applied",
        "reject",
        "新生儿已在其他渠道或省市申领社会保障卡，不能通过“出生一件事”再次申领",
        "a social security card was already applied for elsewhere",
    ),
    ReasonKind(
        "bmc_missing",
        "reject",
        "尚未取得《出生医学证明》，请先到助产机构办理，再申请“出生一件事”",
        "the pack needs an issued BMC first and there is none",
    ),
    ReasonKind(
        "collective_hukou_not_supported",
        "reject",
        "选择的落户户口类型（{hukou_type}）不在本地“出生一件事”受理范围，请到公安派出所办理",
        "the chosen hukou type is not supported",
    ),
    ReasonKind(
        "missing_material",
        "supplement",
        "缺少申请材料：{material}",
        "a required material is absent",
    ),
    ReasonKind(
        "ethnicity_confirmation_missing",
        "supplement",
        "父母民族不同，需父母双方签名确认新生儿的民族（《确认民族成份申请书》）",
        "parents' ethnic groups differ and the confirmation is not signed by both",
    ),
    ReasonKind(
        "authorization_missing",
        "supplement",
        "{why}",
        "a trustee applies without a valid authorization for these items and dates",
    ),
    ReasonKind(
        "field_invalid",
        "supplement",
        "{text}",
        "a field is malformed",
    ),
)

REASON_KINDS: dict[str, ReasonKind] = {kind.code: kind for kind in _KINDS}

# Item, material and department names come from the catalogue (onestop/catalogue/data).
__all__ = ["DEPARTMENT_NAMES", "ITEM_NAMES", "MATERIAL_NAMES"]

ROLE_NAMES: dict[str, str] = {
    "mother": "新生儿母亲",
    "father": "新生儿父亲",
    "grandparent": "祖父母或外祖父母",
    "trustee": "受托人",
}

SIDE_NAMES: dict[str, str] = {"mother": "母亲", "father": "父亲", "applicant": "申请人"}

RESIDENCY_NAMES: dict[str, str] = {
    "mainland": "内地居民",
    "hong_kong": "香港居民",
    "macao": "澳门居民",
    "taiwan": "台湾居民",
    "overseas_chinese": "华侨",
    "foreign": "外国人",
}

HUKOU_TYPE_NAMES: dict[str, str] = {
    "family": "家庭户",
    "community_collective": "社区集体户",
    "student_collective": "学生集体户",
    "unit_collective": "单位集体户",
}


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def make_reason(
    code: str,
    *,
    detail: str | None = None,
    kinds: dict[str, ReasonKind] | None = None,
    message: str | None = None,
    **fields: str,
) -> Reason:
    """A reason of a known kind, its Chinese message filled from ``fields``."""
    kind = (kinds or REASON_KINDS)[code]
    template = message if message is not None else kind.message
    return Reason(code, kind.decision, template.format_map(_Defaults(fields)), detail)
