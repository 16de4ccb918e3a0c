"""Request and response shapes of the integration API (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, field_validator

from onestop.catalogue.loader import catalogue
from onestop.core.batches import TASK_BATCH_MAX
from onestop.core.text import text_problem
from onestop.policy.loader import default_packs
from onestop.workflow.domain.results import RESULT_KEYS_MAX

EXAMPLE_CASE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "qinbei-accept.json").read_text(
        encoding="utf-8"
    )
)

# The item codes of the catalogue (onestop/catalogue/data), as loaded when the process
# started (the data folders are configured before it starts).
ITEMS = list(catalogue().items)


def _item_enum(schema: dict[str, Any]) -> None:
    """The OpenAPI enum of an item code: the catalogue's items, read when the schema is made."""
    schema["enum"] = list(catalogue().items)


def _department_enum(schema: dict[str, Any]) -> None:
    """The OpenAPI enum of a department code: the catalogue's departments."""
    schema["enum"] = list(catalogue().departments)


_PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "id_number": {"type": "string"},
        "phone": {"type": "string"},
        "residency": {
            "type": "string",
            "enum": ["mainland", "hong_kong", "macao", "taiwan", "overseas_chinese", "foreign"],
        },
        "ethnicity": {"type": "string"},
        "hukou_division": {"type": "string"},
        "known": {"type": "boolean"},
    },
}
# The case document (docs/spec/application.md) as far as a generator of examples needs it:
# the server accepts any JSON object and reports what is missing or wrong as pre-review
# reasons (a "supplement" or "reject" decision), or 422 `unreadable_document`.
CASE_DOCUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "统一申请表（一表申报）JSON，见 docs/spec/application.md",
    "required": ["region"],
    "properties": {
        "region": {"type": "string", "enum": list(default_packs().regions)},
        "channel": {"type": "string", "enum": ["online", "counter"]},
        "submitted_at": {"type": "string", "format": "date-time"},
        "applicant": {
            "type": "object",
            "properties": {
                "role": {"type": "string", "enum": ["mother", "father", "grandparent", "trustee"]},
                "name": {"type": "string"},
                "phone": {"type": "string"},
            },
        },
        "items": {"type": "array", "items": {"type": "string", "enum": ITEMS}},
        "marital_status": {
            "type": "string",
            "enum": ["married", "unmarried", "divorced", "single"],
        },
        "newborns": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "sex": {"type": "string", "enum": ["0", "1", "2", "9"]},
                    "born_at": {"type": "string", "format": "date-time"},
                    "hospital": {"type": "string"},
                    "gestational_weeks": {"type": "integer"},
                    "weight_g": {"type": "integer"},
                },
            },
        },
        "mother": _PERSON,
        "father": _PERSON,
        "birth_registration": {
            "type": "object",
            "properties": {
                "follows": {"type": "string", "enum": ["father", "mother"]},
                "police_station": {"type": "string"},
                "hukou_type": {"type": "string"},
            },
        },
        "materials": {"type": "array", "items": {"type": "string"}},
    },
    "example": EXAMPLE_CASE,
}


class InSchema(BaseModel):
    """A request body's shape: pydantic's model with ninja's `Schema`'s configuration, unknown
    fields refused (ADR 0016), validated once. Ninja's `Schema` validates a model that refuses
    unknown fields twice (the input, then the input wrapped in its `DjangoGetter` for Django
    objects' attributes) and so a batch's entries four times (issue 10, session 30: ~a tenth
    of a batch's framework calls); a body is a dict parsed from JSON, never a Django object.
    The same errors, values and OpenAPI schema (`test_request_bodies`)."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")


class ErrorOut(Schema):
    code: str = Field(description="稳定的英文错误代码，如 task_conflict")
    message: str = Field(description="中文说明")
    problems: list[dict[str, Any]] | None = None


class JurisdictionOut(Schema):
    kind: str
    code: str


class ClientOut(Schema):
    key_id: str
    name: str
    department: str = Field(json_schema_extra=_department_enum)
    jurisdiction: JurisdictionOut
    may_submit_cases: bool
    webhook_url: str
    events: list[str]


class ReasonOut(Schema):
    code: str
    message: str
    detail: str | None = None


class DecisionOut(Schema):
    decision: Literal["accept", "supplement", "reject"]
    reasons: list[ReasonOut]
    plan: list[dict[str, Any]]
    region: str
    pack_version: str
    warnings: list[ReasonOut] = Field(
        default_factory=list,
        description="未识别、已忽略（不保存）的字段：code=unknown_field，detail 为字段路径",
    )


class CaseItemOut(Schema):
    item: str = Field(json_schema_extra=_item_enum)
    department: str = Field(json_schema_extra=_department_enum)
    state: str
    version: int
    received_at: datetime | None
    due_at: datetime | None
    due_provisional: bool = Field(
        False,
        description="true：办理期限超出工作日历，暂按双休日计算；管理员发布该年度节假日安排后自动重新计算",
    )
    awaiting_confirmation: Literal["father", "mother", "preview"] | None = Field(
        None,
        description="父母双方签字：该事项等待父亲（father）或母亲（mother）通过短信链接确认，"
        "确认前不推送部门办理（state 为 waiting）；不同意或逾期未确认则不予办理。"
        "preview：等待申请人核对预览并电子签名（福州），确认前不推送助产机构；"
        "申请人指出信息有误则不予办理（转线下）",
    )
    finished_at: datetime | None
    elicence_serial: str | None = None
    task_id: int | None = Field(None, description="本客户端可办理时给出")


class CaseOut(Schema):
    number: str
    region: str
    status: str
    decision: DecisionOut
    submitted_at: datetime
    decided_at: datetime
    completed_at: datetime | None
    outcome: Literal["done", "partly_refused", "refused"] | None = Field(
        None,
        description=(
            "办结结果（status 为 completed 时）：done 全部办结；partly_refused 部分事项不予办理"
            "或取消；refused 全部事项不予办理或取消。未办结时为 null"
        ),
    )
    items: list[CaseItemOut]


class SubmissionOut(CaseOut):
    created: bool = Field(description="false：同一 Idempotency-Key 的重放，返回原办件")


class TimelineEntryOut(Schema):
    at: datetime
    kind: str
    item: str
    message: str


class TimelineOut(Schema):
    number: str
    entries: list[TimelineEntryOut]


class TaskOut(Schema):
    id: int
    case_number: str
    region: str
    item: str = Field(json_schema_extra=_item_enum)
    department: str = Field(json_schema_extra=_department_enum)
    jurisdiction: JurisdictionOut
    state: str
    version: int
    received_at: datetime | None
    due_at: datetime | None
    due_provisional: bool = Field(
        False,
        description="true：办理期限超出工作日历，暂按双休日计算；管理员发布该年度节假日安排后自动重新计算",
    )
    claimed_by_me: bool
    elicence_serial: str | None = None
    newborn: str = Field(
        "",
        description="多胞胎：本事项所对应的新生儿（如“第二个孩子”），每个新生儿各有一套事项和电子证照；"
        "单胎或整个办件的事项（如生育医疗费用报销）为空",
    )


class TaskListOut(Schema):
    tasks: list[TaskOut]
    next_after: int | None = Field(None, description="下一页：作为 after 参数")


class ResultFieldOut(Schema):
    name: str
    label: str
    pattern: str | None
    example: str
    required: bool
    kind: str = Field(
        "text", description="text | code | amount | id_number（按 GB 11643 校验的公民身份号码）"
    )
    max_length: int = Field(200, description="最多字符数")


class ELicenceOut(Schema):
    serial: str
    kind: str
    issuer_code: str
    issuer_name: str
    issued_at: datetime
    result: dict[str, Any]


class PaymentDueOut(Schema):
    year: int
    amount_yuan: str | None = Field(description="应缴金额（元）；未设定缴费标准时为 null")
    deadline: datetime | None
    status: str = Field(description="unpaid / paid / overdue / cancelled")
    notified_at: datetime


class SignedDocumentOut(Schema):
    kind: str = Field(
        description="birth_certificate / bmc_first_issue_register / household_registration_form"
    )
    title: str
    rows: list[list[str]] = Field(description="[标签, 内容]，按纸质表格顺序，名称而非代码")


class SignedPreviewOut(Schema):
    valid: bool = Field(description="平台签章有效且签署内容摘要一致")
    signed_at: datetime | None
    signer_role: str
    method: str
    digest: str = Field(description="三份预览内容的 SM3 摘要")
    key_id: str
    algorithm: str
    documents: list[SignedDocumentOut] = Field(
        default_factory=list,
        description="申请人签字确认的文书：助产机构事项为《出生医学证明》和首次签发登记表，"
        "派出所事项为《常住人口登记表》",
    )


class CardOut(Schema):
    status: str = Field(
        description="applied（已申领）/ in_production（制卡中）/ made（已制卡）/ "
        "at_branch（已送达网点）/ mailed（已寄出）/ cancelled"
    )
    status_label: str
    bank: str = Field(description="银行代码（社会保障卡合作银行）")
    branch_code: str = Field(description="领卡网点代码（参考数据）；按文字填写的网点为空")
    branch_name: str
    method: str = Field(description="pickup（到网点领取）/ mail（邮寄）")
    history: list[dict[str, str]]


class CardStatusIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    status: Literal["in_production", "made", "at_branch", "mailed"] = Field(
        description="制卡中 / 已制卡 / 已送达网点（办结）/ 已寄出（办结，申请人选择邮寄时）"
    )
    card_number: str | None = Field(
        None, max_length=20, description="社会保障卡卡号：报告 at_branch 或 mailed 时必填"
    )
    expected_version: int | None = Field(None, ge=1, le=2_000_000_000)


class TaskDetailOut(TaskOut):
    after: list[str]
    data: dict[str, Any] = Field(description="本事项所需的申请表字段（最小必要）")
    materials: list[str]
    result_fields: list[ResultFieldOut]
    prior_elicences: list[ELicenceOut]
    signed_preview: SignedPreviewOut | None = Field(
        None,
        description="福州：申请人对《出生医学证明》等预览的电子签名记录及签字确认的文书"
        "（助产机构、派出所事项）",
    )
    result: dict[str, Any] | None = None
    reasons: list[str]
    notes: list[str] = Field(
        default_factory=list,
        description="办理说明：如特殊情形落户（学生集体户口、现役军人）转至另一方家庭户口所在地"
        "派出所办理的原因",
    )
    possible_duplicates: int = Field(
        0,
        description="可能是同一新生儿的其他有效办件数（同一母亲且出生时间相差48小时内，"
        "或同一分娩记录）；签发前请核实",
    )
    payment: PaymentDueOut | None = Field(
        None, description="医保缴费任务：缴费通知的应缴金额和期限（确认缴费时金额须一致）"
    )
    card: CardOut | None = Field(
        None, description="社会保障卡申领任务：所选银行和领卡网点、领取方式、制卡状态"
    )


def _storable(text: str) -> str:
    """Text a database column can hold: no NUL, no lone surrogates, no control characters."""
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


class ClaimIn(InSchema):
    model_config = ConfigDict(extra="forbid")  # unknown fields are refused (ADR 0016)

    expected_version: int | None = Field(None, ge=1, le=2_000_000_000)


class CompleteIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    result: dict[str, str | int | float | None] = Field(
        default_factory=dict, description="按 result_fields 填写的办理结果"
    )
    expected_version: int | None = Field(None, ge=1, le=2_000_000_000)

    @field_validator("result")
    @classmethod
    def _result_storable(
        cls, value: dict[str, str | int | float | None]
    ) -> dict[str, str | int | float | None]:
        if len(value) > RESULT_KEYS_MAX:
            raise ValueError(f"办理结果最多{RESULT_KEYS_MAX}个字段")
        for key, item in value.items():
            _storable(key)
            if isinstance(item, str):
                _storable(item)
        return value


# Issue 10, ADR 0024 amendment (session 26): several tasks claimed or completed in one
# request. The list's limits are checked by the view (422 with a stable code of its own).
BATCH_MAX = TASK_BATCH_MAX


class ClaimsTaskIn(ClaimIn):
    id: int = Field(ge=1, le=2**63 - 1, description="任务编号")


class ClaimsIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    tasks: list[ClaimsTaskIn] = Field(
        min_length=1,
        max_length=BATCH_MAX,  # checked before the entries (a huge list is not validated)
        description=f"要领取的任务（1～{BATCH_MAX}个，编号不得重复），每个同单个领取的请求体加 id",
    )


class CompletionsTaskIn(CompleteIn):
    id: int = Field(ge=1, le=2**63 - 1, description="任务编号")


class CompletionsIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    tasks: list[CompletionsTaskIn] = Field(
        min_length=1,
        max_length=BATCH_MAX,  # checked before the entries (a huge list is not validated)
        description=f"要办结的任务（1～{BATCH_MAX}个，编号不得重复），每个同单个办结的请求体加 id",
    )


class TaskResultOut(Schema):
    id: int
    status: int = Field(description="该任务单独调用时的 HTTP 状态码：200、404、409、422")
    body: dict[str, Any] = Field(
        description="该任务单独调用时的应答：200 时为任务（领取：任务详情 TaskDetailOut；"
        "办结：TaskOut），否则为错误（ErrorOut：code、message、problems）"
    )


class TaskResultsOut(Schema):
    results: list[TaskResultOut] = Field(description="每个任务一项，顺序同请求")


class ReasonsIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    reasons: list[str] = Field(min_length=1, max_length=20)
    expected_version: int | None = Field(None, ge=1, le=2_000_000_000)

    @field_validator("reasons")
    @classmethod
    def _reasons_storable(cls, value: list[str]) -> list[str]:
        for reason in value:
            _storable(reason)
            if len(reason) > 500:
                raise ValueError("每条原因不超过500字")
        return value


# --- proactive start: a hospital records a delivery (ADR 0033) -------------------------


class DeliveryMotherIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, description="母亲姓名")
    id_number: str = Field(min_length=15, max_length=18, description="母亲居民身份证号码")
    phone: str = Field(min_length=11, max_length=16, description="母亲手机号码（接收邀请短信）")

    @field_validator("name")
    @classmethod
    def _name_storable(cls, value: str) -> str:
        _storable(value)
        return value.strip()


class DeliveryNewbornIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    born_at: datetime = Field(description="出生时间（带时区）")
    sex: Literal["1", "2", "9"] = Field(description="性别（GB/T 2261.1）")
    weight_g: int | None = Field(None, ge=300, le=8000)
    length_cm: int | None = Field(None, ge=20, le=70)
    gestational_weeks: int | None = Field(None, ge=20, le=45)
    birth_attendant: str | None = Field(None, max_length=40, description="接生人员")
    blood_type: Literal["A", "B", "O", "AB", "unknown"] | None = None
    in_hospital: bool = True

    @field_validator("birth_attendant")
    @classmethod
    def _attendant_storable(cls, value: str | None) -> str | None:
        if value is not None:
            _storable(value)
        return value


class DeliveryIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    hospital: str | None = Field(None, max_length=32, description="出生医疗机构（留空为本机构）")
    record_number: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 -]+$", description="住院病历号"
    )
    mother: DeliveryMotherIn
    newborn: DeliveryNewbornIn


class InvitationOut(Schema):
    status: Literal["invited", "not_invited"] = Field(
        description="invited：本次已准备草稿并短信邀请母亲；not_invited：本次未邀请（见 reason）"
    )
    reason: str | None = Field(
        None,
        description=(
            "未邀请的原因：already_invited（该记录已邀请过）、no_online_channel（该地区不受理"
            "网上申请）、case_exists（新生儿已有申请）、phone_not_parent、hospital_not_in_region"
        ),
    )
    message: str
    region: str | None = None
    state: str | None = Field(None, description="邀请的状态：invited / submitted / expired …")
    expires_at: datetime | None = None


class DeliveryOut(Schema):
    hospital: str
    record_number: str
    created: bool = Field(description="是否新建的分娩记录（false：已有记录，已更新）")
    invitation: InvitationOut


# --- corrections (更正, ADR 0042) -----------------------------------------------------------


class CorrectionOut(Schema):
    id: int
    case_number: str
    task_id: int = Field(description="被更正结果所属的任务（事项）")
    item: str
    field: str = Field(description="更正的结果字段（目录 result_fields 的 name）")
    field_label: str
    old_value: str = Field(description="原内容（个人信息，仅签发部门可见）")
    new_value: str = Field(description="更正为")
    reason: str
    requested_by: Literal["parent", "officer"]
    requested_at: datetime
    state: Literal["open", "approved", "refused"]
    decided_at: datetime | None = None
    refusal_reason: str | None = None
    elicence: str = Field(description="申请更正时有效的电子证照编号")
    corrected_elicence: str | None = Field(None, description="更正后签发的电子证照编号")


class CorrectionListOut(Schema):
    corrections: list[CorrectionOut]
    next_after: int | None = Field(None, description="下一页：作为 after 参数")


class CorrectionRefuseIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason_storable(cls, value: str) -> str:
        return _storable(value)
