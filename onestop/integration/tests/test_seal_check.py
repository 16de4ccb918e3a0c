"""A prior e-licence sealed by this product is trusted by any web process without a second
SM2 verification (its keyed seal check, issue 10, ADR 22 amendment of session 31) — and a
changed licence row, payload, signature or check value, or a revoked key, is still reported
invalid through the API's claim, its task detail and the public /verify/ page, whether the
process remembered the licence's verdict or not."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from onestop.certificates import seal as seal_module
from onestop.certificates import services
from onestop.certificates.models import ELicence
from onestop.certificates.seal import SM2_SM3, b64url, b64url_decode
from onestop.certificates.services import _key_parts, published_keys, seal_check, verify_cache_clear
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def seal_keys(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "seal-keys"
    settings.SEAL_KEYS_DIR = folder
    return folder


class _Counting:
    """The SM2 algorithm, counting its signature verifications."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.verified = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def verify(self, *args: Any, **kwargs: Any) -> bool:
        self.verified += 1
        return bool(self.inner.verify(*args, **kwargs))


@pytest.fixture
def sm2(monkeypatch: pytest.MonkeyPatch) -> _Counting:
    counting = _Counting(seal_module.ALGORITHMS[SM2_SM3])
    monkeypatch.setitem(seal_module.ALGORITHMS, SM2_SM3, counting)
    return counting


@pytest.fixture
def claimable(example: Any, media_root: Any) -> tuple[Api, int, ELicence]:
    """The police's registration task waiting for the birth certificate's licence, sealed
    through the API (the hospital's completion); the police's client, the task, the licence."""
    submitter = Api(hospital().token)
    submitter.post("/cases", current(example("qinbei-accept")), key="k")
    task = submitter.get("/tasks").json()["tasks"][0]
    done = submitter.post(f"/tasks/{task['id']}/complete", {"result": RESULTS["birth_certificate"]})
    assert done.status_code == 200, done.content
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    [registration] = police.get("/tasks").json()["tasks"]
    licence = ELicence.objects.get(kind="birth_certificate")
    return police, registration["id"], licence


def _claimed_priors(police: Api, task_id: int) -> list[dict[str, Any]]:
    answer = police.post("/tasks/claims", {"tasks": [{"id": task_id}]})
    assert answer.status_code == 200, answer.content
    [result] = answer.json()["results"]
    assert result["status"] == 200, result
    return list(result["body"]["prior_elicences"])


def _verify_json(serial: str) -> dict[str, Any]:
    return dict(Client().get(f"/verify/{serial}.json").json())


def _set_raw(licence: ELicence, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE certificates_elicence SET {column} = %s WHERE id = %s", [value, licence.pk]
        )


def _raw(licence: ELicence, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM certificates_elicence WHERE id = %s", [licence.pk])
        return str(cursor.fetchone()[0])


def _flip_char(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def _other_bmc_number(sealed: str) -> str:
    assert "Q450123456" in sealed
    return sealed.replace("Q450123456", "Q450999999")


def test_a_licence_sealed_here_is_trusted_by_another_process_without_sm2(claimable, sm2):
    police, task_id, licence = claimable
    assert len(licence.seal_check) == 64
    verify_cache_clear()  # the claim lands on another web process than the completion
    before = sm2.verified
    [prior] = _claimed_priors(police, task_id)
    assert prior["serial"] == licence.serial and prior["result"] == RESULTS["birth_certificate"]
    assert sm2.verified == before  # its signature vouched for by the check value
    verify_cache_clear()
    body = _verify_json(licence.serial)
    assert body["valid"] is True and body["code"] == "valid"
    assert sm2.verified == before


def test_a_licence_without_a_check_value_is_verified_in_full(claimable, sm2):
    police, task_id, licence = claimable
    _set_raw(licence, "seal_check", "")  # sealed before the check value existed
    verify_cache_clear()
    before = sm2.verified
    [prior] = _claimed_priors(police, task_id)
    assert prior["serial"] == licence.serial and prior["result"] == RESULTS["birth_certificate"]
    assert sm2.verified == before + 1


def _tamper(licence: ELicence, what: str) -> None:
    if what == "sealed":
        _set_raw(licence, "sealed", _other_bmc_number(licence.sealed))
    elif what == "signature":
        raw = bytearray(b64url_decode(licence.signature))
        raw[-1] ^= 0x01
        _set_raw(licence, "signature", b64url(bytes(raw)))
    elif what == "payload ciphertext":
        stored = _raw(licence, "payload")
        _set_raw(licence, "payload", _flip_char(stored, len(stored) // 2))
    elif what == "payload content":  # re-encrypted with the key: a valid ciphertext
        payload = dict(licence.payload)
        payload["result"] = dict(payload["result"], bmc_number="Q450999999")
        ELicence.objects.filter(pk=licence.pk).update(payload=payload)
    elif what == "sealed and payload":  # both changed consistently; the signature stays
        payload = dict(licence.payload)
        payload["result"] = dict(payload["result"], bmc_number="Q450999999")
        ELicence.objects.filter(pk=licence.pk).update(payload=payload)
        _set_raw(licence, "sealed", _other_bmc_number(licence.sealed))
    elif what in ("kind", "issuer_code", "key_id"):
        _set_raw(licence, what, getattr(licence, what) + "x")
    else:
        raise AssertionError(what)


TAMPERINGS = [
    "sealed",
    "signature",
    "payload ciphertext",
    "payload content",
    "sealed and payload",
    "kind",
    "issuer_code",
    "key_id",
]


@pytest.mark.parametrize("what", TAMPERINGS)
def test_a_row_changed_after_it_was_verified_and_vouched_for_is_invalid(claimable, what):
    police, task_id, licence = claimable
    [prior] = _claimed_priors(police, task_id)  # verified, remembered by this process
    assert prior["result"] == RESULTS["birth_certificate"] and licence.seal_check
    assert _verify_json(licence.serial)["valid"] is True
    _tamper(licence, what)
    for other_process in (False, True):
        if other_process:
            verify_cache_clear()
        # The task's detail passes on only licences whose seal verifies.
        detail = police.get(f"/tasks/{task_id}").json()
        assert detail["prior_elicences"] == [], (what, other_process)
        assert "Q450999999" not in str(detail)
        body = _verify_json(licence.serial)
        assert body["valid"] is False, (what, other_process)
        assert body["code"] in (
            "bad_signature",
            "registry_mismatch",
            "digest_mismatch",
            "unknown_key",
        ), body


def test_a_licence_changed_before_its_claim_is_not_passed_on(claimable, sm2):
    police, task_id, licence = claimable
    _tamper(licence, "sealed and payload")
    verify_cache_clear()
    assert _claimed_priors(police, task_id) == []


def test_a_check_value_forged_without_the_secret_is_not_trusted(claimable, sm2):
    police, task_id, licence = claimable
    # Someone with database write access changes the sealed certificate number and the
    # payload to match, and writes the check value as they can compute it: under a secret
    # they guess (the product's SECRET_KEY is not in the database).
    payload = dict(licence.payload)
    payload["result"] = dict(payload["result"], bmc_number="Q450999999")
    ELicence.objects.filter(pk=licence.pk).update(payload=payload)
    forged_sealed = _other_bmc_number(licence.sealed)
    key = published_keys()[licence.key_id]  # the published key: public anyway
    with override_settings(SECRET_KEY="a guess at the secret, long enough to look real"):
        forged = seal_check(forged_sealed, licence.signature, _key_parts(key))
    assert forged != seal_check(forged_sealed, licence.signature, _key_parts(key))
    _set_raw(licence, "sealed", forged_sealed)
    _set_raw(licence, "seal_check", forged)
    verify_cache_clear()
    before = sm2.verified
    assert _claimed_priors(police, task_id) == []
    assert sm2.verified == before + 1  # not trusted: the signature was verified, and failed
    body = _verify_json(licence.serial)
    assert body["valid"] is False and body["code"] == "bad_signature"


def test_a_wrong_check_value_on_a_genuine_licence_means_a_full_verification(claimable, sm2):
    police, task_id, licence = claimable
    _set_raw(licence, "seal_check", "0" * 64)
    verify_cache_clear()
    before = sm2.verified
    [prior] = _claimed_priors(police, task_id)
    assert prior["result"] == RESULTS["birth_certificate"] and sm2.verified == before + 1


def test_revoking_the_key_makes_a_vouched_licence_invalid(claimable):
    police, task_id, licence = claimable
    [prior] = _claimed_priors(police, task_id)
    assert prior["serial"] == licence.serial
    assert _verify_json(licence.serial)["valid"] is True
    call_command("seal_keys", "revoke", licence.key_id, stdout=io.StringIO())
    for other_process in (False, True):
        if other_process:
            verify_cache_clear()
        assert police.get(f"/tasks/{task_id}").json()["prior_elicences"] == []
        assert _verify_json(licence.serial)["code"] == "key_revoked"


@pytest.fixture
def fresh_process() -> None:
    """No signer checked yet in this process (`_vouch`'s first seal of each key)."""
    services._signers_checked.clear()


def test_the_first_seal_of_a_key_in_a_process_is_verified_before_it_is_vouched_for(
    fresh_process, sm2, claimable
):
    _, _, licence = claimable
    assert sm2.verified == 1 and licence.seal_check


def test_a_seal_that_does_not_verify_with_the_published_key_gets_no_check_value(
    fresh_process, sm2, claimable, monkeypatch
):
    # (claimable sealed with a checked signer; a signer whose published key is not its
    # private key's makes signatures that do not verify: simulated by the check failing.)
    _, _, licence = claimable
    monkeypatch.setattr(sm2, "verify", lambda *args, **kwargs: False)
    services._signers_checked.clear()
    corrected = services.elicence_supersede(
        licence=licence, result=RESULTS["birth_certificate"], now=licence.issued_at
    )
    assert corrected.seal_check == ""
