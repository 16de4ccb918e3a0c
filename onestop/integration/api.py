"""The integration API for department systems, versioned under /api/v1/ (django-ninja).

Views stay thin: they authenticate the client, narrow every lookup to what its service
account may see (a task or case outside its department and jurisdiction is 404, exactly
like one that does not exist), call the workflow and case services, and map their errors
to ``{"code": "...", "message": "中文…"}`` with stable codes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Body, NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.params import functions as param
from ninja.responses import Status
from ninja.security import HttpBearer

from onestop.accounts.permissions import cases_visible_to, items_for_officer
from onestop.cases.claims import possible_duplicates
from onestop.cases.models import Case
from onestop.cases.services import (
    DuplicateNewborn,
    IdempotencyConflict,
    OutsideJurisdiction,
    case_submit,
)
from onestop.certificates.models import ELicence
from onestop.common.ratelimit import RateLimited, rate_check
from onestop.core.errors import DocumentRefused, OnestopError, UnreadableDocument
from onestop.departments.selectors import ITEM_MATERIALS, task_view_data
from onestop.integration.models import ApiClient, IdempotentResponse
from onestop.integration.schemas import (
    CASE_DOCUMENT_SCHEMA,
    EXAMPLE_CASE,
    CaseOut,
    ClaimIn,
    ClientOut,
    CompleteIn,
    ErrorOut,
    ReasonsIn,
    SubmissionOut,
    TaskDetailOut,
    TaskListOut,
    TaskOut,
    TimelineOut,
)
from onestop.integration.services import api_client_authenticate, submitted_key
from onestop.workflow.domain.results import RESULT_FIELDS
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import case_outcome_of
from onestop.workflow.services import (
    NotPermitted,
    ResultInvalid,
    TaskConflict,
    item_claim,
    item_complete,
    item_refuse,
    item_return,
)

MAX_ID = 2**63 - 1
KEY_PATTERN = r"^[\x21-\x7e]{1,100}$"
NUMBER_PATTERN = r"^[A-Za-z0-9-]{1,40}$"
IdempotencyHeader = Annotated[
    str | None,
    param.Header(
        None,
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description="重放同一请求时返回第一次的结果，而不是冲突",
    ),
]
TaskId = Annotated[int, param.Path(..., ge=1, le=MAX_ID)]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems
        self.extra = extra


class ClientAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        client = api_client_authenticate(token)
        if client is not None:
            # Issue 8: the API is rate limited per client (credential): 429 + Retry-After.
            rate_check(
                "api", f"client:{client.pk}", message="请求过于频繁，请按 Retry-After 稍后重试"
            )
        return client


api = NinjaAPI(
    title="出生一件事 · 部门系统对接接口 (onestop integration API)",
    version="1",
    description=(
        "部门系统通过本接口提交申请、查询办件、领取和办理任务；新任务和办件变化通过签名回调"
        "（webhook）推送。认证：`Authorization: Bearer <key_id>.<secret>`。错误格式："
        '`{"code": "task_conflict", "message": "中文说明"}`。'
    ),
    urls_namespace="api-v1",
    auth=ClientAuth(),
)

ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


def _error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    problems: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message, **(extra or {})}
    if problems is not None:
        body["problems"] = problems
    return api.create_response(request, body, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error_response(request, exc.status, exc.code, exc.message, exc.problems, exc.extra)


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error_response(request, 429, exc.code, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error_response(
        request,
        401,
        "unauthorized",
        "缺少或无效的接口凭据（Authorization: Bearer <key_id>.<secret>）",
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [
        {
            "field": ".".join(str(p) for p in error.get("loc", ())),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors
    ]
    return _error_response(request, 422, "invalid_request", "请求格式不正确", problems)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad_request", 403: "forbidden", 404: "not_found", 429: "throttled"}.get(
        exc.status_code, "http_error"
    )
    return _error_response(request, exc.status_code, code, str(exc) or "请求无法处理")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error_response(request, 404, "not_found", "不存在或无权访问")


def _client(request: HttpRequest) -> ApiClient:
    client = getattr(request, "auth", None)
    if not isinstance(client, ApiClient):  # pragma: no cover - the auth class ensures it
        raise ApiError(401, "unauthorized", "缺少或无效的接口凭据")
    return client


def _digest(*parts: object) -> str:
    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- who am I ---------------------------------------------------------------------------


@api.get("/me", response={200: ClientOut, **ERRORS}, summary="当前客户端", tags=["clients"])
def me(request: HttpRequest) -> dict[str, Any]:
    client = _client(request)
    return {
        "key_id": client.key_id,
        "name": client.name,
        "department": client.department,
        "jurisdiction": {"kind": client.jurisdiction_kind, "code": client.jurisdiction_code},
        "may_submit_cases": client.may_submit_cases,
        "webhook_url": client.webhook_url,
        "events": list(client.events or []),
    }


# --- cases ------------------------------------------------------------------------------


def _visible_cases(client: ApiClient) -> Any:
    """Cases this client submitted, or with an item in its department and jurisdiction."""
    own = Q(idempotency_key__startswith=submitted_key(client, ""))
    visible = cases_visible_to(client.user, Case.objects.all()).values("pk")
    return Case.objects.filter(own | Q(pk__in=visible))


def _case(client: ApiClient, number: str) -> Case:
    case: Case | None = _visible_cases(client).filter(number=number).first()
    if case is None:
        raise ApiError(404, "not_found", "办件不存在或无权访问")
    return case


def _case_body(client: ApiClient, case: Case) -> dict[str, Any]:
    serials = dict(ELicence.objects.filter(case=case).values_list("item_id", "serial"))
    workable = set(
        items_for_officer(client.user, CaseItem.objects.filter(case=case)).values_list(
            "pk", flat=True
        )
    )
    decision = case.decision or {}
    return {
        "number": case.number,
        "region": case.region,
        "status": case.status,
        "decision": {
            "decision": decision.get("decision", "supplement"),
            "reasons": [
                {
                    "code": r.get("code", ""),
                    "message": r.get("message", ""),
                    "detail": r.get("detail"),
                }
                for r in decision.get("reasons", [])
                if isinstance(r, dict)
            ],
            "plan": decision.get("plan", []),
            "region": decision.get("region", case.region),
            "pack_version": decision.get("pack_version", case.pack_version),
            "warnings": [w for w in decision.get("warnings", []) if isinstance(w, dict)],
        },
        "submitted_at": case.submitted_at,
        "decided_at": case.decided_at,
        "completed_at": case.completed_at,
        "outcome": case_outcome_of(case),
        "items": [
            {
                "item": row.item,
                "department": row.department,
                "state": row.state,
                "version": row.version,
                "received_at": row.received_at,
                "due_at": row.due_at,
                "due_provisional": row.due_provisional,
                "finished_at": row.finished_at,
                "elicence_serial": serials.get(row.pk),
                "task_id": row.pk if row.pk in workable else None,
            }
            for row in CaseItem.objects.filter(case=case).order_by("position")
        ],
    }


@api.post(
    "/cases",
    response={200: SubmissionOut, 201: SubmissionOut, **ERRORS},
    summary="提交申请（一表申报）",
    description=(
        "提交统一申请表，立即返回预审结论。须带 `Idempotency-Key`：同一键同一内容重放返回原办件"
        "（200，created=false），同一键不同内容返回 409 `idempotency_key_reused`。"
        "只有可提交申请的客户端（助产机构系统）可用，且只能提交本机构出生的新生儿的申请"
        "（出生医疗机构留空时按本机构填写；其他机构或本机构不在该地区服务范围内：403 "
        "`outside_jurisdiction`）。同一新生儿（医疗机构+分娩记录号，或母亲身份证号+出生时间）"
        "已有有效办件时返回 409 `duplicate_newborn`，`existing_case` 为已有办件编号"
        "（无权查看时打码）。"
    ),
    tags=["cases"],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": CASE_DOCUMENT_SCHEMA, "example": EXAMPLE_CASE}
            }
        }
    },
)
def case_create(
    request: HttpRequest,
    response: HttpResponse,
    document: Body[dict[str, Any]],
    idempotency_key: Annotated[
        str, param.Header(..., alias="Idempotency-Key", pattern=KEY_PATTERN)
    ],
) -> Status[dict[str, Any]]:
    client = _client(request)
    if not client.may_submit_cases:
        raise ApiError(403, "forbidden", "本客户端无权提交申请")
    try:
        submission = case_submit(
            document=document,
            actor=None,
            idempotency_key=submitted_key(client, idempotency_key),
            filer=client.user,  # issue 8, defect 7: only cases its institution serves
        )
    except DocumentRefused as exc:
        # The document's limits and storable text (ADR 0016), checked by case_submit before
        # anything reads it: 422 with the limit's code and the field's path.
        problems = [{"field": exc.path, "message": exc.message, "code": exc.code}]
        raise ApiError(422, exc.code, exc.message, problems if exc.path else None) from None
    except UnreadableDocument as exc:
        raise ApiError(422, exc.code, exc.message) from None
    except IdempotencyConflict as exc:
        raise ApiError(409, exc.code, exc.message) from None
    except DuplicateNewborn as exc:
        raise ApiError(409, exc.code, exc.message, extra={"existing_case": exc.existing}) from None
    except OutsideJurisdiction as exc:
        raise ApiError(403, exc.code, exc.message) from None
    except OnestopError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    body = {**_case_body(client, submission.case), "created": submission.created}
    if not submission.created:
        response["Idempotent-Replayed"] = "true"
    return Status(201 if submission.created else 200, body)


@api.get(
    "/cases/{number}",
    response={200: CaseOut, **ERRORS},
    summary="办件状态",
    description="办件状态、预审结论和各事项的状态与期限（不含个人信息）。",
    tags=["cases"],
)
def case_detail(
    request: HttpRequest, number: Annotated[str, param.Path(..., pattern=NUMBER_PATTERN)]
) -> dict[str, Any]:
    client = _client(request)
    return _case_body(client, _case(client, number))


@api.get(
    "/cases/{number}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="办件进程",
    tags=["cases"],
)
def case_timeline(
    request: HttpRequest, number: Annotated[str, param.Path(..., pattern=NUMBER_PATTERN)]
) -> dict[str, Any]:
    client = _client(request)
    case = _case(client, number)
    return {
        "number": case.number,
        "entries": [
            {"at": e.at, "kind": e.kind, "item": e.item, "message": e.message}
            for e in case.timeline.order_by("at", "pk")
        ],
    }


# --- tasks ------------------------------------------------------------------------------

STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "ready": (ItemState.READY,),
    "in_progress": (ItemState.IN_PROGRESS,),
    "returned": (ItemState.RETURNED,),
    "open": (ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED),
    "done": (ItemState.DONE,),
}


def _tasks(client: ApiClient) -> Any:
    return items_for_officer(client.user, CaseItem.objects.select_related("case"))


def _task(client: ApiClient, task_id: int) -> CaseItem:
    row: CaseItem | None = _tasks(client).filter(pk=task_id).first()
    if row is None:
        raise ApiError(404, "not_found", "任务不存在或无权访问")
    return row


def _task_body(client: ApiClient, row: CaseItem) -> dict[str, Any]:
    serial = (
        ELicence.objects.filter(item_id=row.pk).values_list("serial", flat=True).first()
        if row.state == ItemState.DONE
        else None
    )
    return {
        "id": row.pk,
        "case_number": row.case.number,
        "region": row.case.region,
        "item": row.item,
        "department": row.department,
        "jurisdiction": {"kind": row.jurisdiction_kind, "code": row.jurisdiction_code},
        "state": row.state,
        "version": row.version,
        "received_at": row.received_at,
        "due_at": row.due_at,
        "due_provisional": row.due_provisional,
        "claimed_by_me": row.claimed_by_id == client.user_id,
        "elicence_serial": serial,
    }


@api.get(
    "/tasks",
    response={200: TaskListOut, **ERRORS},
    summary="任务列表",
    description="本客户端部门和辖区的任务（默认待办理的），按编号分页。",
    tags=["tasks"],
)
def task_list(
    request: HttpRequest,
    state: Literal["ready", "in_progress", "returned", "open", "done"] = "ready",
    limit: Annotated[int, param.Query(50, ge=1, le=200)] = 50,
    after: Annotated[int, param.Query(0, ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    client = _client(request)
    rows = list(
        _tasks(client)
        .filter(state__in=STATE_FILTERS[state], pk__gt=after)
        .order_by("pk")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "tasks": [_task_body(client, row) for row in rows],
        "next_after": rows[-1].pk if more and rows else None,
    }


@api.get(
    "/tasks/{task_id}",
    response={200: TaskDetailOut, **ERRORS},
    summary="任务详情",
    description="本事项需要的申请表字段、材料、结果字段要求，以及前置事项的电子证照。",
    tags=["tasks"],
)
def task_detail(request: HttpRequest, task_id: TaskId) -> dict[str, Any]:
    client = _client(request)
    row = _task(client, task_id)
    prior = ELicence.objects.filter(case=row.case, kind__in=list(row.after)).order_by("issued_at")
    declared = set(row.case.materials.values_list("code", flat=True))
    return {
        **_task_body(client, row),
        "after": list(row.after),
        "data": task_view_data(row),
        "materials": [m for m in ITEM_MATERIALS.get(row.item, ()) if m in declared],
        "result_fields": [
            {
                "name": f.name,
                "label": f.label,
                "pattern": f.pattern,
                "example": f.example,
                "required": f.required,
                "kind": f.kind,
                "max_length": f.max_length,
            }
            for f in RESULT_FIELDS.get(row.item, ())
        ],
        "prior_elicences": [
            {
                "serial": e.serial,
                "kind": e.kind,
                "issuer_code": e.issuer_code,
                "issuer_name": e.issuer_name,
                "issued_at": e.issued_at,
                "result": (e.payload or {}).get("result", {}),
            }
            for e in prior
        ],
        "result": row.result if row.state == ItemState.DONE else None,
        "reasons": list(row.reasons or []),
        "possible_duplicates": len(possible_duplicates(row.case)),
    }


def _act(
    request: HttpRequest,
    response: HttpResponse,
    client: ApiClient,
    task_id: int,
    key: str | None,
    payload: dict[str, Any],
    action: Callable[[CaseItem], CaseItem],
) -> Status[dict[str, Any]]:
    """Run one task action; with an Idempotency-Key, a replay returns the first answer."""
    digest = _digest(request.method, request.path, payload)
    if key:
        replay = _replayed(client, key, digest)
        if replay is not None:
            response["Idempotent-Replayed"] = "true"
            return replay
    row = _task(client, task_id)
    try:
        with transaction.atomic():
            done = action(row)
            done.refresh_from_db()
            body = _task_body(client, CaseItem.objects.select_related("case").get(pk=done.pk))
            if key:
                IdempotentResponse.objects.create(
                    client=client,
                    key=key,
                    request_digest=digest,
                    status_code=200,
                    body=json.loads(json.dumps(body, default=str)),
                    created_at=timezone.now(),
                )
    except (TaskConflict, IntegrityError) as exc:
        # A concurrent request with the same key may have won: answer as its replay.
        if key:
            replay = _replayed(client, key, digest)
            if replay is not None:
                response["Idempotent-Replayed"] = "true"
                return replay
        if isinstance(exc, TaskConflict):
            raise ApiError(409, exc.code, exc.message) from None
        raise
    except NotPermitted:
        raise ApiError(404, "not_found", "任务不存在或无权访问") from None
    except ResultInvalid as exc:
        problems = [{"field": p.field, "message": p.message, "code": p.code} for p in exc.problems]
        raise ApiError(422, exc.code, exc.message, problems) from None
    except DuplicateNewborn as exc:  # the same newborn's result was issued in another case
        raise ApiError(409, exc.code, exc.message, extra={"existing_case": exc.existing}) from None
    except OnestopError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    return Status(200, body)


def _replayed(client: ApiClient, key: str, digest: str) -> Status[dict[str, Any]] | None:
    stored = IdempotentResponse.objects.filter(client=client, key=key).first()
    if stored is None:
        return None
    if stored.request_digest != digest:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "该幂等键（Idempotency-Key）已用于另一个不同的请求，请使用新的键",
        )
    return Status(stored.status_code, dict(stored.body))


@api.post(
    "/tasks/{task_id}/claim",
    response={200: TaskOut, **ERRORS},
    summary="领取任务",
    tags=["tasks"],
)
def task_claim(
    request: HttpRequest,
    response: HttpResponse,
    task_id: TaskId,
    payload: Body[ClaimIn | None] = None,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    data = payload or ClaimIn(expected_version=None)
    return _act(
        request,
        response,
        client,
        task_id,
        idempotency_key,
        data.model_dump(),
        lambda row: item_claim(
            item_id=row.pk, actor=client.user, expected_version=data.expected_version
        ),
    )


@api.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, **ERRORS},
    summary="办结任务（提交办理结果，生成电子证照）",
    tags=["tasks"],
)
def task_complete(
    request: HttpRequest,
    response: HttpResponse,
    payload: CompleteIn,
    task_id: TaskId,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    result = {k: v for k, v in payload.result.items() if v is not None}
    return _act(
        request,
        response,
        client,
        task_id,
        idempotency_key,
        payload.model_dump(),
        lambda row: item_complete(
            item_id=row.pk,
            actor=client.user,
            result=result,
            expected_version=payload.expected_version,
        ),
    )


@api.post(
    "/tasks/{task_id}/return",
    response={200: TaskOut, **ERRORS},
    summary="退回补正",
    tags=["tasks"],
)
def task_return(
    request: HttpRequest,
    response: HttpResponse,
    payload: ReasonsIn,
    task_id: TaskId,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    return _act(
        request,
        response,
        client,
        task_id,
        idempotency_key,
        payload.model_dump(),
        lambda row: item_return(
            item_id=row.pk,
            actor=client.user,
            reasons=payload.reasons,
            expected_version=payload.expected_version,
        ),
    )


@api.post(
    "/tasks/{task_id}/refuse",
    response={200: TaskOut, **ERRORS},
    summary="不予办理",
    tags=["tasks"],
)
def task_refuse(
    request: HttpRequest,
    response: HttpResponse,
    payload: ReasonsIn,
    task_id: TaskId,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    return _act(
        request,
        response,
        client,
        task_id,
        idempotency_key,
        payload.model_dump(),
        lambda row: item_refuse(
            item_id=row.pk,
            actor=client.user,
            reasons=payload.reasons,
            expected_version=payload.expected_version,
        ),
    )
