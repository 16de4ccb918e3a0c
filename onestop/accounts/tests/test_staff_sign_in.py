"""Staff sign-in through HTTP, as a password guesser and as a careless user would (issue 8,
等保三级: "a second factor (TOTP, with recovery codes; required for administrators and
supervisors, configurable for officers), lockout/throttling of password guessing per
account and per IP, idle session timeout (e.g. 30 minutes for staff), password policy")."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from onestop.accounts.models import User
from onestop.testing.factories import STAFF_PASSWORD, parent, staff
from onestop.testing.reliability import reliability_record

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = [pytest.mark.django_db, pytest.mark.real_second_factor]

LOGIN = "/accounts/login/"


def _login(
    client: Client, username: str, password: str, ip: str = "198.51.100.1"
) -> _MonkeyPatchedWSGIResponse:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def _later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    moved = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moved)


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(settings):
    clerk = staff("clerk", kind="service_center", code="qinbei-sc")
    tried = 0
    for n in range(5):  # from five different addresses: the account itself is locked
        response = _login(Client(), clerk.username, f"wrong-{n}-password", ip=f"203.0.113.{n}")
        tried += 1
        # Four get the form again; the fifth already gets the lockout page.
        assert response.status_code == (429 if n == 4 else 200)
    attacker = Client()
    locked = _login(attacker, clerk.username, STAFF_PASSWORD, ip="203.0.113.99")
    assert locked.status_code == 429 and not _signed_in(attacker)
    assert locked["Retry-After"] == str(15 * 60)
    assert "登录已暂时锁定" in locked.content.decode()
    failures = sum(
        AccessAttempt.objects.filter(username=clerk.username).values_list(
            "failures_since_start", flat=True
        )
    )
    assert failures >= 5
    reliability_record("staff sign-in", "wrong passwords tried against one account", tried)
    reliability_record("staff sign-in", "right password accepted after lockout (0/1)", 0)
    # After the cool-off the right password works again.
    _later_by_axes(settings)
    assert _login(Client(), clerk.username, STAFF_PASSWORD, ip="203.0.113.99").status_code == 302


def _later_by_axes(settings: object) -> None:
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))


def test_five_wrong_passwords_from_one_address_lock_that_address_for_every_account():
    victims = [staff("officer", department="tax", kind="division", code="450703") for _ in range(6)]
    statuses = [
        _login(Client(), victim.username, "not-the-password", ip="203.0.113.7").status_code
        for victim in victims[:5]
    ]
    assert statuses == [200, 200, 200, 200, 429]
    attacker = Client()
    blocked = _login(attacker, victims[5].username, STAFF_PASSWORD, ip="203.0.113.7")
    assert blocked.status_code == 429 and not _signed_in(attacker)
    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").count() >= 5
    # The same account from another address is not blocked by that address.
    other = Client()
    assert _login(other, victims[5].username, STAFF_PASSWORD, ip="198.51.100.8").status_code == 302
    reliability_record("staff sign-in", "wrong passwords from one address across accounts", 5)
    reliability_record("staff sign-in", "sign-ins accepted from that address afterwards", 0)


def test_signing_in_to_ones_own_account_between_guesses_resets_nothing():
    """An insider guesses a colleague's password and signs in to their own account after
    every few guesses, hoping to reset the counters."""
    insider = staff("clerk", kind="service_center", code="qinbei-sc")
    victim = staff("supervisor", kind="division", code="450703")
    statuses = []
    for n in range(6):
        statuses.append(_login(Client(), victim.username, f"guess-{n}-pw", ip="203.0.113.5"))
        if n % 2:
            _login(Client(), insider.username, STAFF_PASSWORD, ip="203.0.113.5")
    assert [r.status_code for r in statuses[:4]] == [200, 200, 200, 200]
    assert statuses[4].status_code == 429
    elsewhere = Client()
    assert _login(elsewhere, victim.username, STAFF_PASSWORD, ip="192.0.2.1").status_code == 429
    assert not _signed_in(elsewhere)


def test_the_admin_site_sign_in_is_locked_too():
    admin = User.objects.create_superuser(
        username="root-admin", password=STAFF_PASSWORD, role="admin"
    )
    for n in range(5):
        Client().post(
            "/admin/login/",
            {"username": admin.username, "password": f"bad-{n}", "otp_token": "123456"},
            REMOTE_ADDR=f"203.0.113.{n}",
        )
    blocked = Client().post(
        "/admin/login/",
        {"username": admin.username, "password": STAFF_PASSWORD, "otp_token": "123456"},
        REMOTE_ADDR="203.0.113.50",
    )
    assert blocked.status_code == 429
    assert AccessAttempt.objects.filter(username=admin.username).exists()


def test_supervisor_enrols_totp_before_reaching_supervision(monkeypatch):
    supervisor = staff("supervisor", kind="division", code="450703")
    client = Client()
    assert _login(client, supervisor.username, STAFF_PASSWORD).status_code == 302
    page = client.get("/supervise/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/otp/setup/")
    setup = client.get(page["Location"])
    assert setup.status_code == 200 and "绑定动态口令" in setup.content.decode()
    qr = client.get("/accounts/otp/setup/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    assert device.config_url.split("secret=")[1][:8] in setup.content.decode().replace(" ", "")
    # A wrong code is refused and counted; the page stays closed.
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    refused = client.post("/accounts/otp/setup/", {"token": wrong})
    assert "动态口令不正确" in refused.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1 and not device.confirmed
    assert client.get("/supervise/").status_code == 302
    _later(monkeypatch, timedelta(seconds=5))  # past the throttle's 1 s wait
    done = client.post("/accounts/otp/setup/", {"token": _code(device), "next": "/supervise/"})
    assert done.status_code == 200 and "恢复码" in done.content.decode()
    assert StaticToken.objects.filter(device__user=supervisor).count() == 10
    assert client.get("/supervise/").status_code == 200


def test_wrong_totp_is_refused_and_a_recovery_code_works_once(monkeypatch):
    supervisor = staff("supervisor", kind="division", code="450703")
    device = TOTPDevice.objects.create(user=supervisor, name="app", confirmed=True)
    from onestop.accounts.second_factor import recovery_codes_renew

    codes = recovery_codes_renew(supervisor)
    client = Client()
    _login(client, supervisor.username, STAFF_PASSWORD)
    assert client.get("/supervise/")["Location"].startswith("/accounts/otp/?")
    tried = accepted = 0
    for guess in ("000000", "123456", "999999"):
        _later(monkeypatch, timedelta(seconds=60 * (tried + 1)))
        response = client.post("/accounts/otp/", {"token": guess, "next": "/supervise/"})
        tried += 1
        accepted += response.status_code == 302
    assert client.get("/supervise/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 3  # each wrong code counted, none rolled back
    # Right after a wrong code, even the right one waits (throttled): 429.
    throttled = client.post("/accounts/otp/", {"token": _code(device)})
    assert throttled.status_code == 429
    reliability_record("staff sign-in", "wrong TOTP codes tried", tried)
    reliability_record("staff sign-in", "wrong TOTP codes accepted", accepted)
    # A recovery code signs in once.
    ok = client.post("/accounts/otp/", {"token": codes[0].upper(), "next": "/supervise/"})
    assert ok.status_code == 302 and ok["Location"] == "/supervise/"
    assert client.get("/supervise/").status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    again = Client()
    _login(again, supervisor.username, STAFF_PASSWORD)
    reused = again.post("/accounts/otp/", {"token": codes[0], "next": "/supervise/"})
    assert reused.status_code in (200, 429) and again.get("/supervise/").status_code == 302


def test_an_unverified_admin_cannot_open_the_admin_site():
    User.objects.create_superuser(username="root", password=STAFF_PASSWORD, role="admin")
    client = Client()
    assert _login(client, "root", STAFF_PASSWORD).status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302 and "/accounts/otp/setup/" in response["Location"]
    assert client.get("/admin/accounts/user/").status_code == 302


def test_officers_need_no_totp_unless_the_setting_says_so(settings):
    officer = staff("officer", department="police", kind="police_station", code="qinbei-xintang")
    client = Client()
    _login(client, officer.username, STAFF_PASSWORD)
    assert client.get("/work/").status_code == 200
    settings.TOTP_REQUIRED_ROLES = ["admin", "supervisor", "officer"]
    assert client.get("/work/")["Location"].startswith("/accounts/otp/setup/")


def test_an_officer_who_enrolled_must_verify_from_the_next_request():
    """Whether a staff member enrolled is read with the session (one statement, issue 10
    part 3): a device confirmed meanwhile (another session, the admin) counts at once."""
    officer = staff("officer", department="police", kind="police_station", code="qinbei-xintang")
    client = Client()
    _login(client, officer.username, STAFF_PASSWORD)
    assert client.get("/work/").status_code == 200
    TOTPDevice.objects.create(user=officer, name="动态口令", confirmed=False)
    assert client.get("/work/").status_code == 200  # not confirmed: not enrolled
    TOTPDevice.objects.filter(user=officer).update(confirmed=True)
    assert client.get("/work/")["Location"] == "/accounts/otp/?next=%2Fwork%2F"  # the code page


def test_an_idle_staff_session_is_signed_out_after_thirty_minutes(monkeypatch):
    officer = staff("officer", department="police", kind="police_station", code="qinbei-xintang")
    client = Client()
    _login(client, officer.username, STAFF_PASSWORD)
    assert client.get("/work/").status_code == 200
    _later(monkeypatch, timedelta(minutes=29))
    assert client.get("/work/").status_code == 200  # activity keeps it open
    _later(monkeypatch, timedelta(minutes=29 + 31))
    response = client.get("/work/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not _signed_in(client)


def test_a_parent_session_lasts_longer(monkeypatch):
    client = Client()
    client.force_login(parent("13800000000"))
    assert client.get("/my/cases/").status_code == 200
    _later(monkeypatch, timedelta(minutes=45))
    assert client.get("/my/cases/").status_code == 200
    _later(monkeypatch, timedelta(minutes=45 + 121))
    assert client.get("/my/cases/")["Location"].startswith("/accounts/parent/")


def test_password_policy():
    user = User(username="wang.fang", display_name="王芳")
    for weak in ("short-pass1", "123456789012", "password1234", "wang.fang.2026"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password("onestop-demo-2026", user)
    validate_password(STAFF_PASSWORD, user)
