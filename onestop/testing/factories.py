"""Test helpers that create users with roles and jurisdictions."""

from __future__ import annotations

from itertools import count
from typing import Any

from onestop.accounts.models import Role, User
from onestop.common.fields import index_of

_seq = count(1)


def staff(
    role: str, *, department: str = "", kind: str = "", code: str = "", name: str = ""
) -> User:
    n = next(_seq)
    return User.objects.create_user(
        username=f"{role}-{department or 'x'}-{n}",
        password="demo-pass-123",
        role=role,
        department=department,
        jurisdiction_kind=kind,
        jurisdiction_code=code,
        display_name=name or f"{role}{n}",
    )


def officer(department: str, kind: str, code: str, name: str = "") -> User:
    return staff(Role.OFFICER, department=department, kind=kind, code=code, name=name)


def parent(phone: str, **extra: Any) -> User:
    return User.objects.create_user(
        username=f"parent-{next(_seq)}",
        role=Role.PARENT,
        phone=phone,
        phone_index=index_of(phone, purpose="phone"),
        **extra,
    )
