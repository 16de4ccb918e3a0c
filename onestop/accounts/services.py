"""Parents' sign-in with a phone number and a one-time SMS code.

Every limit here is counted in the database, so it holds across processes and restarts:

* guessing (issue 8, defect 1: "468 wrong guesses per second were accepted and the real
  code still worked after 9,353 tries"): a wrong guess is counted in its own committed
  transaction *before* the error is raised, so no rollback can undo it. A code dies after
  ``MAX_ATTEMPTS`` wrong guesses; a phone is locked for ``PHONE_LOCK_WINDOW`` after
  ``settings.OTP_MAX_FAILURES_PER_PHONE`` wrong guesses across all of its codes, even
  with a fresh code;
* sending (issue 8: "40 different phones got codes from one client in 0.2 s"): per phone
  (one per 60 s, five per hour), per client IP (keyed hash, never the address itself) and
  for the whole platform per minute. Over a limit: :class:`OtpThrottled` with the seconds
  after which to retry (the view answers 429 with ``Retry-After``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.events import OneTimeCodeIssued
from onestop.accounts.models import OneTimeCode, Role, User
from onestop.common.fields import index_of
from onestop.core.errors import OnestopError
from onestop.core.events import emit

CODE_TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 5  # wrong guesses per code; then the code is dead
MAX_CODES_PER_HOUR = 5
PHONE_LOCK_WINDOW = timedelta(hours=1)
IP_WINDOW = timedelta(hours=1)
GLOBAL_WINDOW = timedelta(minutes=1)
MOBILE = re.compile(r"1[3-9]\d{9}")
# One advisory lock (PostgreSQL) serialises code requests, so two concurrent requests
# cannot both pass the per-IP or global count; SQLite's IMMEDIATE transactions already do.
_REQUEST_LOCK = 80_080_001


class OtpError(OnestopError):
    code = "otp_invalid"


class OtpThrottled(OtpError):
    """Too many requests or guesses: the caller may retry after ``retry_after`` seconds."""

    code = "otp_throttled"

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


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


def ip_digest(ip: str) -> str:
    """A keyed hash of the client address: requests from one address can be counted
    without keeping the address (personal data under PIPL). An IPv6 client counts by its
    /64 network (one subscriber usually holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return index_of(ip or "-", purpose="client-ip")
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        else:
            network = ipaddress.ip_network(f"{address}/64", strict=False)
            return index_of(str(network), purpose="client-ip")
    return index_of(str(address), purpose="client-ip")


def _seconds(delta: timedelta) -> int:
    return math.ceil(delta.total_seconds())


def otp_request(*, phone: str, ip: str = "", now: datetime | None = None) -> None:
    """Send a code to ``phone``, unless one of the sending limits is reached."""
    now = now or timezone.now()
    phone = normalise_phone(phone)
    index = index_of(phone, purpose="phone")
    ip_hash = ip_digest(ip)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REQUEST_LOCK])
        _check_send_limits(index=index, ip_hash=ip_hash, now=now)
        code = f"{secrets.randbelow(1_000_000):06d}"
        OneTimeCode.objects.create(
            phone_index=index,
            ip_hash=ip_hash,
            code_hash=_hash(code, index),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        emit(OneTimeCodeIssued(phone=phone, phone_index=index, code=code, at=now))


def _check_send_limits(*, index: str, ip_hash: str, now: datetime) -> None:
    """Raises before anything is written (nothing to roll back)."""
    locked = _phone_locked_until(index, now)
    if locked is not None:
        raise OtpThrottled(
            _("验证码错误次数过多，该手机号码已暂时锁定，请一小时后再试"),
            code="otp_phone_locked",
            retry_after=_seconds(locked - now),
        )
    recent = OneTimeCode.objects.filter(phone_index=index, created_at__gte=now - timedelta(hours=1))
    last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and last >= now - RESEND_AFTER:
        raise OtpThrottled(
            _("验证码已发送，请60秒后再试"),
            code="otp_too_soon",
            retry_after=_seconds(last + RESEND_AFTER - now),
        )
    if recent.count() >= MAX_CODES_PER_HOUR:
        oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
        assert oldest is not None
        raise OtpThrottled(
            _("验证码请求过于频繁，请一小时后再试"),
            code="otp_throttled",
            retry_after=_seconds(oldest + timedelta(hours=1) - now),
        )
    per_ip = OneTimeCode.objects.filter(ip_hash=ip_hash, created_at__gte=now - IP_WINDOW)
    if per_ip.count() >= settings.OTP_CODES_PER_IP_PER_HOUR:
        oldest = per_ip.order_by("created_at").values_list("created_at", flat=True).first()
        assert oldest is not None
        raise OtpThrottled(
            _("本网络获取验证码的次数过多，请一小时后再试"),
            code="otp_ip_throttled",
            retry_after=_seconds(oldest + IP_WINDOW - now),
        )
    everyone = OneTimeCode.objects.filter(created_at__gte=now - GLOBAL_WINDOW)
    if everyone.count() >= settings.OTP_CODES_PER_MINUTE:
        raise OtpThrottled(
            _("当前获取验证码的人数较多，请稍后再试"),
            code="otp_busy",
            retry_after=_seconds(GLOBAL_WINDOW),
        )


def _phone_failures(index: str, now: datetime) -> int:
    total = OneTimeCode.objects.filter(
        phone_index=index, last_failed_at__gte=now - PHONE_LOCK_WINDOW
    ).aggregate(n=Sum("attempts"))["n"]
    return int(total or 0)


def _phone_locked_until(index: str, now: datetime) -> datetime | None:
    """The phone is locked while it has too many wrong guesses within the window; the lock
    ends one window after the last wrong guess."""
    if _phone_failures(index, now) < settings.OTP_MAX_FAILURES_PER_PHONE:
        return None
    last = (
        OneTimeCode.objects.filter(phone_index=index, last_failed_at__isnull=False)
        .order_by("-last_failed_at")
        .values_list("last_failed_at", flat=True)
        .first()
    )
    return (last or now) + PHONE_LOCK_WINDOW


class _Outcome(Enum):
    OK = "ok"
    NO_CODE = "no_code"
    CODE_DEAD = "code_dead"
    WRONG = "wrong"
    PHONE_LOCKED = "phone_locked"
    NOT_PARENT = "not_parent"


@dataclass(frozen=True)
class _Check:
    outcome: _Outcome
    user: User | None = None
    locked_until: datetime | None = None


def otp_verify(*, phone: str, code: str, now: datetime | None = None) -> User:
    """The parent whose code this is, or :class:`OtpError`. The check (and the count of a
    wrong guess) commits first; only then is the error raised, outside the transaction."""
    now = now or timezone.now()
    phone = normalise_phone(phone)
    index = index_of(phone, purpose="phone")
    check = _otp_check(phone=phone, index=index, code=(code or "").strip(), now=now)
    if check.outcome is _Outcome.OK:
        assert check.user is not None
        return check.user
    if check.outcome is _Outcome.PHONE_LOCKED:
        assert check.locked_until is not None
        raise OtpThrottled(
            _("验证码错误次数过多，该手机号码已暂时锁定，请一小时后再试"),
            code="otp_phone_locked",
            retry_after=_seconds(check.locked_until - now),
        )
    if check.outcome is _Outcome.NOT_PARENT:
        raise OtpError(_("该手机号码不能用于家长登录"), code="otp_not_parent")
    if check.outcome is _Outcome.NO_CODE:
        raise OtpError(_("验证码已过期或不存在，请重新获取"), code="otp_expired")
    if check.outcome is _Outcome.CODE_DEAD:
        raise OtpError(_("验证码错误次数过多，请重新获取"), code="otp_exhausted")
    raise OtpError(_("验证码不正确"), code="otp_invalid")


@transaction.atomic
def _otp_check(*, phone: str, index: str, code: str, now: datetime) -> _Check:
    """Never raises for a wrong code: it returns the outcome, so the count commits."""
    candidate = (
        OneTimeCode.objects.select_for_update()
        .filter(phone_index=index, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    locked = _phone_locked_until(index, now)
    if locked is not None:
        return _Check(_Outcome.PHONE_LOCKED, locked_until=locked)
    if candidate is None:
        return _Check(_Outcome.NO_CODE)
    if candidate.attempts >= MAX_ATTEMPTS:
        return _Check(_Outcome.CODE_DEAD)
    if not hmac.compare_digest(candidate.code_hash, _hash(code, index)):
        OneTimeCode.objects.filter(pk=candidate.pk).update(
            attempts=F("attempts") + 1, last_failed_at=now
        )
        locked = _phone_locked_until(index, now)
        if locked is not None:
            return _Check(_Outcome.PHONE_LOCKED, locked_until=locked)
        return _Check(_Outcome.WRONG)
    candidate.used_at = now
    candidate.save(update_fields=["used_at"])
    user = User.objects.filter(phone_index=index).first()
    if user is not None and user.role != Role.PARENT:
        # A staff account signs in with password and second factor, never by SMS.
        return _Check(_Outcome.NOT_PARENT)
    if user is None:
        user = User(username=f"p-{index[:20]}", role=Role.PARENT, phone=phone, phone_index=index)
        user.set_unusable_password()
        user.save()
    return _Check(_Outcome.OK, user=user)
