"""The /verify/ answers are remembered, and never stale: a changed byte of the row, of the
stored ciphertext, of the sealed document or signature, or a revoked key is verified afresh
(issue 10: "the answer for a serial never changes" — except when any of these does). And
licences sealed by the pure-Python SM2 before the switch verify with the compiled one."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from onestop.certificates import seal as seal_module
from onestop.certificates import services
from onestop.certificates.models import ELicence
from onestop.certificates.seal import SM2_SM3, Sm2Sm3Python, b64url, b64url_decode
from onestop.certificates.services import elicence_verify, qr_content, verify_cache_clear
from onestop.certificates.tests.test_elicences import (  # noqa: F401 - fixtures
    _flip_char,
    _raw_payload,
    _set_raw,
    bmc,
    case,
    complete,
    seal_keys,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def count_checks(monkeypatch):
    """How many signature checks the registry verification made."""
    calls: list[int] = []
    real = services.verify_sealed

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "verify_sealed", counting)
    return calls


def test_a_valid_answer_is_remembered(bmc, count_checks):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid
    assert len(count_checks) == 1
    for _ in range(3):
        assert elicence_verify(serial=bmc.serial).valid
        assert elicence_verify(content=qr_content(bmc)).valid
    assert len(count_checks) == 1  # the QR content equal to the record: the same answer
    body = Client().get(f"/verify/{bmc.serial}.json").json()
    assert body["valid"] is True and len(count_checks) == 1


@pytest.mark.parametrize(
    "column",
    ["sealed", "signature", "payload", "issuer_code", "kind", "key_id"],
)
def test_a_changed_row_is_not_answered_from_the_cache(bmc, count_checks, column):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid  # remembered
    if column == "sealed":
        at = bmc.sealed.index("Q450123456") + 9
        value = bmc.sealed[:at] + "7" + bmc.sealed[at + 1 :]
    elif column == "signature":
        raw = bytearray(b64url_decode(bmc.signature))
        raw[-1] ^= 0x01
        value = b64url(bytes(raw))
    elif column == "payload":
        raw_payload = _raw_payload(bmc)
        value = _flip_char(raw_payload, len(raw_payload) // 2)
    else:
        value = getattr(bmc, column) + "x"
    _set_raw(bmc, column, value)
    answer = elicence_verify(serial=bmc.serial)
    assert not answer.valid, column
    assert answer.code in ("bad_signature", "registry_mismatch", "digest_mismatch", "unknown_key")
    assert not Client().get(f"/verify/{bmc.serial}.json").json()["valid"]
    # Put back, the row verifies (and is found in the cache again).
    _set_raw(bmc, column, getattr(bmc, column) if column != "payload" else raw_payload)
    before = len(count_checks)
    assert elicence_verify(serial=bmc.serial).valid
    assert len(count_checks) == before


def test_a_revoked_key_is_never_answered_valid_from_the_cache(bmc):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid
    assert elicence_verify(content=qr_content(bmc)).valid
    call_command("seal_keys", "revoke", bmc.key_id, stdout=io.StringIO())
    assert elicence_verify(serial=bmc.serial).code == "key_revoked"
    assert elicence_verify(content=qr_content(bmc)).code == "key_revoked"
    assert Client().get(f"/verify/{bmc.serial}.json").json()["code"] == "key_revoked"


def test_rotation_keeps_the_remembered_answer_valid(bmc):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid
    call_command("seal_keys", "rotate", "--issuer", bmc.issuer_code, stdout=io.StringIO())
    assert elicence_verify(serial=bmc.serial).valid


def test_presented_content_that_differs_from_the_record_is_refused(bmc):
    verify_cache_clear()
    assert elicence_verify(content=qr_content(bmc)).valid
    content = qr_content(bmc)
    assert not elicence_verify(content=_flip_char(content, len(content) - 5)).valid
    assert not elicence_verify(content=_flip_char(content, 40)).valid


def test_licences_sealed_by_the_pure_python_sm2_still_verify(case, beijing, monkeypatch):
    """An e-licence issued before the switch (pure-Python SM2) verifies with the compiled
    implementation, through the service and the public JSON."""
    monkeypatch.setitem(seal_module.ALGORITHMS, SM2_SM3, Sm2Sm3Python())
    complete(case, {"birth_certificate"}, beijing=beijing)
    old = ELicence.objects.get(case=case, kind="birth_certificate")
    monkeypatch.undo()
    assert type(seal_module.ALGORITHMS[SM2_SM3]) is seal_module.Sm2Sm3
    verify_cache_clear()
    assert elicence_verify(serial=old.serial).valid
    assert elicence_verify(content=qr_content(old)).valid
    assert Client().get(f"/verify/{old.serial}.json").json()["valid"] is True
    # And the other way: the pure-Python one verifies what the compiled one seals now.
    complete(case, beijing=beijing)
    new = ELicence.objects.filter(case=case).exclude(pk=old.pk)
    assert new.count() == 6
    keys = services.published_keys()
    for licence in new:
        signature = b64url_decode(licence.signature)
        public = keys[licence.key_id].public_key
        assert Sm2Sm3Python().verify(public, licence.sealed.encode(), signature)
        assert elicence_verify(serial=licence.serial).valid
