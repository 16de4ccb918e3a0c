"""Sign a case's previews as its applicant (ADR 0035), for tests and demos that need the
Fuzhou birth certificate to go on: the applicant's user, a fresh SMS code read from the
outbox as the phone would receive it, and the digest of what the preview page shows."""

from __future__ import annotations

import re
from datetime import datetime

from django.utils import timezone

from onestop.accounts.models import Role, User
from onestop.accounts.services import otp_request
from onestop.cases.models import Case
from onestop.certificates.preview import (
    documents_json,
    open_preview,
    preview_confirm,
    preview_digest,
    preview_documents,
)
from onestop.common.fields import index_of
from onestop.notifications.models import Notification
from onestop.workflow.models import PreviewConfirmation


def applicant_user(case: Case) -> User:
    applicant = case.typed_document().applicant
    assert applicant is not None and applicant.phone
    index = index_of(applicant.phone, purpose="phone")
    user = User.objects.filter(role=Role.PARENT, phone_index=index).first()
    if user is None:
        user = User.objects.create_user(
            username=f"parent-{index[:12]}", role=Role.PARENT, phone=applicant.phone,
            phone_index=index,
        )  # fmt: skip
    return user


def last_code(phone: str) -> str:
    index = index_of(phone, purpose="phone")
    bodies = Notification.objects.filter(channel="sms", phone_index=index).order_by("-pk")
    for row in bodies:
        found = re.findall(r"验证码是 (\d{6})", row.body)
        if found:
            return str(found[-1])
    raise AssertionError("no sign-in code was sent")


def preview_sign(case: Case, *, now: datetime | None = None) -> PreviewConfirmation | None:
    """Confirm the case's pending previews as the applicant (None: the case has none)."""
    preview = open_preview(case)
    if preview is None:
        return None
    now = now or timezone.now()
    user = applicant_user(case)
    assert user.phone
    otp_request(phone=user.phone, now=now)
    digest = preview_digest(documents_json(preview_documents(case, preview.documents_kinds)))
    applicant = case.typed_document().applicant
    return preview_confirm(
        case=case,
        user=user,
        digest=digest,
        typed_name=(applicant.name if applicant else "") or "",
        sms_code=last_code(user.phone),
        now=now,
    )
