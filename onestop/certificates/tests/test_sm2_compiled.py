"""The compiled SM2-SM3 (OpenSSL 3's libcrypto) against the pure-Python one, the GB/T
32918.5 example and the OpenSSL command line: whatever either signed, the other verifies, so
every e-licence sealed before the switch still verifies. No Django."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from onestop.certificates import sm2_openssl
from onestop.certificates.seal import (
    SM2_IMPLEMENTATION,
    SealFormatError,
    Sm2Sm3,
    Sm2Sm3OpenSsl,
    Sm2Sm3Python,
    _sm2_public,
    der_signature,
    parse_der_signature,
)

PY = Sm2Sm3Python()
needs_openssl = pytest.mark.skipif(sm2_openssl.load() is None, reason="OpenSSL without SM2")
MESSAGE = b'{"issuer":{"code":"qinbei-mch"},"serial":"QINBEI-20261120-0001-01"}'


def _compiled() -> Sm2Sm3OpenSsl:
    return Sm2Sm3OpenSsl()


def test_the_compiled_one_is_in_use_where_openssl_signs_sm2():
    expected = "OpenSSL" if sm2_openssl.load() is not None else "Python"
    assert expected == SM2_IMPLEMENTATION
    assert (Sm2Sm3 is Sm2Sm3OpenSsl) == (expected == "OpenSSL")


def test_no_usable_libcrypto_means_the_pure_python_fallback(monkeypatch):
    monkeypatch.setenv("ONESTOP_SEAL_SM2", "python")
    assert sm2_openssl._probe() is None  # asked for the pure-Python one
    monkeypatch.delenv("ONESTOP_SEAL_SM2")
    monkeypatch.setattr(sm2_openssl, "_library_path", lambda: None)
    assert sm2_openssl._probe() is None
    monkeypatch.setattr(sm2_openssl, "_library_path", lambda: "/nonexistent/libcrypto.so.3")
    assert sm2_openssl._probe() is None


def test_standard_example_public_key_and_signature():
    """GB/T 32918.5 (GM/T 0003.5) example: d gives (x, y); (r, s) verifies with ID
    1234567812345678 in both implementations, and a changed message does not."""
    assert PY.public_key(sm2_openssl.KAT_PRIVATE) == sm2_openssl.KAT_PUBLIC
    signature = der_signature(sm2_openssl.KAT_R, sm2_openssl.KAT_S)
    implementations: list[object] = [PY]
    if sm2_openssl.load() is not None:
        implementations.append(_compiled())
    for impl in implementations:
        assert impl.verify(sm2_openssl.KAT_PUBLIC, sm2_openssl.KAT_MESSAGE, signature)  # type: ignore[attr-defined]
        assert not impl.verify(sm2_openssl.KAT_PUBLIC, b"message digesT", signature)  # type: ignore[attr-defined]


@needs_openssl
def test_the_signer_id_goes_into_z():
    crypto = sm2_openssl.load()
    assert crypto is not None
    key = crypto.key(bytes.fromhex(sm2_openssl.KAT_PUBLIC))
    signature = der_signature(sm2_openssl.KAT_R, sm2_openssl.KAT_S)
    assert crypto.verify(key, sm2_openssl.KAT_MESSAGE, signature, b"1234567812345678")
    assert not crypto.verify(key, sm2_openssl.KAT_MESSAGE, signature, b"ALICE123@YAHOO.COM")


@needs_openssl
def test_what_either_signs_the_other_verifies():
    new = _compiled()
    for round_ in range(40):
        private = new.new_private_key()
        public = new.public_key(private)
        message = MESSAGE + str(round_).encode()
        by_new = new.sign(private, message)
        by_old = PY.sign(private, message)
        r, s = parse_der_signature(by_new)  # canonical DER, as the seal always wrote
        assert der_signature(r, s) == by_new
        assert PY.verify(public, message, by_new), round_
        assert new.verify(public, message, by_old), round_
        assert new.verify(public, message, by_new)
        assert not new.verify(public, message + b" ", by_old)
        assert not PY.verify(public, message + b" ", by_new)


@needs_openssl
def test_the_compiled_one_refuses_what_the_pure_one_refuses():
    new = _compiled()
    private = new.new_private_key()
    public = new.public_key(private)
    signature = new.sign(private, b"m")
    r, s = parse_der_signature(signature)
    for bad in (
        signature + b"\x00",
        der_signature(0, s),
        der_signature(r, 0),
        der_signature(r + (1 << 256), s),
        b"\x30"
        + bytes([signature[1] + 1])
        + b"\x02"
        + bytes([signature[3] + 1])
        + b"\x00"
        + signature[4:],
    ):
        assert not new.verify(public, b"m", bad)
        assert not PY.verify(public, b"m", bad)
    for i in range(len(signature)):
        changed = bytearray(signature)
        changed[i] ^= 0x01
        assert not new.verify(public, b"m", bytes(changed)), i
    assert not new.verify("04" + "00" * 64, b"m", signature)  # not on the curve
    assert not new.verify(public[2:], b"m", signature)  # no 04 prefix
    other = new.public_key(new.new_private_key())
    assert not new.verify(other, b"m", signature)


def test_the_public_key_is_derived_once_per_key_not_per_signature():
    sm2 = Sm2Sm3()
    private = sm2.new_private_key()
    before = _sm2_public.cache_info()
    for _ in range(5):
        sm2.sign(private, MESSAGE)
    after = _sm2_public.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits >= 4 or isinstance(sm2, Sm2Sm3OpenSsl)


def test_a_signer_with_its_published_public_key_derives_nothing(tmp_path: Path):
    """The key store hands a signer the public key it publishes: signing with it derives
    no public key (each web worker used to derive one per issuer, ~4 ms in pure Python),
    and what it seals verifies with the published key, in both implementations; a
    published key that is not on the curve is refused, not signed with."""
    from onestop.certificates.keystore import KeyStore
    from onestop.core.clock import BEIJING

    now = datetime(2026, 11, 28, 9, 0, tzinfo=BEIJING)
    store = KeyStore(tmp_path)
    signer = store.signer("qinbei-mch", now=now)
    published = store.public_keys()[signer.key_id].public_key
    assert signer.public_key == published
    implementations: list[Sm2Sm3Python | Sm2Sm3OpenSsl] = [Sm2Sm3Python()]
    if sm2_openssl.load() is not None:
        implementations.append(_compiled())
    for impl in implementations:
        before = _sm2_public.cache_info()
        signature = impl.sign(signer.private_key, MESSAGE, signer.public_key)
        assert _sm2_public.cache_info().misses == before.misses, impl
        for other in implementations:
            assert other.verify(published, MESSAGE, signature), (impl, other)
        with pytest.raises(SealFormatError):
            impl.sign(signer.private_key, MESSAGE, "04" + "00" * 64)
    assert Sm2Sm3().verify(published, MESSAGE, signer.sign(MESSAGE))


DGST_VERIFY = ("openssl", "dgst", "-sm3", "-verify")
DISTID = ("-sigopt", "distid:1234567812345678")


def _openssl_cli_has_sm2() -> bool:
    if shutil.which("openssl") is None:
        return False
    probe = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "SM2"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _openssl_cli_has_sm2(), reason="openssl command without SM2")
@pytest.mark.parametrize("name", ["compiled", "python"])
def test_the_openssl_command_verifies_both(tmp_path: Path, name: str):
    if name == "compiled" and sm2_openssl.load() is None:
        pytest.skip("OpenSSL without SM2")
    impl = _compiled() if name == "compiled" else PY
    private = impl.new_private_key()
    public = impl.public_key(private)
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "pub.pem").write_text(impl.public_key_pem(public))
    (tmp_path / "sig").write_bytes(impl.sign(private, MESSAGE))
    run = subprocess.run(
        [*DGST_VERIFY, "pub.pem", *DISTID, "-signature", "sig", "msg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and "Verified OK" in run.stdout, run.stderr
    # The standard's example, through the command line too.
    (tmp_path / "kat.pem").write_text(impl.public_key_pem(sm2_openssl.KAT_PUBLIC))
    (tmp_path / "kat.sig").write_bytes(der_signature(sm2_openssl.KAT_R, sm2_openssl.KAT_S))
    (tmp_path / "kat.msg").write_bytes(sm2_openssl.KAT_MESSAGE)
    kat = subprocess.run(
        [*DGST_VERIFY, "kat.pem", *DISTID, "-signature", "kat.sig", "kat.msg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert kat.returncode == 0, kat.stderr


@needs_openssl
def test_threads_share_the_key_handles_safely():
    import threading

    new = _compiled()
    private = new.new_private_key()
    public = new.public_key(private)
    failures: list[int] = []

    def work(n: int) -> None:
        for i in range(40):
            message = MESSAGE + f"{n}-{i}".encode()
            if not new.verify(public, message, new.sign(private, message)):
                failures.append(i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
