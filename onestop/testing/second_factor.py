"""Tests and the second factor (ADR 0013).

Most tests sign staff in with ``Client.force_login`` to test something else than sign-in;
the root conftest then also marks the session as having passed the second factor (as the
TOTP step would), so admins and supervisors reach their pages. Tests of the sign-in itself
are marked ``real_second_factor`` and go through every step over HTTP.
"""

from __future__ import annotations

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from onestop.accounts.models import Role, User


def mark_verified(client: Client, user: User) -> None:
    if user.role == Role.PARENT and not (user.is_staff or user.is_superuser):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
