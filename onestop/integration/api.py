"""The integration API for department systems, versioned under /api/v1/ (django-ninja).

Views stay thin: they authenticate the client, read through the selectors
(`onestop.integration.selectors`, which narrow every lookup to what its service account may
see: a task or case outside its department and jurisdiction is 404, exactly like one that
does not exist), write through the workflow and case services under the one idempotency
service (`onestop.integration.idempotency`), and map errors to
``{"code": "...", "message": "中文…"}`` with stable codes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Annotated, Any, Literal

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja import Body, NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.params import functions as param
from ninja.responses import NinjaJSONEncoder, Status
from ninja.security import HttpBearer

from onestop.accounts.models import JurisdictionKind
from onestop.accounts.services import OtpError, normalise_phone
from onestop.audit.services import audit_held
from onestop.cases.models import Case
from onestop.cases.services import (
    DuplicateNewborn,
    OutsideJurisdiction,
    body_digest,
    case_submit,
    cases_locked,
)
from onestop.common.compiled import CompiledFirst
from onestop.common.ratelimit import (
    COUNTED,
    RateLimited,
    counter_columns,
    rate_allowance,
    rate_count,
    rate_count_sql,
    rate_peek,
    rate_peeks_database,
    rate_uses,
)
from onestop.common.reuse import reusing
from onestop.common.savepoints import savepoints_are_off, savepoints_off
from onestop.core.clock import format_time
from onestop.core.errors import DocumentRefused, OnestopError, UnreadableDocument
from onestop.core.events import effects
from onestop.corrections.models import Correction
from onestop.corrections.selectors import correction_for_officer, corrections_for_officer
from onestop.corrections.services import (
    CorrectionConflict,
    CorrectionInvalid,
    CorrectionNotPermitted,
    CorrectionSamePerson,
    correction_approve,
    correction_decision_refused,
    correction_refuse,
)
from onestop.integration import selectors
from onestop.integration.idempotency import (
    Answer,
    IdempotencyConflict,
    WithAnswer,
    answer_column,
    answer_seen,
    idempotent,
    request_digest,
)
from onestop.integration.models import ApiClient
from onestop.integration.schemas import (
    BATCH_MAX,
    CASE_DOCUMENT_SCHEMA,
    EXAMPLE_CASE,
    CardOut,
    CardStatusIn,
    CaseOut,
    ClaimIn,
    ClaimsIn,
    ClientOut,
    CompleteIn,
    CompletionsIn,
    CorrectionListOut,
    CorrectionOut,
    CorrectionRefuseIn,
    DeliveryIn,
    DeliveryOut,
    ErrorOut,
    PaymentDueOut,
    ReasonsIn,
    SignedPreviewOut,
    SubmissionOut,
    TaskDetailOut,
    TaskListOut,
    TaskOut,
    TaskResultsOut,
    TimelineOut,
)
from onestop.integration.selectors import case_for_client, case_status, task_for_client
from onestop.integration.services import (
    KEY_ID_STAND_IN,
    WEBHOOK_STAMP,
    api_client_authenticate,
    client_by_key,
    submitted_key,
    webhook_stamp_column,
    webhook_stamp_seen,
)
from onestop.portal.proactive import Recorded, delivery_record_invite
from onestop.reference.idnumber import InvalidIdNumber, parse_resident_id
from onestop.workflow.card import card_status_report
from onestop.workflow.models import CaseItem
from onestop.workflow.services import (
    NotPermitted,
    ResultInvalid,
    TaskConflict,
    cases_items,
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


# Issue 8: the API is rate limited per client (credential): 429 + Retry-After. The limit
# and the key each client is counted under.
RATE_LIMIT = "api"
RATE_KEY = "client:"
READING = frozenset({"GET", "HEAD", "OPTIONS"})
_KEY = re.compile(KEY_PATTERN)


# The request's client read with what the request's plumbing would read next, in the same
# statement (issue 10, session 23: three statements were one each): its rate limit's
# counter (`rate_peek`) and, for a write with an Idempotency-Key, whether an answer to the
# key is stored (`idempotent`); and the webhook stamp, under which the process keeps the
# webhook targets (`services.webhook_stamp_seen`; session 26: their read was a statement
# of every write). Compiled once per process, the key id and the key put in.
_ANSWER_KEY = "onestop-stand-in-idempotency-key"


def _client_read(*, counted: bool, answered: bool) -> CompiledFirst[ApiClient]:
    """The client of a key id (`client_by_key`) with its rate limit's counter where
    ``counted``, and where ``answered`` the stored answer to a key (the second value)."""

    def build(key_id: str, key: str = "") -> QuerySet[ApiClient]:
        found = client_by_key(key_id).annotate(**webhook_stamp_column())
        if counted:
            found = found.annotate(**counter_columns(RATE_LIMIT, RATE_KEY, F("pk")))
        if answered:
            found = found.annotate(**answer_column(key))
        return found

    stand_ins = (KEY_ID_STAND_IN, _ANSWER_KEY) if answered else (KEY_ID_STAND_IN,)
    return CompiledFirst(ApiClient, build, *stand_ins)


# By (counted, answered).
_CLIENT_READS = {
    (counted, answered): _client_read(counted=counted, answered=answered)
    for counted in (False, True)
    for answered in (False, True)
}


def _first_answered(compiled: CompiledFirst[ApiClient], key: str, key_id: str) -> ApiClient | None:
    return compiled.first(key_id, key)


class ClientAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        counted = rate_peeks_database(RATE_LIMIT)
        key = None if request.method in READING else request.headers.get("Idempotency-Key")
        if key is not None and not _KEY.fullmatch(key):
            key = None  # refused by the view's validation (422): nothing to look for
        read: Callable[[str], ApiClient | None]
        if key is not None:
            read = functools.partial(_first_answered, _CLIENT_READS[counted, True], key)
        else:
            read = _CLIENT_READS[counted, False].first
        client = api_client_authenticate(token, read=read)
        if client is not None:
            webhook_stamp_seen(getattr(client, WEBHOOK_STAMP))
            if key is not None:
                answer_seen(client, key, client.answer_id)  # type: ignore[attr-defined]
            if _COUNTED_ALREADY in request.__dict__:
                return client  # run again: its use was counted at once by the cache
            # Looked at here, counted at the end of the request's transaction (below).
            request._onestop_rate = rate_peek(  # type: ignore[attr-defined]
                RATE_LIMIT,
                f"{RATE_KEY}{client.pk}",
                message="请求过于频繁，请按 Retry-After 稍后重试",
                seen=(client.rate_bucket, client.rate_hits) if counted else None,  # type: ignore[attr-defined]
            )
        return client


# Set on a request run again whose first run's use was counted at once (a limit counted
# in the cache, not the database: `rate_peek` then counts as it looks, outside the
# transaction, so the rollback did not undo it).
_COUNTED_ALREADY = "_onestop_rate_counted"


def _counted_with_answer(request: HttpRequest) -> WithAnswer:
    """The request's use of its rate limit counted in its stored answer's ``INSERT``
    (`idempotency.WithAnswer`; issue 10, session 29: a keyed write's last two statements
    were one each): the use as it stands then (a batch's uses included), counted in the
    current window as `rate_count` counts it, and marked `COUNTED` once that statement
    succeeded, so the end of the transaction (`_in_one_transaction`) counts nothing more.
    Where the statement failed (a concurrent request stored the key's answer: rolled back
    with it), or where the request is run again (`_Again`: its authentication looks again),
    the end counts it as before; a use counted at once by the cache has nothing to send."""

    def statement() -> tuple[str, list[Any]] | None:
        return rate_count_sql(request.__dict__.get("_onestop_rate"))

    def sent() -> None:
        request._onestop_rate = COUNTED  # type: ignore[attr-defined]

    return WithAnswer(statement, sent)


class _Again(Exception):
    """A block inside a request run without savepoints was left by an error: the request
    is rolled back and run again with them (`one_transaction`)."""


def one_transaction(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Issue 10, ADR 0024: one API request, one database transaction — the client's
    authentication, the rate limit's look and count, the reads, the write with its audit
    record, timeline and outbox rows, the idempotent answer and the answer's reads.
    Before, every statement outside a service's own block was a transaction of its own
    (8 for a claim, 15 for a task's detail).

    - The request runs with nested atomic blocks that take no savepoint
      (`common.savepoints`, ADR 0045 amendment of session 23: the idempotent answer's
      block and the service's own were four statements of a claim's ~19). Where one of
      them is left by an error (a refused action: 404, 409, 422 …; a race lost), the
      whole request is rolled back and run again as before, its blocks savepoints: a
      refused action still rolls back all it wrote; errors the API answers are answers,
      so what was written before them commits as it did in autocommit.
    - The rate limit's count is made at the end, in this transaction, and survives any
      error of the request: an unexpected exception is kept, the count committed, and the
      exception raised again after the commit. Only a database error rolls back (the
      transaction is unusable; the database did not count either). A request run again
      is counted once: by its second run where the database counts, by its first where
      the cache counted it at once. A database failure (unavailable, a deadlock, a lock
      timeout: `OperationalError`, `InterfaceError`) is not run again: it answers 503.
    - On SQLite (one writer at a time, IMMEDIATE transactions take the write lock at
      BEGIN) a reading request stays in autocommit, so reads do not queue on the lock.
    """

    @functools.wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return _one_transaction(run, request, args, kwargs)
        finally:
            webhook_stamp_seen(None)  # the request's (`ClientAuth`): not the next one's

    return wrapped


def _one_transaction(
    run: Callable[..., HttpResponseBase],
    request: HttpRequest,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> HttpResponseBase:
    """The request as `one_transaction` runs it (its docstring)."""
    if request.method in READING and connection.vendor == "sqlite":
        try:
            return run(request, *args, **kwargs)
        finally:
            rate_count(getattr(request, "_onestop_rate", None))
    try:
        return _in_one_transaction(run, request, args, kwargs, savepoints=False)
    except _Again:
        # The first run's authentication is done again; its use of the rate limit was
        # rolled back with it where the database counts (looked at and counted again),
        # and stands where the cache counted it at once (not counted twice).
        request.__dict__.pop("auth", None)
        looked = "_onestop_rate" in request.__dict__
        if looked and request.__dict__.pop("_onestop_rate") is None:
            request.__dict__[_COUNTED_ALREADY] = True
        return _in_one_transaction(run, request, args, kwargs, savepoints=True)


def _in_one_transaction(
    run: Callable[..., HttpResponseBase],
    request: HttpRequest,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    savepoints: bool,
) -> HttpResponseBase:
    """The request in one transaction, counted at its end (`one_transaction`); without
    savepoints, `_Again` where a block inside was left by an error (rolled back)."""
    failure: Exception | None = None
    with transaction.atomic():
        try:
            # Without savepoints, the request's audit records are written in one INSERT
            # when it ends (`audit_held`; issue 10, session 29).
            with nullcontext() if savepoints else savepoints_off(), audit_held():
                response = run(request, *args, **kwargs)
        except (OperationalError, InterfaceError):
            raise  # the database unavailable, a deadlock, a lock timeout: not run again
        except DatabaseError:
            if not savepoints and connection.needs_rollback:
                raise _Again from None
            raise
        except Exception as exc:  # counted below, then raised again
            failure = exc
        if not savepoints and connection.needs_rollback:
            raise _Again
        rate_count(getattr(request, "_onestop_rate", None))
    if failure is not None:
        raise failure
    return response


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
api.add_decorator(one_transaction, mode="view")  # around authentication and the view

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


# A batch's list too long or empty (the schemas' ``max_length``/``min_length``, checked
# before its entries): the batch's own codes (`_batch_refused`).
_BATCH_LENGTH = {"too_long": "batch_too_large", "too_short": "batch_empty"}
_PROBLEMS_MAX = 20  # problems listed in one answer (a hostile body can make thousands)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    for error in exc.errors:
        loc = tuple(error.get("loc", ()))
        batch = _BATCH_LENGTH.get(str(error.get("type", "")))
        if batch is not None and loc[-1:] == ("tasks",):
            refused = _batch_error(batch)
            return _error_response(request, 422, refused.code, refused.message)
    problems = [
        {
            "field": ".".join(str(p) for p in error.get("loc", ())),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors[:_PROBLEMS_MAX]
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


# --- who am I ---------------------------------------------------------------------------


@api.get("/me", response={200: ClientOut, **ERRORS}, summary="当前客户端", tags=["clients"])
def me(request: HttpRequest) -> dict[str, Any]:
    return selectors.client_profile(_client(request))


# --- cases ------------------------------------------------------------------------------


def _case(client: ApiClient, number: str) -> Case:
    case = case_for_client(client, number)
    if case is None:
        raise ApiError(404, "not_found", "办件不存在或无权访问")
    return case


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
) -> HttpResponse:
    client = _client(request)
    if not client.may_submit_cases:
        raise ApiError(403, "forbidden", "本客户端无权提交申请")

    created: list[Case] = []
    digest = body_digest(document)  # of the body as sent: a replay sends it again

    def submit() -> Answer:
        submission = case_submit(
            document=document,
            actor=None,
            idempotency_key=submitted_key(client, idempotency_key),
            filer=client.user,  # issue 8, defect 7: only cases its institution serves
            # The idempotent answer's atomic block holds the submission alone and is left
            # by its errors: the submission's writes need no savepoint of their own.
            savepoint=False,
            digest=digest,  # taken once for the key and the case
        )
        created.append(submission.case)
        return Answer(201, {"number": submission.case.number})

    try:
        answer = idempotent(
            client=client,
            key=idempotency_key,
            digest=digest,
            act=submit,
            with_answer=_counted_with_answer(request),
            races=(DuplicateNewborn,),
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
    # The answer to a key is its case, as it stands now: 201 the first time, 200 on a replay.
    # The first time, the case the submission wrote is the case as it stands (its status
    # and decision set by the submission's events, in this transaction), and this client
    # submitted it: not read again (issue 10 part 2). A replay reads it.
    case = created[0] if created and not answer.replayed else _case(client, answer.body["number"])
    # `case_status`'s dict is `CaseOut`'s fields in order (as `case_detail` writes it), and
    # `created` is `SubmissionOut`'s last: written without ninja's pydantic round trip
    # (issue 10, session 30: ~a twentieth of a submission's CPU; `test_submission_json`).
    body = {**case_status(client, case), "created": not answer.replayed}
    if answer.replayed:
        replayed = json_answer(request, body)
        replayed["Idempotent-Replayed"] = "true"
        return replayed
    return json_answer(request, body, status=201)


@api.get(
    "/cases/{number}",
    response={200: CaseOut, **ERRORS},
    summary="办件状态",
    description="办件状态、预审结论和各事项的状态与期限（不含个人信息）。",
    tags=["cases"],
)
def case_detail(
    request: HttpRequest, number: Annotated[str, param.Path(..., pattern=NUMBER_PATTERN)]
) -> HttpResponse:
    client = _client(request)
    # `case_status`'s dicts are `CaseOut`'s fields in its order, every reason and warning
    # a `ReasonOut`'s three: written as ninja's validation and dump would give them
    # (issue 10, session 24; `test_case_status_reads` compares the bytes).
    return json_answer(request, case_status(client, _case(client, number)))


@api.get(
    "/cases/{number}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="办件进程",
    tags=["cases"],
)
def case_timeline(
    request: HttpRequest, number: Annotated[str, param.Path(..., pattern=NUMBER_PATTERN)]
) -> dict[str, Any]:
    return selectors.case_timeline(_case(_client(request), number))


# --- tasks ------------------------------------------------------------------------------


def _task(client: ApiClient, task_id: int) -> CaseItem:
    row = task_for_client(client, task_id)
    if row is None:
        raise ApiError(404, "not_found", "任务不存在或无权访问")
    return row


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
) -> HttpResponse:
    page = selectors.task_page(_client(request), state=state, limit=limit, after=after)
    return task_list_response(request, page)


def task_list_response(request: HttpRequest, page: dict[str, Any]) -> HttpResponse:
    """The list's JSON written straight from `task_page`'s dicts (plain ints, strings,
    booleans, None and aware datetimes, in `TaskOut`'s field order), by the renderer ninja
    uses (`NinjaJSONEncoder`): the bytes ninja's validation and dump of `TaskListOut` would
    give, without building 50 pydantic models through ninja's attribute getter (issue 10
    part 3: ~half of the poll's CPU). `test_task_list_json` compares the two."""
    return json_answer(request, page)


def json_answer(request: HttpRequest, body: dict[str, Any], status: int = 200) -> HttpResponse:
    """A ``status`` answer whose ``body`` is already what ninja's validation and dump of the
    operation's response schema would give (its fields in order, of their types): written
    by the renderer ninja uses, without the pydantic round trip."""
    return HttpResponse(
        api.renderer.render(request, body, response_status=status),
        status=status,
        content_type=api.get_content_type(),
    )


# --- several tasks in one request (issue 10; ADR 0024 amendment of session 26) ----------
# Declared before /tasks/{task_id}: its path would take "claims" and "completions".

_BATCH_DESCRIPTION = (
    "请求体 `tasks` 为 1～{max} 个任务（编号不得重复），每个与单个{one}的请求体相同，另加任务编号 "
    "`id`。应答 200，`results` 每个任务一项、顺序同请求：`status` 和 `body` 为该任务单独调用"
    " {path} 时的状态码和应答（{ok}；否则为错误：404 不存在或无权访问、409 版本或状态冲突、"
    "422 结果不符合要求）。各任务互不影响：一个任务被拒绝不会撤销或阻止其他任务。全部在一个"
    "事务中完成，按任务数计入调用频率限制。空列表、超过 {max} 个或编号重复：422 "
    "`batch_empty`、`batch_too_large`、`batch_duplicate_task`。可带 `Idempotency-Key`："
    "同一键同一请求体重放返回第一次的应答（领取时任务详情为当前内容）。"
)


_BATCH_ERRORS = {
    "batch_empty": "任务列表为空，请至少提交一个任务",
    "batch_too_large": "一次最多提交{max}个任务",
    "batch_duplicate_task": "任务编号重复：每个任务只能提交一次",
}


# A batch with more tasks than the client's rate limit allows in a whole window (the
# review of session 26: it was refused 429 in every window, Retry-After never enough).
_BATCH_OVER_WINDOW = "一次最多提交{max}个任务（本接口凭据在一个计数周期内允许的请求数）"


def _batch_error(code: str) -> ApiError:
    return ApiError(422, code, _BATCH_ERRORS[code].format(max=BATCH_MAX))


def _batch_refused(ids: list[int]) -> ApiError | None:
    """The batch's own limits (`schemas.BATCH_MAX`), each with its stable code."""
    if not ids:
        return _batch_error("batch_empty")
    if len(ids) > BATCH_MAX:
        return _batch_error("batch_too_large")
    if len(set(ids)) != len(ids):
        return _batch_error("batch_duplicate_task")
    return None


def _batch_counted(request: HttpRequest, uses: int) -> None:
    """The batch counts as one request per task in the client's rate limit (429 where the
    window has not that many left)."""
    if _COUNTED_ALREADY in request.__dict__:
        return  # run again: every use was counted at once by the cache in the first run
    allowance = rate_allowance(RATE_LIMIT)
    if allowance is not None and uses > allowance:  # would be refused 429 in every window
        raise ApiError(
            422,
            "batch_too_large",
            _BATCH_OVER_WINDOW.format(max=allowance),
        )
    client = _client(request)
    request._onestop_rate = rate_uses(  # type: ignore[attr-defined]
        getattr(request, "_onestop_rate", None),
        uses,
        limit=RATE_LIMIT,
        key=f"{RATE_KEY}{client.pk}",
        message="请求过于频繁，请按 Retry-After 稍后重试",
    )


def _error_body(exc: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message, **(exc.extra or {})}
    if exc.problems is not None:
        body["problems"] = exc.problems
    return body


def _task_refused(exc: OnestopError) -> ApiError:
    """A task action's refusal as the single endpoints answer it (`_answer`)."""
    if isinstance(exc, TaskConflict):
        return ApiError(409, exc.code, exc.message)
    if isinstance(exc, NotPermitted):
        return ApiError(404, "not_found", "任务不存在或无权访问")
    if isinstance(exc, ResultInvalid):
        found = getattr(exc, "problems", [])
        problems = [{"field": p.field, "message": p.message, "code": p.code} for p in found]
        return ApiError(422, exc.code, exc.message, problems)
    if isinstance(exc, DuplicateNewborn):
        return ApiError(409, exc.code, exc.message, extra={"existing_case": exc.existing})
    return ApiError(422, exc.code, exc.message)


def _batch(
    request: HttpRequest,
    response: HttpResponse,
    client: ApiClient,
    key: str | None,
    payload: dict[str, Any],
    ids: list[int],
    action: Callable[[int, int, Case | None, list[CaseItem] | None], CaseItem],
    answered: Callable[[int, CaseItem], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Run ``action`` on each task of a batch, in one transaction: the results in the
    request's order, each the status and body the task's single endpoint would answer
    (``answered``: a done task's body). With an Idempotency-Key, a replay returns the
    first answer.

    The tasks' cases are locked first, in one statement in case-id order (`cases_locked`),
    so two batches over the same cases never wait for each other in a cycle, and their
    items read in one (`cases_items`). A task out of the client's
    scope is 404, nothing done for it. Run without savepoints (`one_transaction`), the
    first task refused leaves its block: the request is rolled back and run again with
    them, each task then in a savepoint of its own, so a refused task — whatever its
    service wrote before refusing — leaves nothing and the others stand.
    """

    def act() -> Answer:
        allowed = selectors.task_ids_for_client(client, ids)
        # The cases locked in one statement, in case-id order (`cases_locked`, compiled
        # once per number of cases: was one statement per case), then their items read in
        # one (`cases_items`: was one statement per task; issue 10, session 28).
        case_ids = sorted(set(allowed.values()))
        cases = cases_locked(case_ids)
        items = cases_items(case_ids)
        results: dict[int, dict[str, Any]] = {}
        # Without savepoints (the first run), where any refusal runs the whole batch again,
        # the tasks' webhook deliveries, messages and timeline lines are written together
        # at the end (`effects.held`); run again with savepoints, each task's own.
        # The tasks run in id order (the answer keeps the request's): their rows are then
        # written in the order the deadline sweep's relighting and another batch lock
        # them in, not in each request's own (review of session 26: a cycle between them).
        # The reads an action makes of its case that no action of the batch changes are
        # made once per case (`common.reuse`: a completion's licence's newborns).
        with effects.held() if savepoints_are_off() else nullcontext(), reusing():
            for position, task_id in sorted(enumerate(ids), key=lambda pair: pair[1]):
                case_id = allowed.get(task_id)
                if case_id is None:
                    refused = ApiError(404, "not_found", "任务不存在或无权访问")
                    results[position] = {
                        "id": task_id,
                        "status": 404,
                        "body": _error_body(refused),
                    }
                    continue
                try:
                    with transaction.atomic():
                        # The case as locked above, and its items as read above, for its
                        # first task; both read again for a later task of the case.
                        done = action(
                            position, case_id, cases.pop(case_id, None), items.pop(case_id, None)
                        )
                except OnestopError as exc:
                    if connection.needs_rollback:
                        raise _Again from None  # without savepoints: run again with them
                    refused = _task_refused(exc)
                    results[position] = {
                        "id": task_id,
                        "status": refused.status,
                        "body": _error_body(refused),
                    }
                    continue
                results[position] = {"id": task_id, "status": 200, "body": answered(position, done)}
        # Stored as sent: the datetimes as the API writes them (a replay's bytes are the
        # first answer's).
        ordered = [results[position] for position in range(len(ids))]
        body = json.loads(json.dumps({"results": ordered}, cls=NinjaJSONEncoder))
        return Answer(200, body)

    try:
        answer = idempotent(
            client=client,
            key=key,
            digest=request_digest(request.method, request.path, payload),
            act=act,
            with_answer=_counted_with_answer(request),
        )
    except IdempotencyConflict as exc:
        raise ApiError(409, exc.code, exc.message) from None
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return list(answer.body["results"])


def _batch_taken(request: HttpRequest, ids: list[int]) -> tuple[ApiClient, list[int]]:
    """A batch's client and task ids, once its own limits passed and its uses counted."""
    refused = _batch_refused(ids)
    if refused is not None:
        raise refused
    _batch_counted(request, len(ids))
    return _client(request), ids


def _batch_answer(
    request: HttpRequest, response: HttpResponse, results: list[dict[str, Any]]
) -> HttpResponse:
    answer = json_answer(request, {"results": results})
    if response.has_header("Idempotent-Replayed"):
        answer["Idempotent-Replayed"] = "true"
    return answer


@api.post(
    "/tasks/claims",
    response={200: TaskResultsOut, **ERRORS},
    summary="批量领取任务",
    description=_BATCH_DESCRIPTION.format(
        max=BATCH_MAX,
        one="领取",
        path="POST /tasks/{id}/claim",
        ok="200 时为与 GET /tasks/{id} 相同的任务详情",
    ),
    tags=["tasks"],
)
def task_claims(
    request: HttpRequest,
    response: HttpResponse,
    payload: ClaimsIn,
    idempotency_key: IdempotencyHeader = None,
) -> HttpResponse:
    client, ids = _batch_taken(request, [task.id for task in payload.tasks])
    # As a single claim (`task_claim`): each answer is the task's detail; the stored
    # answer holds the summaries only (no case data is stored with the key). The details
    # are made once the batch ran, in its transaction, all at once (`task_details`: what
    # they read of their cases read per batch, not per task; issue 10, session 29).
    claimed: dict[int, CaseItem] = {}

    def claim(
        position: int, case_id: int, locked: Case | None, rows: list[CaseItem] | None
    ) -> CaseItem:
        return item_claim(
            item_id=ids[position],
            actor=client.user,
            expected_version=payload.tasks[position].expected_version,
            case_id=case_id,
            locked=locked,
            items=rows,
        )

    def answered(position: int, done: CaseItem) -> dict[str, Any]:
        row = claimed[done.pk] = selectors.task_after(done, detail=True)
        summary = selectors.task_summary(client, row)
        return {field: summary[field] for field in TaskOut.model_fields}

    results = _batch(
        request,
        response,
        client,
        idempotency_key,
        payload.model_dump(),
        ids,
        claim,
        answered,
    )
    ok = [result["id"] for result in results if result["status"] == 200]
    for task_id in ok:
        if task_id not in claimed:  # a replay: the task's detail as it is now
            row = selectors.task_for_client(client, task_id)
            if row is not None:
                claimed[task_id] = row
    rows = [claimed[task_id] for task_id in ok if task_id in claimed]
    details = dict(zip([row.pk for row in rows], selectors.task_details(client, rows), strict=True))
    for result in results:
        if result["status"] == 200:
            result["body"] = {**details.get(result["id"], _NO_DETAIL), **result["body"]}
    return _batch_answer(request, response, results)


# What a replayed claim's answer shows of a task no longer the client's to see.
_NO_DETAIL: dict[str, Any] = {
    "after": [],
    "data": {},
    "materials": [],
    "result_fields": [],
    "prior_elicences": [],
    "reasons": [],
}


@api.post(
    "/tasks/completions",
    response={200: TaskResultsOut, **ERRORS},
    summary="批量办结任务",
    description=_BATCH_DESCRIPTION.format(
        max=BATCH_MAX,
        one="办结",
        path="POST /tasks/{id}/complete",
        ok="200 时为办结后的任务 TaskOut",
    ),
    tags=["tasks"],
)
def task_completions(
    request: HttpRequest,
    response: HttpResponse,
    payload: CompletionsIn,
    idempotency_key: IdempotencyHeader = None,
) -> HttpResponse:
    client, ids = _batch_taken(request, [task.id for task in payload.tasks])

    def complete(
        position: int, case_id: int, locked: Case | None, rows: list[CaseItem] | None
    ) -> CaseItem:
        task = payload.tasks[position]
        return item_complete(
            item_id=task.id,
            actor=client.user,
            result={k: v for k, v in task.result.items() if v is not None},
            expected_version=task.expected_version,
            case_id=case_id,
            locked=locked,
            items=rows,
        )

    def answered(position: int, done: CaseItem) -> dict[str, Any]:
        return selectors.task_summary(client, selectors.task_after(done))

    results = _batch(
        request,
        response,
        client,
        idempotency_key,
        payload.model_dump(),
        ids,
        complete,
        answered,
    )
    return _batch_answer(request, response, results)


@api.get(
    "/tasks/{task_id}",
    response={200: TaskDetailOut, **ERRORS},
    summary="任务详情",
    description="本事项需要的申请表字段、材料、结果字段要求，以及前置事项的电子证照。",
    tags=["tasks"],
)
def task_detail(request: HttpRequest, task_id: TaskId) -> HttpResponse:
    client = _client(request)
    return task_detail_response(request, selectors.task_detail(client, _task(client, task_id)))


# `TaskDetailOut`'s fields in order, and its parts that are models of their own and rare
# (a Fuzhou task's signed preview, a payment task's notice, a card task's card): these
# are validated and dumped by their schema, as ninja's dump of the whole would.
_DETAIL_FIELDS = tuple(TaskDetailOut.model_fields)
_DETAIL_PARTS = (
    ("signed_preview", SignedPreviewOut),
    ("payment", PaymentDueOut),
    ("card", CardOut),
)


def task_detail_response(request: HttpRequest, detail: dict[str, Any]) -> HttpResponse:
    """A task's detail (`selectors.task_detail`: plain ints, strings, booleans, None, aware
    datetimes, lists and dicts of them, the summary's and the licences' and result fields'
    dicts in their schemas' field order) written in `TaskDetailOut`'s field order by the
    renderer ninja uses: the bytes ninja's validation and dump of `TaskDetailOut` would
    give, without its pydantic round trip (issue 10, session 28: ~a fifth of a claim's CPU
    and of ``GET /tasks/{id}``'s). `test_task_detail_json` compares the two."""
    body = {name: detail[name] for name in _DETAIL_FIELDS}
    for name, schema in _DETAIL_PARTS:
        if body[name] is not None:
            body[name] = schema.model_validate(body[name]).model_dump()
    return json_answer(request, body)


def _act(
    request: HttpRequest,
    response: HttpResponse,
    client: ApiClient,
    task_id: int,
    key: str | None,
    payload: dict[str, Any],
    action: Callable[[Case], CaseItem],
) -> Status[dict[str, Any]]:
    """Run one task action on the task's case, locked by the access check's statement
    (`selectors.task_case_locked`); with an Idempotency-Key, a replay returns the first
    answer."""

    def act() -> Answer:
        case = selectors.task_case_locked(client, task_id)
        if case is None:
            raise ApiError(404, "not_found", "任务不存在或无权访问")
        done = action(case)
        # The row the action locked and wrote (not read again: `task_after`).
        return Answer(200, selectors.task_summary(client, selectors.task_after(done)))

    return _answer(
        request,
        response,
        client,
        key,
        payload,
        act,
        races=(TaskConflict,),
        missing=(NotPermitted,),
        missing_message="任务不存在或无权访问",
        invalid=(ResultInvalid,),
    )


def _answer(
    request: HttpRequest,
    response: HttpResponse,
    client: ApiClient,
    key: str | None,
    payload: dict[str, Any],
    act: Callable[[], Answer],
    *,
    races: tuple[type[OnestopError], ...],
    missing: tuple[type[OnestopError], ...],
    missing_message: str,
    invalid: tuple[type[OnestopError], ...],
    forbidden: tuple[type[OnestopError], ...] = (),
) -> Status[dict[str, Any]]:
    """One idempotent write of the API (a task's action, a correction's decision): a
    replay returns the first answer; each refusal becomes its status and stable code."""
    try:
        answer = idempotent(
            client=client,
            key=key,
            digest=request_digest(request.method, request.path, payload),
            act=act,
            with_answer=_counted_with_answer(request),
            races=races,
        )
    except IdempotencyConflict as exc:
        raise ApiError(409, exc.code, exc.message) from None
    except races as exc:
        raise ApiError(409, exc.code, exc.message) from None
    except missing:
        raise ApiError(404, "not_found", missing_message) from None
    except forbidden as exc:
        raise ApiError(403, exc.code, exc.message) from None
    except invalid as exc:
        found = getattr(exc, "problems", [])
        problems = [{"field": p.field, "message": p.message, "code": p.code} for p in found]
        raise ApiError(422, exc.code, exc.message, problems) from None
    except DuplicateNewborn as exc:  # the same newborn's result was issued in another case
        raise ApiError(409, exc.code, exc.message, extra={"existing_case": exc.existing}) from None
    except OnestopError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(answer.status, answer.body)


@api.post(
    "/tasks/{task_id}/claim",
    response={200: TaskDetailOut, **ERRORS},
    summary="领取任务",
    description="领取成功时返回与 GET /tasks/{id} 相同的任务详情（办理所需的申请表字段、材料、"
    "结果字段要求等），无需再读取一次任务。以同一幂等键重放时，状态和版本为第一次领取时的结果，"
    "详情为当前内容。",
    tags=["tasks"],
)
def task_claim(
    request: HttpRequest,
    response: HttpResponse,
    task_id: TaskId,
    payload: Body[ClaimIn | None] = None,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]] | HttpResponse:
    client = _client(request)
    data = payload or ClaimIn(expected_version=None)
    # Issue 10, ADR 0045: the answer carries the task as GET /tasks/{id} shows it, so a
    # department system works the task it claimed without reading it again (one request
    # and one transaction less per task). The remembered answer (a replay's) stays the
    # summary: no case data is stored with the idempotency key; a replay reads the
    # detail as it is now.
    detail: dict[str, Any] = {}

    def act() -> Answer:
        # Access by id only, the task's case locked in the same statement (issue 10,
        # session 26); the answer is the task the claim locked and wrote, with its locked
        # case: not read again (issue 10 part 2, `selectors.task_after`).
        case = selectors.task_case_locked(client, task_id)
        if case is None:
            raise ApiError(404, "not_found", "任务不存在或无权访问")
        row = item_claim(
            item_id=task_id,
            actor=client.user,
            expected_version=data.expected_version,
            locked=case,
        )
        detail.update(selectors.task_detail(client, selectors.task_after(row, detail=True)))
        return Answer(200, {field: detail[field] for field in TaskOut.model_fields})

    answer = _answer(
        request,
        response,
        client,
        idempotency_key,
        data.model_dump(),
        act,
        races=(TaskConflict,),
        missing=(NotPermitted,),
        missing_message="任务不存在或无权访问",
        invalid=(ResultInvalid,),
    )
    if detail and not response.has_header("Idempotent-Replayed"):
        # This request's claim: the answer is the detail of the task as it claimed it (its
        # summary the answer's own values: the same objects), written without ninja's
        # pydantic round trip (`task_detail_response`).
        return task_detail_response(request, {**detail, **answer.value})
    # A replay: the first answer, with the task's detail as it is now (empty where the
    # task is no longer the client's to see: a replay still answers). The first answer's
    # stored values are its JSON's (datetimes as text): ninja's validation reads them.
    row = selectors.task_for_client(client, task_id)
    detail = (
        selectors.task_detail(client, row)
        if row is not None
        else {"after": [], "data": {}, "materials": [], "result_fields": []}
        | {"prior_elicences": [], "reasons": []}
    )
    return Status(answer.status_code, {**detail, **answer.value})


@api.post(
    "/tasks/{task_id}/card-status",
    response={200: TaskOut, **ERRORS},
    summary="报告社会保障卡制卡状态",
    description="人社部门报告新生儿社会保障卡的制卡进度：制卡中、已制卡；已送达网点（或申请人"
    "选择邮寄时的已寄出）即办结本事项，须带卡号，申请人随即收到领卡通知（网点、须携带的证件、"
    "金融功能激活提醒）。状态不能回退：422 card_status_invalid。",
    tags=["tasks"],
)
def task_card_status(
    request: HttpRequest,
    response: HttpResponse,
    payload: CardStatusIn,
    task_id: TaskId,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)

    def report(case: Case) -> CaseItem:
        card_status_report(
            item_id=task_id,
            actor=client.user,
            status=payload.status,
            card_number=payload.card_number or "",
            expected_version=payload.expected_version,
            locked=case,
        )
        return CaseItem(pk=task_id)  # its answer reads the task as the report left it

    return _act(request, response, client, task_id, idempotency_key, payload.model_dump(), report)


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
        lambda case: item_complete(
            item_id=task_id,
            actor=client.user,
            result=result,
            expected_version=payload.expected_version,
            locked=case,
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
        lambda case: item_return(
            item_id=task_id,
            actor=client.user,
            reasons=payload.reasons,
            expected_version=payload.expected_version,
            locked=case,
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
        lambda case: item_refuse(
            item_id=task_id,
            actor=client.user,
            reasons=payload.reasons,
            expected_version=payload.expected_version,
            locked=case,
        ),
    )


# --- proactive start: a hospital records a delivery (ADR 0033) -------------------------


def _invitation_out(recorded: Recorded) -> dict[str, Any]:
    invitation = recorded.invitation
    return {
        "status": "invited" if recorded.invited else "not_invited",
        "reason": recorded.reason or None,
        "message": recorded.message,
        "region": recorded.region or None,
        "state": invitation.state if invitation is not None else None,
        "expires_at": invitation.expires_at if invitation is not None else None,
    }


@api.post(
    "/deliveries",
    response={200: DeliveryOut, 201: DeliveryOut, **ERRORS},
    summary="推送分娩记录（主动服务）",
    description=(
        "助产机构系统推送本机构的分娩记录（住院病历号、母亲姓名、身份证号码、手机号码、出生信息）。"
        "该地区受理网上申请时，平台在同一事务中为母亲准备好预填的申请草稿，并向母亲手机发送"
        "邀请短信（链接不含个人信息，凭短信验证码登录后继续填写）。同一分娩记录只邀请一次："
        "重放或更新记录返回 200，`invitation.status` 为 `not_invited`、`reason` 为 "
        "`already_invited`。不受理网上申请的地区（`no_online_channel`）、新生儿已有申请"
        "（`case_exists`）时不邀请，`invitation.message` 说明原因。只能推送本机构的记录"
        "（其他机构：403 `outside_jurisdiction`）。可带 `Idempotency-Key`。"
    ),
    tags=["deliveries"],
)
def delivery_record(
    request: HttpRequest,
    response: HttpResponse,
    payload: DeliveryIn,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    if client.department != "hospital" or client.jurisdiction_kind != JurisdictionKind.HOSPITAL:
        raise ApiError(403, "forbidden", "只有助产机构系统可推送分娩记录")
    own = client.jurisdiction_code
    hospital = (payload.hospital or "").strip() or own
    if hospital != own:
        raise ApiError(
            403, "outside_jurisdiction", "只能推送本机构的分娩记录，出生医疗机构不是本机构"
        )
    try:
        parse_resident_id(payload.mother.id_number.strip().upper())
    except InvalidIdNumber as exc:
        problems = [{"field": "mother.id_number", "message": exc.message}]
        raise ApiError(422, "invalid_id_number", exc.message, problems) from None
    try:
        phone = normalise_phone(payload.mother.phone)
    except OtpError as exc:
        problems = [{"field": "mother.phone", "message": exc.message}]
        raise ApiError(422, "phone_invalid", exc.message, problems) from None
    now = timezone.now()
    if payload.newborn.born_at.tzinfo is None or payload.newborn.born_at > now + timedelta(
        minutes=5
    ):
        message = "出生时间须带时区，且不能晚于当前时间"
        problems = [{"field": "newborn.born_at", "message": message}]
        raise ApiError(422, "born_at_invalid", message, problems)
    newborn = payload.newborn.model_dump(exclude_none=True)
    newborn["born_at"] = format_time(payload.newborn.born_at)
    mother = {
        "name": payload.mother.name,
        "id_number": payload.mother.id_number.strip().upper(),
        "phone": phone,
    }

    def record() -> Answer:
        recorded = delivery_record_invite(
            hospital=hospital,
            record_number=payload.record_number,
            mother=mother,
            newborn=newborn,
            filer=client.user,
            now=now,
        )
        body = {
            "hospital": hospital,
            "record_number": recorded.record.record_number,
            "created": recorded.created,
            "invitation": _invitation_out(recorded),
        }
        return Answer(201 if recorded.created else 200, body)

    try:
        answer = idempotent(
            client=client,
            key=idempotency_key,
            digest=request_digest("POST", "/deliveries", payload.model_dump(mode="json")),
            act=record,
            with_answer=_counted_with_answer(request),
        )
    except IdempotencyConflict as exc:
        raise ApiError(409, exc.code, exc.message) from None
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
        return Status(200, answer.body)
    return Status(answer.status, answer.body)


# --- corrections (更正, ADR 0042) ---------------------------------------------------------

CorrectionId = Annotated[int, param.Path(..., ge=1, le=MAX_ID)]


def _correction(client: ApiClient, correction_id: int) -> Correction:
    found = correction_for_officer(client.user, correction_id)
    if found is None:
        raise ApiError(404, "not_found", "更正申请不存在或无权访问")
    return found


@api.get(
    "/corrections",
    response={200: CorrectionListOut, **ERRORS},
    summary="更正申请列表",
    description=(
        "本客户端部门和辖区签发的结果的更正申请（默认待审核的），按编号分页。"
        "新的申请同时以 `correction.requested` 回调推送。"
    ),
    tags=["corrections"],
)
def correction_list(
    request: HttpRequest,
    state: Literal["open", "approved", "refused", "all"] = "open",
    limit: Annotated[int, param.Query(50, ge=1, le=200)] = 50,
    after: Annotated[int, param.Query(0, ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    client = _client(request)
    rows = list(
        corrections_for_officer(client.user, state=None if state == "all" else state)
        .filter(pk__gt=after)
        .order_by("pk")[: limit + 1]
    )
    page = rows[:limit]
    return {
        "corrections": [selectors.correction_out(c) for c in page],
        "next_after": page[-1].pk if len(rows) > limit else None,
    }


@api.get(
    "/corrections/{correction_id}",
    response={200: CorrectionOut, **ERRORS},
    summary="更正申请详情",
    tags=["corrections"],
)
def correction_detail(request: HttpRequest, correction_id: CorrectionId) -> dict[str, Any]:
    client = _client(request)
    found = _correction(client, correction_id)
    selectors.correction_read(client, found)
    return selectors.correction_out(found)


def _decide(
    request: HttpRequest,
    response: HttpResponse,
    client: ApiClient,
    correction_id: int,
    key: str | None,
    payload: dict[str, Any],
    action: Callable[[Correction], Correction],
    name: str,
) -> Status[dict[str, Any]]:
    """Approve or refuse (``name``); with an Idempotency-Key, a replay returns the first answer. A
    decided correction cannot be decided again (409 ``correction_conflict``); whoever asked
    for it cannot decide it (403 ``correction_same_person``, the attempt audited)."""

    def act() -> Answer:
        done = action(_correction(client, correction_id))
        return Answer(200, selectors.correction_out(done))

    try:
        return _answer(
            request,
            response,
            client,
            key,
            payload,
            act,
            races=(CorrectionConflict,),
            missing=(CorrectionNotPermitted,),
            missing_message="更正申请不存在或无权访问",
            invalid=(CorrectionInvalid,),
            forbidden=(CorrectionSamePerson,),
        )
    except ApiError as exc:
        if exc.code == CorrectionSamePerson.code:
            # After the refused call rolled back (its savepoint): the record commits with
            # the request, as the answers 403/404/409/422 do (ADR 0024).
            correction_decision_refused(
                correction_id=correction_id,
                actor=client.user,
                action=name,
                code=exc.code,
            )
        raise


@api.post(
    "/corrections/{correction_id}/approve",
    response={200: CorrectionOut, **ERRORS},
    summary="同意更正（签发更正后的电子证照，原证照作废）",
    description=(
        "只有被更正事项的签发部门和辖区可审核。同意后签发新编号的电子证照，原证照在 /verify/ "
        "显示“已被更正”，后续事项的部门收到 `result.corrected` 回调。可带 `Idempotency-Key`。"
        "提出该更正申请的人不能审核它：403 correction_same_person。"
    ),
    tags=["corrections"],
)
def correction_approve_api(
    request: HttpRequest,
    response: HttpResponse,
    correction_id: CorrectionId,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    return _decide(
        request,
        response,
        client,
        correction_id,
        idempotency_key,
        {},
        lambda c: correction_approve(correction_id=c.pk, actor=client.user),
        "approve",
    )


@api.post(
    "/corrections/{correction_id}/refuse",
    response={200: CorrectionOut, **ERRORS},
    summary="不予更正",
    description="只有被更正事项的签发部门和辖区可审核；提出该更正申请的人不能审核它："
    "403 correction_same_person。可带 `Idempotency-Key`。",
    tags=["corrections"],
)
def correction_refuse_api(
    request: HttpRequest,
    response: HttpResponse,
    payload: CorrectionRefuseIn,
    correction_id: CorrectionId,
    idempotency_key: IdempotencyHeader = None,
) -> Status[dict[str, Any]]:
    client = _client(request)
    return _decide(
        request,
        response,
        client,
        correction_id,
        idempotency_key,
        payload.model_dump(),
        lambda c: correction_refuse(correction_id=c.pk, actor=client.user, reason=payload.reason),
        "refuse",
    )
