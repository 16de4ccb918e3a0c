"""The hotline's state changes: FAQ edits (audited) and case-status lookups (each attempt
recorded; wrong answers lock the operator and the case number out for a while)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.audit.services import access_record, audit_record
from onestop.cases.models import Case, Person
from onestop.common.fields import index_of
from onestop.core.errors import OnestopError
from onestop.hotline.models import FaqEntry, LookupAttempt
from onestop.hotline.search import gram_column

FAQ_SEED = Path(__file__).parent / "data" / "faq.yaml"
CASE_NUMBER = re.compile(r"^[A-Za-z0-9-]{4,40}$")


class NotAllowed(OnestopError):
    code = "not_allowed"


# --- who may do what ---------------------------------------------------------------------


def may_edit_faq(user: Any) -> bool:
    """Operators and health staff (officers of the department ``health``) edit the FAQ."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and (
            user.role == Role.OPERATOR
            or (user.role == Role.OFFICER and user.department == "health")
        )
    )


def operator_prefix(user: Any) -> str | None:
    """The division prefix an operator answers for, or None: not an operator (or none)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.role != Role.OPERATOR or user.jurisdiction_kind != JurisdictionKind.DIVISION:
        return None
    return user.jurisdiction_code or None


# --- the FAQ -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqInput:
    question: str
    answer: str
    keywords: str = ""
    reason: str = ""


def _faq_fields(entry: FaqEntry, data: FaqInput) -> None:
    entry.question = data.question.strip()
    entry.answer = data.answer.strip()
    entry.keywords = data.keywords.strip()
    entry.reason = data.reason.strip()
    entry.search_grams = gram_column(entry.question, entry.keywords, entry.answer)


def faq_save(
    *, actor: User, data: FaqInput, now: datetime, entry_id: int | None = None, key: str = ""
) -> FaqEntry:
    """Create or change an entry, with its audit record, in one transaction."""
    if not may_edit_faq(actor):
        raise NotAllowed(_("只有12345话务员和卫生健康部门工作人员可以编辑常见问题"))
    with transaction.atomic():
        if entry_id is None:
            entry = FaqEntry(key=key or f"faq-{int(now.timestamp() * 1000)}", updated_at=now)
            before: dict[str, str] = {}
        else:
            entry = FaqEntry.objects.select_for_update().get(pk=entry_id)
            before = {"question": entry.question, "reason": entry.reason}
            entry.version += 1
        _faq_fields(entry, data)
        entry.updated_at = now
        entry.updated_by = actor
        entry.save()
        audit_record(
            stream=f"faq-{entry.key}",
            at=now,
            actor=actor,
            actor_label=actor.label(),
            action="faq_created" if not before else "faq_changed",
            object_type="faq",
            object_id=entry.key,
            detail={"version": entry.version, "before": before, "reason": entry.reason},
        )
    return entry


def faq_seed(now: datetime, path: Path = FAQ_SEED, model: Any = FaqEntry) -> int:
    """Load the shipped FAQ (data/faq.yaml): entries whose key exists are left as edited.
    Returns how many were added. Used by the data migration (``model`` is then the
    migration's historical model)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    added = 0
    for row in raw["entries"]:
        if model.objects.filter(key=row["key"]).exists():
            continue
        entry = model(key=row["key"], updated_at=now)
        data = FaqInput(
            question=str(row["question"]),
            answer=str(row["answer"]),
            keywords=str(row.get("keywords", "")),
            reason=str(row.get("reason", "")),
        )
        _faq_fields(entry, data)
        entry.save()
        added += 1
    return added


# --- the case-status lookup ------------------------------------------------------------------


@dataclass(frozen=True)
class LookupOutcome:
    outcome: str  # LookupAttempt.Outcome
    case: Case | None  # only when granted

    @property
    def granted(self) -> bool:
        return self.outcome == LookupAttempt.Outcome.GRANTED


def _limit() -> tuple[int, timedelta]:
    return (
        int(getattr(settings, "HOTLINE_LOOKUP_FAILURE_LIMIT", 5)),
        timedelta(minutes=int(getattr(settings, "HOTLINE_LOOKUP_LOCKOUT_MINUTES", 30))),
    )


def normalise_case_number(text: str) -> str:
    return (text or "").strip().upper()[:40]


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _verified(case: Case, method: str, answer: str) -> bool:
    given = (answer or "").strip().upper()
    if method == LookupAttempt.Method.PHONE:
        if not re.fullmatch(r"\d{4}", given):
            return False
        applicant = Person.objects.filter(case=case, role=Person.Role.APPLICANT).first()
        phone = (applicant.phone if applicant else None) or ""
        return len(phone) >= 4 and _same(phone[-4:], given)
    if method == LookupAttempt.Method.MOTHER_ID:
        if not re.fullmatch(r"\d{17}[\dX]", given):
            return False
        return _same(case.mother_id_index, index_of(given, purpose="id"))
    return False


def locked_out(operator: User, number: str, now: datetime) -> bool:
    limit, window = _limit()
    since = now - window
    wrong = LookupAttempt.objects.filter(outcome=LookupAttempt.Outcome.WRONG, at__gte=since)
    return (
        wrong.filter(operator=operator).count() >= limit
        or wrong.filter(case_number=number).count() >= limit
    )


def lookup_case(
    *, operator: User, number: str, method: str, answer: str, now: datetime
) -> LookupOutcome:
    """Look a case up for a caller who has given its number and a second fact. Every
    attempt is recorded (``LookupAttempt`` and a granted or refused access record) in a
    transaction of its own that commits before the answer: a refusal never rolls back its
    own count. A case outside the operator's jurisdiction, an unknown number and a wrong
    answer are one and the same refusal (the caller learns nothing from it)."""
    prefix = operator_prefix(operator)
    if prefix is None:
        raise NotAllowed(_("只有12345话务员可以查询办件"))
    number = normalise_case_number(number)
    if method not in LookupAttempt.Method.values:
        method = LookupAttempt.Method.PHONE
    found: Case | None = None
    with transaction.atomic():
        # One operator's attempts one at a time: the count and the new row agree.
        User.objects.select_for_update().filter(pk=operator.pk).first()
        if locked_out(operator, number, now):
            outcome = LookupAttempt.Outcome.LOCKED
        else:
            case = (
                Case.objects.filter(number=number, division__startswith=prefix).first()
                if CASE_NUMBER.fullmatch(number)
                else None
            )
            if case is not None and _verified(case, method, answer):
                outcome, found = LookupAttempt.Outcome.GRANTED, case
            else:
                outcome = LookupAttempt.Outcome.WRONG
        LookupAttempt.objects.create(
            operator=operator, case_number=number, method=method, outcome=outcome, at=now
        )
        access_record(
            actor=operator,
            case_number=number,
            what=f"hotline_lookup:{method}:{outcome}",
            at=now,
            granted=outcome == LookupAttempt.Outcome.GRANTED,
        )
    return LookupOutcome(outcome, found)
