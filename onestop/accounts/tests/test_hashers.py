"""Staff passwords: Argon2id at the parameters chosen by measurement (ADR 0026), and a
password stored with Django's old default parameters (100 MiB, 8 lanes) is re-hashed with
them at the next sign-in through the login form."""

from __future__ import annotations

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher, identify_hasher
from django.test import Client

from onestop.accounts.hashers import Argon2idHasher
from onestop.accounts.models import User
from onestop.testing.factories import STAFF_PASSWORD, officer

pytestmark = pytest.mark.django_db


def _params(encoded: str) -> argon2.Parameters:
    return argon2.extract_parameters("$" + encoded.split("$", 1)[1])


def test_new_passwords_are_argon2id_at_19_mib_two_passes_one_lane():
    user = officer("cdc", "division", "450703")
    params = _params(user.password)
    assert user.password.startswith("argon2$argon2id$")
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    assert isinstance(get_hasher("default"), Argon2idHasher)


def test_an_old_hash_is_rehashed_with_the_new_parameters_at_sign_in():
    user = officer("cdc", "division", "450703")
    old = Argon2PasswordHasher()  # Django's default: m=100 MiB, t=2, p=8
    User.objects.filter(pk=user.pk).update(password=old.encode(STAFF_PASSWORD, old.salt()))
    user.refresh_from_db()
    assert _params(user.password).memory_cost == 102400
    assert identify_hasher(user.password).must_update(user.password)

    client = Client()
    response = client.post(
        "/accounts/login/",
        {"username": user.username, "password": STAFF_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )

    assert response.status_code == 302 and "_auth_user_id" in client.session
    user.refresh_from_db()
    params = _params(user.password)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    assert not identify_hasher(user.password).must_update(user.password)
    # The re-hashed password still signs in.
    again = Client().post(
        "/accounts/login/",
        {"username": user.username, "password": STAFF_PASSWORD},
        REMOTE_ADDR="198.51.100.8",
    )
    assert again.status_code == 302
