"""The password sign-in's read of a user by username (``User.objects.get_by_natural_key``,
compiled once per process: onestop.accounts.models.UserManager) answers what Django's
``get(username=…)`` answers — the same row with every field, ``DoesNotExist`` for none,
exact (case and spaces count)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from onestop.accounts.models import User
from onestop.testing.factories import STAFF_PASSWORD, parent, staff

pytestmark = pytest.mark.django_db


def _fields(user: User) -> dict[str, object]:
    return {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields}


def test_the_user_read_by_username_is_djangos():
    users = [
        staff("officer", department="tax", kind="division", code="450703", name="王芳"),
        staff("supervisor", kind="division", code="45"),
        parent("13800000017"),
    ]
    inactive = staff("clerk", kind="service_center", code="qinbei-sc")
    inactive.is_active = False
    inactive.save()
    for user in [*users, inactive]:
        found = User.objects.get_by_natural_key(user.username)
        assert type(found) is User and found._state.adding is False
        assert _fields(found) == _fields(User.objects.get(username=user.username))
        assert model_to_dict(found) == model_to_dict(User.objects.get(pk=user.pk))
    assert User.objects.get_by_natural_key(users[2].username).phone == "13800000017"
    for missing in ("nobody", users[0].username.upper(), users[0].username + " ", ""):
        with pytest.raises(User.DoesNotExist):
            User.objects.get_by_natural_key(missing)


def test_one_statement_and_the_password_still_checked():
    officer = staff("officer", department="police", kind="police_station", code="qinbei-x")
    User.objects.get_by_natural_key(officer.username)
    with CaptureQueriesContext(connection) as queries:
        found = User.objects.get_by_natural_key(officer.username)
    assert len(queries) == 1 and found.check_password(STAFF_PASSWORD)
    assert not found.check_password("not-the-password")
