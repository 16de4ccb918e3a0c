"""Staff sign-in's second factor (等保三级): TOTP with single-use recovery codes.

django-otp keeps the devices (``TOTPDevice``, ``StaticDevice`` for recovery codes) and
their throttling: every wrong code doubles the wait before the next try (1 s, 2 s, 4 s …),
and that count is saved on its own, outside any transaction that could roll it back.
Roles in ``settings.TOTP_REQUIRED_ROLES`` must enrol and verify before any staff page;
anyone else who enrolled voluntarily must verify too.
"""

from __future__ import annotations

import io
from base64 import b32encode
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from onestop.accounts.models import Role, User

TOTP_NAME = "动态口令"
RECOVERY_NAME = "恢复码"
RECOVERY_CODES = 10


def second_factor_required(user: User, *, as_read: bool = False) -> bool:
    """Whether ``user`` must pass a second factor before staff pages (``as_read``: whether
    they enrolled as `enrolled_as_read` says)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser and Role.ADMIN in settings.TOTP_REQUIRED_ROLES:
        return True
    if user.role == Role.PARENT:
        return False
    if user.role in settings.TOTP_REQUIRED_ROLES:
        return True
    return enrolled_as_read(user) if as_read else enrolled(user)


def enrolled(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


# Whether the user had a confirmed TOTP device when the session's read brought the user
# (`onestop.accounts.sessions`: the same question as `enrolled`, in that one statement).
ENROLLED_READ = "_onestop_totp_enrolled"


def enrolled_sql(user_id_column: str) -> str:
    """`enrolled` as an SQL expression of the user id in ``user_id_column``."""
    table = TOTPDevice._meta.db_table
    return (
        f'EXISTS (SELECT 1 FROM "{table}" WHERE "{table}"."user_id" = {user_id_column}'
        f' AND "{table}"."confirmed")'
    )


def enrolled_as_read(user: User) -> bool:
    """`enrolled` as the session's read of this request found it (the second-factor
    middleware, before any view could change it), else asked now."""
    known = getattr(user, ENROLLED_READ, None)  # ``request.user`` is a lazy proxy
    return known if isinstance(known, bool) else enrolled(user)


def pending_device(user: User) -> TOTPDevice:
    """The TOTP device being enrolled (made on first call, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it by hand (base32, in groups of four)."""
    raw = b32encode(device.bin_key).decode()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def qr_svg(device: TOTPDevice) -> bytes:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    recovery_codes: list[str]


def enrol_confirm(user: User, token: str) -> Enrolment | None:
    """Confirm the pending device with a code from the app; on success the user also gets
    fresh recovery codes (shown once). A wrong code is counted by the device's throttle."""
    device = pending_device(user)
    if not device.verify_token(_clean(token)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_renew(user)
    return Enrolment(device, codes)


def recovery_codes_renew(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


@dataclass(frozen=True)
class Check:
    device: Device | None
    throttled: bool = False


def second_factor_check(user: User, token: str) -> Check:
    """The device that accepts ``token``: the authenticator's code, or one recovery code
    (which is then used up). Not in a transaction: each wrong try is counted at once."""
    token = _clean(token)
    throttled = False
    # Six digits are the app's code; anything else is tried as a recovery code. Each
    # kind of device counts only the tries meant for it.
    devices: list[Device] = (
        list(TOTPDevice.objects.filter(user=user, confirmed=True))
        if token.isdigit() and len(token) == 6
        else list(StaticDevice.objects.filter(user=user, confirmed=True))
    )
    for device in devices:
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            throttled = True
            continue
        candidate = token.lower() if isinstance(device, StaticDevice) else token
        if device.verify_token(candidate):
            return Check(device)
    return Check(None, throttled=throttled)


def _clean(token: str) -> str:
    return "".join((token or "").split())[:16]
