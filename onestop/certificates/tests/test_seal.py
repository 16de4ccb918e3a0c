"""The e-seal core without Django: canonical JSON, SM3, SM2 with SM3 (checked against
OpenSSL where it has SM2), the pluggable Ed25519, the QR content, offline verification and
the key folder."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onestop.certificates import keystore as keystore_module
from onestop.certificates.document import licence_payload, public_result, sealed_document
from onestop.certificates.keystore import KeyStore
from onestop.certificates.seal import (
    ED25519,
    SM2_SM3,
    Ed25519,
    KeySigner,
    PublicKey,
    Sealed,
    SealFormatError,
    Sm2Sm3,
    canonical_json,
    der_signature,
    keys_document,
    keys_from_document,
    parse_content,
    parse_der_signature,
    payload_digest,
    seal,
    sm3_hex,
    verify_content,
)
from onestop.cli import main
from onestop.core.clock import BEIJING

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)
SM2 = Sm2Sm3()


def payload(**result: str) -> dict[str, Any]:
    return licence_payload(
        serial="QINBEI-20261120-0001-03",
        case_number="QINBEI-20261120-0001",
        item="birth_registration",
        item_name="出生登记",
        issuer_code="qinbei-xintang",
        issuer_name="钦州市公安局钦北分局新棠派出所",
        issued_at=NOW,
        result=result or {"hukou_entry": "HK450703-0001"},
        newborns=[{"name": "覃沐阳", "sex": "1", "born_at": "2026-11-10T08:20:00+08:00"}],
    )


def key_pair(issuer: str = "qinbei-xintang", alg=SM2, key_id: str = "k1"):
    private = alg.new_private_key()
    public = PublicKey(key_id, issuer, alg.name, alg.public_key(private), NOW.isoformat())
    return KeySigner(key_id, alg.name, private), public


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": {"d": "覃", "c": [1, 2]}}) == (
        '{"a":{"c":[1,2],"d":"覃"},"b":1}'.encode()
    )
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_sm3_known_answer_and_pure_python_agree():
    # GB/T 32905 example 1.
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    from gmssl import sm3

    data = "出生一件事".encode() * 20
    assert sm3.sm3_hash(list(data)) == sm3_hex(data)


def test_sm2_signs_and_verifies_and_any_changed_byte_fails():
    private = SM2.new_private_key()
    public = SM2.public_key(private)
    assert len(public) == 130 and public.startswith("04")
    message = canonical_json(sealed_document(payload()))
    signature = SM2.sign(private, message)
    assert SM2.verify(public, message, signature)
    assert signature != SM2.sign(private, message)  # a fresh nonce each time
    step = max(1, len(message) // 25)
    for i in range(0, len(message), step):
        changed = bytearray(message)
        changed[i] ^= 0x01
        assert not SM2.verify(public, bytes(changed), signature), i
    for i in range(len(signature)):
        changed = bytearray(signature)
        changed[i] ^= 0x01
        assert not SM2.verify(public, message, bytes(changed)), i
    other = SM2.public_key(SM2.new_private_key())
    assert not SM2.verify(other, message, signature)


def test_sm2_public_keys_starting_with_0_or_4_work():
    # gmssl's own constructor strips "04" with lstrip, which would eat such x coordinates.
    for _ in range(200):
        private = SM2.new_private_key()
        public = SM2.public_key(private)
        if public[2] in "04":
            break
    else:
        pytest.skip("no such key drawn")
    assert SM2.verify(public, b"m", SM2.sign(private, b"m"))


def test_sm2_refuses_bad_keys_and_non_canonical_signatures():
    private = SM2.new_private_key()
    public = SM2.public_key(private)
    signature = SM2.sign(private, b"m")
    r, s = parse_der_signature(signature)
    assert der_signature(r, s) == signature
    padded = b"\x30" + bytes([signature[1] + 1]) + b"\x02" + bytes([signature[3] + 1]) + b"\x00"
    padded += signature[4:]
    with pytest.raises(SealFormatError):
        parse_der_signature(padded)
    assert not SM2.verify(public, b"m", padded)
    assert not SM2.verify(public, b"m", signature + b"\x00")
    assert not SM2.verify(public, b"m", der_signature(0, s))
    assert not SM2.verify("04" + "00" * 64, b"m", signature)  # not on the curve
    assert not SM2.verify(public[2:], b"m", signature)  # no 04 prefix


def _openssl_has_sm2() -> bool:
    if shutil.which("openssl") is None:
        return False
    probe = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "SM2"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _openssl_has_sm2(), reason="OpenSSL without SM2")
def test_sm2_interoperates_with_openssl(tmp_path: Path):
    """Our SM2-SM3 is the standard one: OpenSSL (default ID 1234567812345678) verifies our
    signatures and we verify OpenSSL's."""
    message = canonical_json(sealed_document(payload()))
    (tmp_path / "msg").write_bytes(message)
    distid = ["-sigopt", "distid:1234567812345678"]

    private = SM2.new_private_key()
    public = SM2.public_key(private)
    (tmp_path / "pub.pem").write_text(SM2.public_key_pem(public))
    (tmp_path / "sig").write_bytes(SM2.sign(private, message))
    ours = subprocess.run(
        ["openssl", "dgst", "-sm3", "-verify", "pub.pem", *distid, "-signature", "sig", "msg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ours.returncode == 0 and "Verified OK" in ours.stdout, ours.stderr

    def openssl(*args: str) -> bytes:
        return subprocess.run(
            ["openssl", *args], capture_output=True, check=True, cwd=tmp_path
        ).stdout

    openssl("genpkey", "-algorithm", "SM2", "-out", "k.pem")
    openssl("dgst", "-sm3", "-sign", "k.pem", *distid, "-out", "theirs", "msg")
    their_public = openssl("pkey", "-in", "k.pem", "-pubout", "-outform", "DER")[-65:].hex()
    assert SM2.public_key_pem(their_public) == openssl("pkey", "-in", "k.pem", "-pubout").decode()
    theirs = (tmp_path / "theirs").read_bytes()
    assert SM2.verify(their_public, message, theirs)
    assert not SM2.verify(their_public, message + b" ", theirs)


def test_ed25519_plugs_in_behind_the_same_interface():
    signer, public = key_pair(alg=Ed25519(), key_id="ed1")
    sealed = seal(sealed_document(payload()), signer)
    verdict = verify_content(sealed.content, {"ed1": public})
    assert verdict.valid and verdict.document is not None
    assert verdict.document["alg"] == ED25519
    assert "BEGIN PUBLIC KEY" in public.as_json()["public_key_pem"]


def test_sealed_document_is_masked_and_tied_to_the_full_payload():
    full = payload(hukou_entry="HK450703-0001", citizen_id_number="450703202611100112")
    full["result"]["secret_note"] = "钦州市钦北区新棠镇新棠街12号 13800000000"
    doc = sealed_document(full)
    text = canonical_json(doc).decode()
    assert doc["subject"]["newborns"] == [{"name": "覃**", "sex": "男", "born": "2026-11-10"}]
    assert doc["result"] == {
        "hukou_entry": "HK450703-0001",
        "citizen_id_number": "450703********0112",
    }
    for secret in ("覃沐阳", "450703202611100112", "新棠街", "13800000000", "08:20"):
        assert secret not in text
    assert doc["payload_digest"] == payload_digest(full)
    changed = json.loads(json.dumps(full))
    changed["result"]["hukou_entry"] = "HK450703-0002"
    assert payload_digest(changed) != doc["payload_digest"]
    assert public_result({"card_number": "A45070312", "pickup_place": "某银行"}) == {
        "card_number": "A4*****12"
    }


def test_qr_content_round_trips_and_verifies_offline():
    signer, public = key_pair()
    sealed = seal(sealed_document(payload()), signer)
    content = sealed.content
    assert content.startswith("OS1.") and content.count(".") == 2
    assert parse_content(content) == sealed
    assert parse_content(f"https://example.gov.cn/verify/?c={content}") == sealed
    verdict = verify_content(content, {"k1": public})
    assert verdict.valid and verdict.code == "valid" and verdict.document is not None
    assert verdict.document["serial"] == "QINBEI-20261120-0001-03"
    assert verdict.document["kid"] == "k1" and verdict.document["alg"] == SM2_SM3


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def test_offline_verification_refuses_every_kind_of_change():
    signer, public = key_pair()
    keys = {"k1": public}
    sealed = seal(sealed_document(payload()), signer)
    content = sealed.content
    _, doc_part, sig_part = content.split(".")
    for at in (4, 4 + len(doc_part) // 2, 3 + len(doc_part)):
        assert not verify_content(_flip(content, at), keys).valid
    assert not verify_content(_flip(content, len(content) - 3), keys).valid
    # A document changed and re-encoded cleanly still fails the signature.
    doc = sealed.fields()
    doc["result"]["hukou_entry"] = "HK450703-9999"
    forged = Sealed(canonical_json(doc), sealed.signature)
    assert verify_content(forged.content, keys).code == "bad_signature"
    assert verify_content("OS1.abc", keys).code == "malformed"
    assert verify_content("https://x/verify/?serial=1", keys).code == "malformed"
    assert verify_content("hello", keys).code == "malformed"
    assert verify_content("OS1.!!!." + sig_part, keys).code == "malformed"
    assert verify_content(content, {}).code == "unknown_key"
    # A key of another issuer cannot seal this issuer's licences.
    other_signer, other_public = key_pair(issuer="qinbei-mch", key_id="k2")
    sealed_by_other = seal(sealed_document(payload()), other_signer)
    assert verify_content(sealed_by_other.content, {"k2": other_public}).code == ("issuer_mismatch")
    wrong_alg = PublicKey("k1", "qinbei-xintang", ED25519, public.public_key, public.valid_from)
    assert verify_content(content, {"k1": wrong_alg}).code == "algorithm_mismatch"
    revoked = PublicKey(**{**public.__dict__, "revoked": True})
    assert verify_content(content, {"k1": revoked}).code == "key_revoked"


def test_keys_document_round_trips():
    _, public = key_pair()
    published = keys_document([public])
    assert published["keys"][0]["active"] is True
    assert keys_from_document(json.loads(json.dumps(published))) == {"k1": public}
    with pytest.raises(SealFormatError):
        keys_from_document({"keys": [{"key_id": "x"}]})


# --- the key folder ------------------------------------------------------------------------


def test_first_use_makes_a_private_key_file_and_reuses_it(tmp_path: Path):
    store = KeyStore(tmp_path / "keys")
    signer = store.signer("qinbei-mch", now=NOW)
    assert store.signer("qinbei-mch", now=NOW).key_id == signer.key_id
    private = tmp_path / "keys" / f"{signer.key_id}.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    public = json.loads((tmp_path / "keys" / f"{signer.key_id}.json").read_text())
    assert public["issuer"] == "qinbei-mch" and public["algorithm"] == SM2_SM3
    assert "private" not in json.dumps(public) and signer.private_key not in json.dumps(public)
    assert store.signer("qinbei-xintang", now=NOW).key_id != signer.key_id


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path):
    ids: list[str] = []

    def sign() -> None:
        ids.append(KeyStore(tmp_path).signer("qinbei-mch", now=NOW).key_id)

    threads = [threading.Thread(target=sign) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1
    assert len(list(tmp_path.glob("*.key"))) == 1


def test_rotation_keeps_old_seals_valid_and_revocation_ends_them(tmp_path: Path):
    store = KeyStore(tmp_path)
    old = store.signer("qinbei-mch", now=NOW)
    old_seal = seal({"issuer": {"code": "qinbei-mch"}, "issued_at": NOW.isoformat()}, old)
    new_key = store.rotate("qinbei-mch", now=NOW + timedelta(days=1), algorithm_name=ED25519)
    assert new_key.key_id != old.key_id and new_key.algorithm == ED25519
    assert store.signer("qinbei-mch", now=NOW).key_id == new_key.key_id
    keys = store.public_keys()
    assert keys[old.key_id].retired_at is not None and keys[new_key.key_id].retired_at is None
    assert verify_content(old_seal.content, keys).valid
    store.revoke(old.key_id, now=NOW + timedelta(days=2))
    assert verify_content(old_seal.content, store.public_keys()).code == "key_revoked"


def _changed_elsewhere(folder: Path, change: Any) -> None:
    """``change()`` as another process makes it: this process's list of keys is left as it
    was (not forgotten as its own writes forget it), only the folder's time tells."""
    seen = dict(keystore_module._cache)
    change()
    keystore_module._cache.update(seen)
    stamp = seen[folder][0]
    if folder.stat().st_mtime_ns == stamp:  # a coarse clock: the change still shows
        os.utime(folder, ns=(stamp + 1_000_000, stamp + 1_000_000))


def test_the_signer_is_kept_until_a_key_changes_in_any_process(tmp_path: Path, monkeypatch):
    store = KeyStore(tmp_path)
    store.signer("qinbei-mch", now=NOW)  # its first key made (the list read afresh next)
    first = store.signer("qinbei-mch", now=NOW)
    read: list[str] = []
    private = KeyStore._signer

    def reading(self: KeyStore, key: Any) -> Any:
        read.append(key.key_id)
        return private(self, key)

    monkeypatch.setattr(KeyStore, "_signer", reading)
    # kept: its private key is not read again, nor the active key looked for
    assert KeyStore(tmp_path).signer("qinbei-mch", now=NOW) is first and read == []
    other = KeyStore(tmp_path)
    rotated: list[Any] = []
    _changed_elsewhere(tmp_path, lambda: rotated.append(other.rotate("qinbei-mch", now=NOW)))
    assert store.signer("qinbei-mch", now=NOW).key_id == rotated[0].key_id != first.key_id
    _changed_elsewhere(tmp_path, lambda: other.revoke(rotated[0].key_id, now=NOW))
    again = store.signer("qinbei-mch", now=NOW)
    assert again.key_id not in (first.key_id, rotated[0].key_id)  # a new key: none live
    # this process's own change is seen at once
    store.revoke(again.key_id, now=NOW)
    assert store.signer("qinbei-mch", now=NOW).key_id != again.key_id


# --- `onestop verify` ----------------------------------------------------------------------


def test_cli_verifies_offline_from_qr_content_and_keys_json(tmp_path: Path, monkeypatch, capsys):
    store = KeyStore(tmp_path / "keys")
    sealed = seal(sealed_document(payload()), store.signer("qinbei-xintang", now=NOW))
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(keys_document(store.public_keys().values())))

    assert main(["verify", sealed.content, "--keys", str(keys_file)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["valid"] is True
    assert body["document"]["issuer"]["name"] == "钦州市公安局钦北分局新棠派出所"
    assert body["document"]["subject"]["newborns"][0]["name"] == "覃**"

    url = f"http://127.0.0.1:8000/verify/?c={sealed.content}"
    assert main(["verify", url, "--keys", str(tmp_path / "keys")]) == 0
    capsys.readouterr()
    assert main(["verify", _flip(sealed.content, 40), "--keys", str(keys_file)]) == 1
    assert json.loads(capsys.readouterr().out)["valid"] is False

    monkeypatch.setattr("sys.stdin", io.StringIO(sealed.content + "\n"))
    monkeypatch.setenv("ONESTOP_SEAL_KEYS_DIR", str(tmp_path / "keys"))
    assert main(["verify", "-"]) == 0
    capsys.readouterr()

    assert main(["verify", "not-a-licence", "--keys", str(keys_file)]) == 2
    assert "not the QR content" in capsys.readouterr().err
    assert main(["verify", sealed.content, "--keys", str(tmp_path / "missing.json")]) == 2
    assert os.path.exists(keys_file)
