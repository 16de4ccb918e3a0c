"""Parents' sign-in with a phone number and a one-time SMS code."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import OneTimeCode, Role, User
from onestop.common.fields import index_of
from onestop.core.errors import OnestopError
from onestop.notifications.services import notification_queue

CODE_TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 5
MAX_CODES_PER_HOUR = 5
MOBILE = re.compile(r"1[3-9]\d{9}")


class OtpError(OnestopError):
    code = "otp_invalid"


def normalise_phone(raw: str) -> str:
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not MOBILE.fullmatch(phone):
        raise OtpError(_("请输入11位手机号码，例如 13800000000"), code="phone_invalid")
    return phone


def _hash(code: str, phone_index: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{phone_index}:{code}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def otp_request(*, phone: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    phone = normalise_phone(phone)
    index = index_of(phone, purpose="phone")
    recent = OneTimeCode.objects.select_for_update().filter(
        phone_index=index, created_at__gte=now - timedelta(hours=1)
    )
    if recent.filter(created_at__gte=now - RESEND_AFTER).exists():
        raise OtpError(_("验证码已发送，请60秒后再试"), code="otp_too_soon")
    if recent.count() >= MAX_CODES_PER_HOUR:
        raise OtpError(_("验证码请求过于频繁，请一小时后再试"), code="otp_throttled")
    code = f"{secrets.randbelow(1_000_000):06d}"
    OneTimeCode.objects.create(
        phone_index=index, code_hash=_hash(code, index), created_at=now, expires_at=now + CODE_TTL
    )
    notification_queue(
        key=f"otp:{index[:16]}:{now.timestamp()}",
        phones=[phone],
        body=f"【出生一件事】您的登录验证码是 {code}，5分钟内有效。请勿告诉他人。",
        at=now,
        channels=["sms"],
    )


@transaction.atomic
def otp_verify(*, phone: str, code: str, now: datetime | None = None) -> User:
    now = now or timezone.now()
    phone = normalise_phone(phone)
    index = index_of(phone, purpose="phone")
    candidate = (
        OneTimeCode.objects.select_for_update()
        .filter(phone_index=index, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if candidate is None:
        raise OtpError(_("验证码已过期或不存在，请重新获取"))
    if candidate.attempts >= MAX_ATTEMPTS:
        raise OtpError(_("验证码错误次数过多，请重新获取"))
    if not hmac.compare_digest(candidate.code_hash, _hash((code or "").strip(), index)):
        candidate.attempts += 1
        candidate.save(update_fields=["attempts"])
        raise OtpError(_("验证码不正确"))
    candidate.used_at = now
    candidate.save(update_fields=["used_at"])
    user = User.objects.filter(phone_index=index).first()
    if user is None:
        user = User(username=f"p-{index[:20]}", role=Role.PARENT, phone=phone, phone_index=index)
        user.set_unusable_password()
        user.save()
    return user
