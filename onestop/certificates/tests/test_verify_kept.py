"""``/verify/<serial>/`` answered from a kept rendering (issue 10 part 3, ADR 0042
amendment, `onestop.certificates.kept`): the same page as rendered, each person with their
own CSRF token and cookie; a correction, a changed row or a revoked key shows at once;
every request still counts against the per-address limit; a signed-in person gets their own
header."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]
from django.test import Client
from django.utils import timezone

from onestop.certificates.kept import KEPT, kept_clear
from onestop.certificates.models import ELicence
from onestop.certificates.services import qr_content

# The fixtures of the e-licence tests: a qinbei case with its licences, seal keys per test.
from onestop.certificates.tests.test_elicences import (  # noqa: F401
    bmc,
    case,
    done_case,
    seal_keys,
)
from onestop.testing.factories import parent

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Access-Control-Allow-Origin",
    "X-Robots-Tag",
    "Referrer-Policy",
    "Vary",
    "Content-Language",
    "Content-Security-Policy",
)


def _shape(response: Any) -> tuple[Any, ...]:
    """The answer with this person's CSRF token blanked (it is masked anew each time)."""
    body = TOKEN.sub('name="csrfmiddlewaretoken" value="-"', response.content.decode())
    headers = tuple((h, response.get(h)) for h in HEADERS)
    return response.status_code, body, headers, tuple(sorted(response.cookies))


@pytest.mark.parametrize("suffix", ["/", "/?format=json", ".json"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_kept_answer_is_the_rendered_one(bmc, suffix, language):  # noqa: F811
    path = f"/verify/{bmc.serial}{suffix}"
    rendered, kept = [], []
    for _ in range(2):
        # A new person's first request and their second, each rendered ...
        kept_clear()
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        first = client.get(path)
        kept_clear()
        rendered.append((_shape(first), _shape(client.get(path))))
        # ... and another new person's two, both from the kept answer.
        other = Client()
        other.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        kept.append((_shape(other.get(path)), _shape(other.get(path))))
        assert KEPT.hits == 2
    assert rendered[0][0] == kept[0][0] == kept[1][0]
    assert rendered[0][1] == kept[0][1] == kept[1][1]
    assert rendered[0][0][0] == 200
    if suffix == "/":
        assert "csrftoken" in rendered[0][0][3]  # a new person gets the CSRF cookie
        assert 'data-valid="true"' in rendered[0][0][1]


def test_each_person_gets_their_own_csrf_token(bmc):  # noqa: F811
    kept_clear()
    secrets = set()
    for _ in range(3):
        client = Client()
        html = client.get(f"/verify/{bmc.serial}/").content.decode()
        [token] = set(TOKEN.findall(html))
        secret = _unmask_cipher_token(token)
        assert secret == client.cookies[settings.CSRF_COOKIE_NAME].value
        secrets.add(secret)
    assert len(secrets) == 3 and KEPT.hits >= 2


def test_a_correction_shows_at_once(done_case):  # noqa: F811
    kept_clear()
    old = ELicence.objects.get(case=done_case, kind="birth_certificate")
    new = ELicence.objects.filter(case=done_case).exclude(pk=old.pk).first()
    assert new is not None
    client = Client()
    for _ in range(2):  # kept
        assert 'data-code="valid"' in client.get(f"/verify/{old.serial}/").content.decode()
        assert client.get(f"/verify/{new.serial}.json").json()["replaces"] is None
    ELicence.objects.filter(pk=old.pk).update(superseded_by=new, superseded_at=timezone.now())
    html = client.get(f"/verify/{old.serial}/").content.decode()
    assert 'data-code="superseded"' in html and f'data-superseded-by="{new.serial}"' in html
    assert client.get(f"/verify/{old.serial}.json").json()["superseded"]["by"] == new.serial
    assert client.get(f"/verify/{new.serial}.json").json()["replaces"] == old.serial


def test_a_changed_row_or_a_revoked_key_shows_at_once(bmc):  # noqa: F811
    kept_clear()
    client = Client()
    for _ in range(2):
        assert client.get(f"/verify/{bmc.serial}.json").json()["valid"] is True
    ELicence.objects.filter(pk=bmc.pk).update(issuer_code=bmc.issuer_code + "x")
    assert client.get(f"/verify/{bmc.serial}.json").json()["code"] == "registry_mismatch"
    ELicence.objects.filter(pk=bmc.pk).update(issuer_code=bmc.issuer_code)
    assert client.get(f"/verify/{bmc.serial}.json").json()["valid"] is True
    call_command("seal_keys", "revoke", bmc.key_id, stdout=io.StringIO())
    assert client.get(f"/verify/{bmc.serial}.json").json()["code"] == "key_revoked"
    assert 'data-code="key_revoked"' in client.get(f"/verify/{bmc.serial}/").content.decode()


def test_every_request_counts_against_the_address_limit(bmc, settings):  # noqa: F811
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "verify": "4/m"}
    kept_clear()
    client = Client()
    answers = [
        client.get(f"/verify/{bmc.serial}/", REMOTE_ADDR="10.0.0.9").status_code for _ in range(7)
    ]
    assert answers == [200] * 4 + [429] * 3
    assert KEPT.hits >= 3
    assert client.get(f"/verify/{bmc.serial}.json", REMOTE_ADDR="10.0.0.9").status_code == 429
    assert client.get(f"/verify/{bmc.serial}/", REMOTE_ADDR="10.0.0.10").status_code == 200


def test_a_signed_in_person_gets_their_own_header(bmc):  # noqa: F811
    kept_clear()
    public = Client()
    mother = Client()
    mother.force_login(parent("13800000000"))
    for _ in range(2):
        assert "退出" not in public.get(f"/verify/{bmc.serial}/").content.decode()
        signed_in = mother.get(f"/verify/{bmc.serial}/").content.decode()
        assert "退出" in signed_in and "我的办件" in signed_in
        assert "退出" not in public.get(f"/verify/{bmc.serial}/").content.decode()


def test_a_serial_not_on_record_is_not_found(bmc):  # noqa: F811
    kept_clear()
    for _ in range(2):
        answer = Client().get("/verify/QINBEI-20991231-9999-01/")
        assert answer.status_code == 404 and 'data-code="not_found"' in answer.content.decode()
    assert len(KEPT) == 0


def _whole(monkeypatch: Any) -> None:
    """Render every page whole (not from the kept frame)."""
    monkeypatch.setattr("onestop.certificates.views.framed_page", lambda *args: None)


def test_the_framed_page_is_the_whole_page(done_case, monkeypatch, settings):  # noqa: F811
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "verify": "100000/m"}
    licences = list(ELicence.objects.filter(case=done_case).order_by("pk"))
    old, new = licences[0], licences[1]
    ELicence.objects.filter(pk=old.pk).update(superseded_by=new, superseded_at=timezone.now())
    paths = [
        f"/verify/{old.serial}/",  # superseded, with the link to the new one
        f"/verify/{new.serial}/",  # replaces the old one
        f"/verify/{licences[2].serial}/",
        "/verify/QINBEI-20991231-9999-01/",  # not found: 404
        f"/verify/?c={qr_content(licences[2])}",  # from the QR code: the masked summary
        f"/verify/?serial={licences[3].serial}",
        "/verify/?c=garbage",  # malformed: 400
        "/verify/",  # the form only
    ]
    ELicence.objects.filter(pk=licences[3].pk).update(issuer_code="x")  # registry_mismatch
    statuses = set()
    for language in ("zh-hans", "en"):
        for path in paths:
            answers = []
            for whole in (False, True):
                kept_clear()
                with monkeypatch.context() as patched:
                    if whole:
                        _whole(patched)
                    client = Client()
                    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
                    answers.append((_shape(client.get(path)), _shape(client.get(path))))
            assert answers[0] == answers[1], (language, path)
            statuses.add(answers[0][0][0])
    assert statuses == {200, 400, 404}
