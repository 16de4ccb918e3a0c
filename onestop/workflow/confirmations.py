"""The other parent's confirmation by SMS link (父母双方签字, issue 11 promise 6, ADR 0029).

Where both parents must sign and the applicant could not sign for the other parent, the
accepted case's affected items wait (``CaseItem.awaiting_confirmation``) and the other
parent gets an SMS with a link: a random single-use token (only its SHA-256 is stored),
valid for the pack's number of days. They sign in with an SMS code sent to the phone the
case gives for them (the parents' sign-in code, its limits and lockout), read what they
are asked to confirm and confirm (an e-signature record: who, when, the text and its hash)
or refuse with a reason. Confirmed: the items go to their departments (their clocks start
then). Refused, or unanswered when the link expires: the items are refused with the reason
and the ordinary channel, and the parents are told. A reminder with a fresh link goes out
before expiry (the earlier link stops working: only one token is valid at a time).

Each write is one transaction: the request's state, the items, the audit record and the
events whose effects (timeline, SMS, webhooks, dispatch) are the handler table's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import Role, User, actor_label
from onestop.accounts.permissions import parent_phone_index
from onestop.audit.services import audit_record
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import Case
from onestop.cases.services import case_locked
from onestop.common.fields import index_of
from onestop.core.errors import OnestopError
from onestop.core.events import Event, emit
from onestop.eligibility.confirmations import SIDE_NAMES, NeededConfirmation
from onestop.workflow import events as ev
from onestop.workflow.models import CaseItem, ConfirmationRequest, ItemState
from onestop.workflow.services import _apply, _statuses

REMIND_BEFORE = timedelta(days=2)
REASON_MAX = 200
State = ConfirmationRequest.State


class ConfirmationError(OnestopError):
    """The link or the person does not fit: ``code`` is link_invalid, link_used,
    link_expired, not_this_parent or reason_missing."""

    code = "confirmation_invalid"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def confirmation_for_token(token: str) -> ConfirmationRequest | None:
    """The request a link's token names (None for anything else)."""
    if not token or len(token) > 64:
        return None
    found: ConfirmationRequest | None = (
        ConfirmationRequest.objects.select_related("case")
        .filter(token_hash=token_hash(token))
        .first()
    )
    return found


def link_problem(request: ConfirmationRequest | None, now: datetime) -> str | None:
    """Why a link cannot be used (invalid / used / expired), or None."""
    if request is None:
        return "link_invalid"
    if request.state != State.PENDING:
        return "link_used"
    if request.expires_at <= now:
        return "link_expired"
    return None


_PROBLEM_TEXT = {
    "link_invalid": "链接无效，请核对短信中的链接",
    "link_used": "该链接已使用，不能再次确认",
    "link_expired": "该链接已过期",
}


def is_the_parent(request: ConfirmationRequest, user: User | None) -> bool:
    """Whether ``user`` is signed in with the phone the case gives for the asked parent."""
    if user is None or not user.is_authenticated or user.role != Role.PARENT:
        return False
    return parent_phone_index(user) == request.phone_index


def _audit(case: Case, request: ConfirmationRequest, action: str, actor: User | None,
           now: datetime, detail: Mapping[str, object] | None = None) -> None:  # fmt: skip
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type="confirmation",
        object_id=str(request.pk),
        detail={"parent": request.parent, "items": list(request.items), **(detail or {})},
    )


def confirmation_request(
    case: Case, rows: Mapping[str, CaseItem], needed: NeededConfirmation, *, now: datetime
) -> ConfirmationRequest:
    """Hold ``needed.items`` and ask the other parent (in the caller's transaction: the
    case's acceptance, before its items are dispatched)."""
    other = case.typed_document().parent(needed.parent)
    phone = other.phone if other is not None else None
    assert phone, "pre-review requires the other parent's phone"
    token, hashed = _new_token()
    request = ConfirmationRequest.objects.create(
        case=case,
        parent=needed.parent,
        phone_index=index_of(phone, purpose="phone"),
        statements=[s.as_json() for s in needed.statements],
        items=list(needed.items),
        token_hash=hashed,
        created_at=now,
        expires_at=now + timedelta(days=needed.expires_after_days),
    )
    for row in rows.values():  # each newborn's copy of a held item (多胞胎, ADR 0036)
        if row.item not in needed.items:
            continue
        row.awaiting_confirmation = needed.parent
        row.save(update_fields=["awaiting_confirmation"])
    _audit(case, request, "confirmation_requested", None, now)
    emit(ev.ConfirmationRequested(case=case, at=now, request=request, token=token))
    return request


def _lock(request_id: int) -> tuple[Case, ConfirmationRequest, dict[str, CaseItem]]:
    case_id = ConfirmationRequest.objects.filter(pk=request_id).values_list("case_id", flat=True)
    case = case_locked(case_id[0])
    request = ConfirmationRequest.objects.get(pk=request_id)
    rows = {r.key: r for r in CaseItem.objects.filter(case=case).order_by("position")}
    return case, request, rows


def _held(request: ConfirmationRequest, rows: Mapping[str, CaseItem]) -> list[str]:
    return [
        key
        for key, row in rows.items()
        if row.item in request.items
        and row.state == ItemState.WAITING
        and row.awaiting_confirmation
    ]


def _refuse_held(
    case: Case,
    request: ConfirmationRequest,
    rows: dict[str, CaseItem],
    reason: str,
    *,
    now: datetime,
    actor: User | None,
) -> list[Event]:
    statuses = _statuses(list(rows.values()))
    changes = []
    for code in _held(request, rows):
        if statuses.status_of(code).state != ItemState.WAITING.value:
            continue  # cancelled with an item refused just before
        statuses, more = statuses.refuse(code, now, [reason])
        changes += more
    return _apply(case, rows, changes, now=now, actor=actor, calendar=current_calendar())


@dataclass(frozen=True)
class Decided:
    request: ConfirmationRequest
    outcome: str


@transaction.atomic
def confirmation_decide(
    *,
    token: str,
    user: User | None,
    confirm: bool,
    reason: str = "",
    now: datetime | None = None,
) -> Decided:
    """The asked parent, signed in with their own phone, confirms or refuses."""
    now = now or timezone.now()
    found = confirmation_for_token(token)
    if found is None:
        raise ConfirmationError(_PROBLEM_TEXT["link_invalid"], code="link_invalid")
    case, request, rows = _lock(found.pk)
    problem = link_problem(request, now)
    if problem is not None:
        raise ConfirmationError(_PROBLEM_TEXT[problem], code=problem)
    who = SIDE_NAMES.get(request.parent, request.parent)
    if not is_the_parent(request, user):
        raise ConfirmationError(
            f"只能由{who}本人凭{who}手机号码收到的验证码登录后确认", code="not_this_parent"
        )
    assert user is not None
    reason = " ".join((reason or "").split())[:REASON_MAX]
    if not confirm and not reason:
        raise ConfirmationError("请填写不同意的原因", code="reason_missing")
    text = "；".join(str(s.get("text", "")) for s in request.statements)
    request.decided_at = now
    request.signature = {
        "signer": request.parent,
        "user_id": user.pk,
        "phone_index": request.phone_index,
        "signed_at": now.isoformat(),
        "text": text,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "decision": "confirmed" if confirm else "refused",
    }
    if confirm:
        request.state = State.CONFIRMED
        statuses = _statuses(list(rows.values()))
        changes = []
        for code in _held(request, rows):
            statuses, more = statuses.release(code, now)
            changes += more
        happened = _apply(case, rows, changes, now=now, actor=user, calendar=current_calendar())
        outcome = "confirmed"
    else:
        request.state = State.REFUSED
        request.reason = reason
        request.signature["reason"] = reason
        happened = _refuse_held(case, request, rows, f"{who}不同意：{reason}", now=now, actor=user)
        outcome = "refused"
    request.save()
    _audit(
        case,
        request,
        f"confirmation_{outcome}",
        user,
        now,
        {"text_sha256": request.signature["text_sha256"]},
    )
    emit(
        ev.ConfirmationDecided(case=case, at=now, request=request, outcome=outcome, actor=user),
        *happened,
    )
    return Decided(request, outcome)


def confirmations_sweep(now: datetime | None = None) -> dict[str, int]:
    """The periodic job: expire unanswered links (their items are refused, the parents
    told) and remind, with a fresh link, those that expire within ``REMIND_BEFORE``."""
    now = now or timezone.now()
    expired = reminded = 0
    pending = ConfirmationRequest.objects.filter(state=State.PENDING)
    for pk in list(pending.filter(expires_at__lte=now).values_list("pk", flat=True)):
        with transaction.atomic():
            case, request, rows = _lock(pk)
            if request.state != State.PENDING or request.expires_at > now:
                continue
            who = SIDE_NAMES.get(request.parent, request.parent)
            request.state = State.EXPIRED
            request.decided_at = now
            request.save(update_fields=["state", "decided_at"])
            happened = _refuse_held(
                case, request, rows, f"{who}未在确认期限内确认", now=now, actor=None
            )
            _audit(case, request, "confirmation_expired", None, now)
            emit(
                ev.ConfirmationDecided(case=case, at=now, request=request, outcome="expired"),
                *happened,
            )
            expired += 1
    due = pending.filter(
        reminded_at__isnull=True, expires_at__gt=now, expires_at__lte=now + REMIND_BEFORE
    )
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            case, request, _ = _lock(pk)
            if request.state != State.PENDING or request.reminded_at is not None:
                continue
            token, request.token_hash = _new_token()
            request.reminded_at = now
            request.save(update_fields=["token_hash", "reminded_at"])
            _audit(case, request, "confirmation_reminded", None, now)
            emit(
                ev.ConfirmationRequested(
                    case=case, at=now, request=request, token=token, reminder=True
                )
            )
            reminded += 1
    return {"expired": expired, "reminded": reminded}
