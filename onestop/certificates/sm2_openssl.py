"""SM2 with SM3 through OpenSSL 3's libcrypto (the compiled implementation of the e-seal).

Pure Python apart from the C library, no Django. OpenSSL 3 signs and verifies SM2 in its
default provider (``EVP_DigestSign``/``EVP_DigestVerify`` on an ``SM2`` key with SM3 and
the signer ID ``1234567812345678`` of GB/T 35276), ~30x faster than the pure-Python
``gmssl`` arithmetic. The library is the one the interpreter's ``ssl`` module already
loads; it is used only when it is OpenSSL 3 and passes the GM/T 0003.5 known answer at
load time (`load`), otherwise `None` and the seal keeps the pure-Python implementation.

Keys become ``EVP_PKEY`` handles once (``EVP_PKEY_fromdata`` on the ``SM2`` key manager,
so the key is an SM2 key, never an ECDSA one) and are kept by the callers' caches; the
private key's public point is given, not recomputed per signature.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
from typing import Any

DEFAULT_ID = b"1234567812345678"  # GB/T 35276 default signer ID (Z_A)

# EVP_PKEY_fromdata selections (openssl/evp.h, core_dispatch.h).
_PUBLIC_KEY = 0x86
_KEYPAIR = 0x87

_P = ctypes.c_void_p
_SIZE = ctypes.c_size_t

# The signature example of GB/T 32918.5 (GM/T 0003.5) on the recommended curve, signer ID
# 1234567812345678; the OpenSSL command line verifies it with ``-sigopt distid:…`` too.
KAT_ID = DEFAULT_ID
KAT_MESSAGE = b"message digest"
KAT_PUBLIC = (
    "04"
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
KAT_PRIVATE = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
KAT_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
KAT_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA


class OpenSslError(RuntimeError):
    """libcrypto refused an operation (its error queue is cleared)."""


def _bind(lib: Any) -> None:
    def fn(name: str, res: Any, *args: Any) -> None:
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = list(args)

    i = ctypes.c_int
    fn("OpenSSL_version_num", ctypes.c_ulong)
    fn("ERR_clear_error", None)
    fn("BN_bin2bn", _P, ctypes.c_char_p, i, _P)
    fn("BN_clear_free", None, _P)
    fn("OSSL_PARAM_BLD_new", _P)
    fn("OSSL_PARAM_BLD_free", None, _P)
    fn("OSSL_PARAM_BLD_push_utf8_string", i, _P, ctypes.c_char_p, ctypes.c_char_p, _SIZE)
    fn("OSSL_PARAM_BLD_push_octet_string", i, _P, ctypes.c_char_p, ctypes.c_char_p, _SIZE)
    fn("OSSL_PARAM_BLD_push_BN", i, _P, ctypes.c_char_p, _P)
    fn("OSSL_PARAM_BLD_to_param", _P, _P)
    fn("OSSL_PARAM_free", None, _P)
    fn("EVP_PKEY_CTX_new_from_name", _P, _P, ctypes.c_char_p, _P)
    fn("EVP_PKEY_CTX_new_from_pkey", _P, _P, _P, _P)
    fn("EVP_PKEY_CTX_free", None, _P)
    fn("EVP_PKEY_CTX_set1_id", i, _P, ctypes.c_char_p, i)
    fn("EVP_PKEY_fromdata_init", i, _P)
    fn("EVP_PKEY_fromdata", i, _P, ctypes.POINTER(_P), i, _P)
    fn("EVP_PKEY_is_a", i, _P, ctypes.c_char_p)
    fn("EVP_PKEY_free", None, _P)
    fn("EVP_MD_CTX_new", _P)
    fn("EVP_MD_CTX_free", None, _P)
    fn("EVP_MD_CTX_set_pkey_ctx", None, _P, _P)
    fn("EVP_MD_fetch", _P, _P, ctypes.c_char_p, _P)
    fn("EVP_MD_free", None, _P)
    fn("EVP_DigestSignInit", i, _P, _P, _P, _P, _P)
    fn("EVP_DigestSign", i, _P, ctypes.c_char_p, ctypes.POINTER(_SIZE), ctypes.c_char_p, _SIZE)
    fn("EVP_DigestVerifyInit", i, _P, _P, _P, _P, _P)
    fn("EVP_DigestVerify", i, _P, ctypes.c_char_p, _SIZE, ctypes.c_char_p, _SIZE)


class Key:
    """An ``EVP_PKEY`` handle of an SM2 key (freed with the object)."""

    def __init__(self, lib: Any, handle: int) -> None:
        self._lib = lib
        self.handle = handle

    def __del__(self) -> None:
        handle, self.handle = self.handle, 0
        if handle:
            # Interpreter shutting down (ctypes half gone): the process frees it anyway.
            with contextlib.suppress(Exception):
                self._lib.EVP_PKEY_free(handle)


class LibCrypto:
    """The few libcrypto calls SM2 sealing needs, with every object freed on every path."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self._sm3 = lib.EVP_MD_fetch(None, b"SM3", None)
        if not self._sm3:
            lib.ERR_clear_error()
            raise OpenSslError("no SM3")
        self._lock = threading.Lock()

    def _fail(self, what: str) -> OpenSslError:
        self.lib.ERR_clear_error()
        return OpenSslError(what)

    def key(self, public_key: bytes, private_key: bytes | None = None) -> Key:
        """An SM2 key from its uncompressed point ``04‖x‖y`` (and the 32-byte scalar)."""
        lib = self.lib
        bld = lib.OSSL_PARAM_BLD_new()
        bn = params = ctx = None
        pkey = _P()
        try:
            ok = lib.OSSL_PARAM_BLD_push_utf8_string(bld, b"group", b"SM2", 0)
            ok = ok and lib.OSSL_PARAM_BLD_push_octet_string(
                bld, b"pub", public_key, len(public_key)
            )
            if private_key is not None:
                bn = lib.BN_bin2bn(private_key, len(private_key), None)
                ok = ok and bn and lib.OSSL_PARAM_BLD_push_BN(bld, b"priv", bn)
            params = lib.OSSL_PARAM_BLD_to_param(bld) if ok else None
            ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
            if not (params and ctx and lib.EVP_PKEY_fromdata_init(ctx) == 1):
                raise self._fail("SM2 key import")
            selection = _PUBLIC_KEY if private_key is None else _KEYPAIR
            if lib.EVP_PKEY_fromdata(ctx, ctypes.byref(pkey), selection, params) != 1:
                raise self._fail("SM2 key import")
            if lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
                lib.EVP_PKEY_free(pkey)
                raise self._fail("not an SM2 key")
            return Key(lib, int(pkey.value or 0))
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
            lib.OSSL_PARAM_free(params)
            lib.BN_clear_free(bn)
            lib.OSSL_PARAM_BLD_free(bld)

    def _md_ctx(self, key: Key, user_id: bytes) -> tuple[int, int]:
        lib = self.lib
        md = lib.EVP_MD_CTX_new()
        pctx = lib.EVP_PKEY_CTX_new_from_pkey(None, key.handle, None)
        if not md or not pctx or lib.EVP_PKEY_CTX_set1_id(pctx, user_id, len(user_id)) != 1:
            lib.EVP_PKEY_CTX_free(pctx)
            lib.EVP_MD_CTX_free(md)
            raise self._fail("SM2 context")
        lib.EVP_MD_CTX_set_pkey_ctx(md, pctx)  # the digest context uses (not owns) pctx
        return md, pctx

    def sign(self, key: Key, message: bytes, user_id: bytes = DEFAULT_ID) -> bytes:
        """DER ``SEQUENCE {r, s}`` over Z_A ‖ message, a fresh nonce from OpenSSL's DRBG."""
        lib = self.lib
        md, pctx = self._md_ctx(key, user_id)
        try:
            if lib.EVP_DigestSignInit(md, None, self._sm3, None, key.handle) != 1:
                raise self._fail("SM2 sign init")
            size = _SIZE(80)
            out = ctypes.create_string_buffer(80)
            if lib.EVP_DigestSign(md, out, ctypes.byref(size), message, len(message)) != 1:
                raise self._fail("SM2 sign")
            return out.raw[: size.value]
        finally:
            lib.EVP_MD_CTX_free(md)
            lib.EVP_PKEY_CTX_free(pctx)

    def verify(
        self, key: Key, message: bytes, signature: bytes, user_id: bytes = DEFAULT_ID
    ) -> bool:
        lib = self.lib
        md, pctx = self._md_ctx(key, user_id)
        try:
            if lib.EVP_DigestVerifyInit(md, None, self._sm3, None, key.handle) != 1:
                raise self._fail("SM2 verify init")
            ok = lib.EVP_DigestVerify(md, signature, len(signature), message, len(message))
            if ok != 1:
                lib.ERR_clear_error()
            return bool(ok == 1)
        finally:
            lib.EVP_MD_CTX_free(md)
            lib.EVP_PKEY_CTX_free(pctx)


def _der(r: int, s: int) -> bytes:
    def integer(value: int) -> bytes:
        body = value.to_bytes(value.bit_length() // 8 + 1, "big")
        return b"\x02" + bytes([len(body)]) + body

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def _library_path() -> str | None:
    import _ssl  # the interpreter's own OpenSSL: its libcrypto is already in the process

    del _ssl
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "/libcrypto.so" in path:
                    return path
    except OSError:
        pass
    return ctypes.util.find_library("crypto")


_loaded: list[LibCrypto | None] = []
_load_lock = threading.Lock()


def load() -> LibCrypto | None:
    """OpenSSL 3's libcrypto when it signs SM2 correctly, else None (checked once)."""
    with _load_lock:
        if not _loaded:
            _loaded.append(_probe())
        return _loaded[0]


def _probe() -> LibCrypto | None:
    # ONESTOP_SEAL_SM2=python keeps the pure-Python SM2 (a comparison, or a libcrypto not
    # to be trusted); anything else uses OpenSSL when it passes the checks below.
    if os.environ.get("ONESTOP_SEAL_SM2", "").strip().lower() == "python":
        return None
    try:
        path = _library_path()
        if path is None:
            return None
        lib = ctypes.CDLL(path)
        _bind(lib)
        if lib.OpenSSL_version_num() < 0x30000000:
            return None
        crypto = LibCrypto(lib)
        public = bytes.fromhex(KAT_PUBLIC)
        # The standard's example verifies (Z_A with its ID), and not with another message
        # or another signer ID (so the ID really goes into Z_A).
        verifier = crypto.key(public)
        kat = _der(KAT_R, KAT_S)
        if not crypto.verify(verifier, KAT_MESSAGE, kat, KAT_ID):
            return None
        if crypto.verify(verifier, KAT_MESSAGE + b".", kat, KAT_ID) or crypto.verify(
            verifier, KAT_MESSAGE, kat, b"ALICE123@YAHOO.COM"
        ):
            return None
        signer = crypto.key(public, bytes.fromhex(KAT_PRIVATE))
        if not crypto.verify(verifier, b"m", crypto.sign(signer, b"m")):
            return None
        return crypto
    except (OSError, AttributeError, OpenSslError, ValueError):
        return None
