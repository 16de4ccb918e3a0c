"""The e-seal (电子印章) of e-licences: canonical documents, signatures, QR content and
verification. No Django: the command line verifies offline with it.

- A sealed document is a JSON object written canonically (sorted keys, UTF-8, no spaces);
  the signature is over exactly those bytes.
- The default algorithm is SM2 with SM3 (GB/T 32918.2 signature, GB/T 32905 digest): the
  digest input is Z_A ‖ M with the default user ID ``1234567812345678`` (GB/T 35276), the
  signature DER ``SEQUENCE {r INTEGER, s INTEGER}`` (GB/T 35276, as GB/T 38540 seals carry
  it), the public key uncompressed ``04 ‖ x ‖ y``. The arithmetic is OpenSSL's libcrypto
  where it signs SM2 (`sm2_openssl`, ADR 22), else pure Python (``gmssl``); each verifies
  what the other signs. Ed25519 is the pluggable alternative.
- The QR content is ``OS1.<base64url(sealed document)>.<base64url(signature)>``; the sealed
  document names its key (``kid``) and algorithm (``alg``), so the content plus the
  published public key is all an offline verifier needs.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from onestop.certificates.sm2_openssl import Key, LibCrypto

SM2_SM3 = "SM2-SM3"
ED25519 = "Ed25519"
DEFAULT_ALGORITHM = SM2_SM3
CONTENT_PREFIX = "OS1"
DOCUMENT_VERSION = 1
MAX_CONTENT_LENGTH = 8192  # a QR code holds far less; longer input is refused unread


class SealFormatError(ValueError):
    """The input is not QR content of an e-licence (or not a key of the expected form)."""


# --- canonical JSON and SM3 ----------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Sorted keys, UTF-8 (no escapes), no spaces: the same bytes for the same value."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def sm3_hex(data: bytes) -> str:
    """SM3 digest (GB/T 32905) as lowercase hex."""
    try:
        return hashlib.new("sm3", data).hexdigest()
    except ValueError:  # an OpenSSL without SM3: the pure-Python one
        from gmssl import sm3

        return str(sm3.sm3_hash(list(data)))


def payload_digest(payload: Any) -> str:
    """SM3 of the canonical JSON of the full (encrypted-at-rest) licence payload."""
    return sm3_hex(canonical_json(payload))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not text or not _B64URL.issuperset(text) or len(text) % 4 == 1:
        raise SealFormatError("不是有效的 base64url 编码")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# --- algorithms ----------------------------------------------------------------------------


class SealAlgorithm(Protocol):
    """A signature algorithm: keys are hex strings, signatures bytes."""

    name: str

    def new_private_key(self) -> str: ...

    def public_key(self, private_key: str) -> str: ...

    def sign(self, private_key: str, message: bytes, public_key: str = "") -> bytes:
        """``public_key``: the key's public part where the caller holds it (the key store
        publishes it), so that an algorithm that needs it need not derive it again."""
        ...

    def verify(self, public_key: str, message: bytes, signature: bytes) -> bool: ...

    def public_key_pem(self, public_key: str) -> str: ...


# SM2 recommended curve (GB/T 32918.5).
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
# SubjectPublicKeyInfo prefix: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301).
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def _pem(der: bytes, label: str = "PUBLIC KEY") -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return b"\x02" + bytes([len(body)]) + body


def der_signature(r: int, s: int) -> bytes:
    """``SEQUENCE {r INTEGER, s INTEGER}`` in DER."""
    body = _der_integer(r) + _der_integer(s)
    return b"\x30" + bytes([len(body)]) + body


def parse_der_signature(data: bytes) -> tuple[int, int]:
    """(r, s) from a DER signature; anything but the one canonical encoding is refused, so a
    changed byte never yields an equivalent signature."""
    try:
        if len(data) < 8 or data[0] != 0x30 or data[1] != len(data) - 2:
            raise SealFormatError("签名编码无效")
        values: list[int] = []
        at = 2
        for _ in range(2):
            if data[at] != 0x02:
                raise SealFormatError("签名编码无效")
            size = data[at + 1]
            values.append(int.from_bytes(data[at + 2 : at + 2 + size], "big"))
            at += 2 + size
    except IndexError:
        raise SealFormatError("签名编码无效") from None
    r, s = values
    if der_signature(r, s) != data:
        raise SealFormatError("签名编码无效")
    return r, s


@functools.lru_cache(maxsize=256)
def _sm2_public(private_key: str) -> str:
    """``04‖x‖y`` of an SM2 private key: derived once per key (the scalar multiplication in
    pure Python costs ~4 ms, and it used to be paid on every signature)."""
    from gmssl import sm2

    d = int(private_key, 16)
    if not 1 <= d <= _N - 2:
        raise SealFormatError("SM2 私钥超出范围")
    crypt = sm2.CryptSM2(private_key=private_key, public_key="")
    return "04" + str(crypt._kg(d, sm2.default_ecc_table["g"])).lower()


def _sm2_point(public_key: str) -> str:
    """``x‖y`` hex of a public key ``04‖x‖y`` checked to be on the curve."""
    text = public_key.strip().lower()
    if len(text) != 130 or not text.startswith("04"):
        raise SealFormatError("SM2 公钥应为 04 开头的 65 字节十六进制")
    try:
        x, y = int(text[2:66], 16), int(text[66:], 16)
    except ValueError:
        raise SealFormatError("SM2 公钥不是十六进制") from None
    if not (x < _P and y < _P and (y * y - x * x * x - _A * x - _B) % _P == 0):
        raise SealFormatError("SM2 公钥不在曲线上")
    return text[2:]


class _Sm2Base:
    """What both SM2 implementations share: keys, the strict checks before any arithmetic
    (public key on the curve, canonical DER, 1 ≤ r, s < n) and the PEM form."""

    name = SM2_SM3

    def new_private_key(self) -> str:
        return f"{secrets.randbelow(_N - 2) + 1:064x}"  # d ∈ [1, n-2]

    def public_key(self, private_key: str) -> str:
        return _sm2_public(private_key.strip().lower())

    @staticmethod
    def _point(public_key: str) -> str:
        return _sm2_point(public_key)

    def sign(self, private_key: str, message: bytes, public_key: str = "") -> bytes:
        raise NotImplementedError

    def _public_of(self, private_key: str, public_key: str) -> str:
        """``04‖x‖y`` of the signing key: the one given (checked to be on the curve: a
        key store's published key), else derived from the private key (~4 ms in pure
        Python, once per key and process: paid by every web worker for every issuer
        before issue 10's session 27)."""
        if public_key:
            return "04" + self._point(public_key)
        return self.public_key(private_key)

    def _verify(self, public_xy: str, message: bytes, r: int, s: int, signature: bytes) -> bool:
        raise NotImplementedError

    def verify(self, public_key: str, message: bytes, signature: bytes) -> bool:
        try:
            public_xy = self._point(public_key)
            r, s = parse_der_signature(signature)
        except SealFormatError:
            return False
        if not (1 <= r < _N and 1 <= s < _N):
            return False
        return self._verify(public_xy, message, r, s, signature)

    def public_key_pem(self, public_key: str) -> str:
        return _pem(_SM2_SPKI_PREFIX + bytes.fromhex("04" + self._point(public_key)))


class Sm2Sm3Python(_Sm2Base):
    """SM2 with SM3 in pure Python (the ``gmssl`` package's arithmetic): the fallback where
    the interpreter's OpenSSL cannot sign SM2, and the reference the compiled one is
    cross-checked against. Supplied here: the nonce from ``secrets`` (gmssl's default uses
    ``random``), the public key set directly (gmssl's constructor ``lstrip("04")``s it)."""

    def _crypt(self, private_key: str, public_xy: str) -> Any:
        from gmssl import sm2

        crypt = sm2.CryptSM2(private_key=private_key, public_key="")
        # Set directly: gmssl's constructor strips "04" with lstrip, which also eats the
        # leading 0s and 4s of some x coordinates.
        crypt.public_key = public_xy
        return crypt

    def sign(self, private_key: str, message: bytes, public_key: str = "") -> bytes:
        crypt = self._crypt(private_key, self._public_of(private_key, public_key)[2:])
        while True:
            nonce = f"{secrets.randbelow(_N - 1) + 1:064x}"
            raw = crypt.sign_with_sm3(message, nonce)
            if raw:  # None when r = 0, r + k = n or s = 0: draw another nonce
                return der_signature(int(raw[:64], 16), int(raw[64:], 16))

    def _verify(self, public_xy: str, message: bytes, r: int, s: int, signature: bytes) -> bool:
        try:
            return bool(self._crypt("", public_xy).verify_with_sm3(f"{r:064x}{s:064x}", message))
        except (TypeError, ValueError):  # a point at infinity on the way: not a signature
            return False


class Sm2Sm3OpenSsl(_Sm2Base):
    """SM2 with SM3 in OpenSSL 3's libcrypto (`sm2_openssl`): ~30x the pure-Python speed.
    Each key is imported once (its public point derived once) and its handle kept."""

    def __init__(self, crypto: LibCrypto | None = None) -> None:
        from onestop.certificates.sm2_openssl import load

        loaded = crypto or load()
        if loaded is None:
            raise RuntimeError("this interpreter's OpenSSL does not sign SM2")
        self._crypto: LibCrypto = loaded
        self._signing_key = functools.lru_cache(maxsize=256)(self._import_private)
        self._verifying_key = functools.lru_cache(maxsize=1024)(self._import_public)

    def _import_private(self, private_key: str, public_key: str) -> Key:
        public = bytes.fromhex(self._public_of(private_key, public_key))
        return self._crypto.key(public, bytes.fromhex(private_key))

    def _import_public(self, public_xy: str) -> Key:
        return self._crypto.key(bytes.fromhex("04" + public_xy))

    def sign(self, private_key: str, message: bytes, public_key: str = "") -> bytes:
        key = self._signing_key(private_key.strip().lower(), public_key.strip().lower())
        return self._crypto.sign(key, message)

    def _verify(self, public_xy: str, message: bytes, r: int, s: int, signature: bytes) -> bool:
        return self._crypto.verify(self._verifying_key(public_xy), message, signature)


def _compiled_available() -> bool:
    from onestop.certificates.sm2_openssl import load

    return load() is not None


# The SM2-SM3 implementation in use: OpenSSL's where it signs SM2 (checked against the
# GB/T 32918.5 example when loaded), else the pure-Python one.
Sm2Sm3: type[_Sm2Base] = Sm2Sm3OpenSsl if _compiled_available() else Sm2Sm3Python
SM2_IMPLEMENTATION = "OpenSSL" if Sm2Sm3 is Sm2Sm3OpenSsl else "Python"


class Ed25519:
    """Ed25519 (RFC 8032) from ``cryptography``: the pluggable alternative."""

    name = ED25519

    def new_private_key(self) -> str:
        return secrets.token_bytes(32).hex()

    def public_key(self, private_key: str) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_key))
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()

    def sign(self, private_key: str, message: bytes, public_key: str = "") -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        return ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_key)).sign(
            message
        )

    def verify(self, public_key: str, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import ed25519

        try:
            key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
            key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key_pem(self, public_key: str) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _pem(der)


ALGORITHMS: dict[str, SealAlgorithm] = {SM2_SM3: Sm2Sm3(), ED25519: Ed25519()}


def algorithm(name: str) -> SealAlgorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise SealFormatError(f"不支持的签章算法 {name!r}") from None


# --- keys and signers ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """A published seal key of one issuing body. ``retired_at``: when a newer key took over
    (the key no longer seals, and what it sealed stays valid); ``revoked``: the key must no
    longer be trusted at all (compromised), and nothing it sealed verifies."""

    key_id: str
    issuer: str
    algorithm: str
    public_key: str
    valid_from: str
    retired_at: str | None = None
    revoked: bool = False

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["active"] = self.retired_at is None and not self.revoked
        try:
            body["public_key_pem"] = algorithm(self.algorithm).public_key_pem(self.public_key)
        except (SealFormatError, ValueError):
            body["public_key_pem"] = ""
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublicKey:
        try:
            return cls(
                key_id=str(data["key_id"]),
                issuer=str(data["issuer"]),
                algorithm=str(data["algorithm"]),
                public_key=str(data["public_key"]),
                valid_from=str(data["valid_from"]),
                retired_at=None if data.get("retired_at") is None else str(data["retired_at"]),
                revoked=bool(data.get("revoked", False)),
            )
        except (KeyError, TypeError):
            raise SealFormatError("公钥条目缺少 key_id/issuer/algorithm/public_key") from None


class Signer(Protocol):
    """What seals a document for one issuing body: a key held in a file here, or a signing
    service or hardware module (HSM) elsewhere that implements the same three members."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    key_id: str
    algorithm: str
    private_key: str
    public_key: str = ""  # its published public part, where the key store holds it

    def sign(self, message: bytes) -> bytes:
        return algorithm(self.algorithm).sign(self.private_key, message, self.public_key)


def keys_document(keys: Iterable[PublicKey]) -> dict[str, Any]:
    """The published key list (``/verify/keys.json``)."""
    return {
        "format": "onestop-seal-keys/1",
        "keys": [k.as_json() for k in sorted(keys, key=lambda k: (k.issuer, k.valid_from))],
    }


def keys_from_document(data: Any) -> dict[str, PublicKey]:
    entries = data.get("keys") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise SealFormatError('公钥文件应为 {"keys": [...]}')
    keys = [PublicKey.from_json(e) for e in entries if isinstance(e, Mapping)]
    return {k.key_id: k for k in keys}


# --- sealing and the QR content ------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    document: bytes  # the canonical JSON that was signed
    signature: bytes

    @property
    def content(self) -> str:
        """The QR content: ``OS1.<document>.<signature>`` (base64url, no padding)."""
        return f"{CONTENT_PREFIX}.{b64url(self.document)}.{b64url(self.signature)}"

    def fields(self) -> dict[str, Any]:
        """The document as a dict (raises SealFormatError when it is not a JSON object)."""
        try:
            value = json.loads(self.document.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise SealFormatError("证照内容不是有效的 JSON") from None
        if not isinstance(value, dict):
            raise SealFormatError("证照内容不是 JSON 对象")
        return value


def seal(document: Mapping[str, Any], signer: Signer) -> Sealed:
    """Sign ``document`` (plus the key id and algorithm, so they are covered too)."""
    body = {**document, "v": DOCUMENT_VERSION, "kid": signer.key_id, "alg": signer.algorithm}
    data = canonical_json(body)
    return Sealed(document=data, signature=signer.sign(data))


def parse_content(text: str) -> Sealed:
    """The sealed document and signature from QR content, or from the verification URL that
    carries it in ``?c=``."""
    value = text.strip()
    if len(value) > MAX_CONTENT_LENGTH:
        raise SealFormatError("内容过长，不是证照二维码")
    if "?" in value or value.lower().startswith(("http://", "https://")):
        found = parse_qs(urlsplit(value).query).get("c")
        if not found:
            raise SealFormatError("链接中没有证照二维码内容（参数 c）")
        value = found[0].strip()
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != CONTENT_PREFIX:
        raise SealFormatError("不是本平台的证照二维码内容（应为 OS1.文档.签名）")
    return Sealed(document=b64url_decode(parts[1]), signature=b64url_decode(parts[2]))


# --- verification --------------------------------------------------------------------------

REASONS: dict[str, str] = {
    "valid": "电子印章有效：证照由签发机构签发，内容未被改动",
    "malformed": "无法识别的证照内容",
    "unsealed": "该证照没有电子印章",
    "unknown_key": "找不到签章公钥，无法确认签发机构",
    "algorithm_mismatch": "签章算法与公钥不符",
    "issuer_mismatch": "签章公钥不属于证照上的签发机构",
    "key_revoked": "签章密钥已被吊销",
    "bad_signature": "电子印章无效：签名与证照内容不符，证照可能被篡改",
    "digest_mismatch": "电子印章无效：证照存档内容已被改动",
    "registry_mismatch": "电子印章无效：与平台登记的证照不一致",
    "not_registered": "签名有效，但本平台未查到该证照的登记记录",
    "not_found": "未查到该编号的证照",
    "superseded": "已被更正（superseded）：本证照已由更正后的证照取代，不再有效",
}


@dataclass(frozen=True)
class Verdict:
    valid: bool
    code: str
    document: dict[str, Any] | None = None
    key: PublicKey | None = None

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, self.code)

    @property
    def signature_valid(self) -> bool:
        """The seal itself checks out (the registry may still disagree)."""
        return self.code in (
            "valid",
            "digest_mismatch",
            "registry_mismatch",
            "not_registered",
            "superseded",
        )


def verify_sealed(
    sealed: Sealed,
    keys: Mapping[str, PublicKey],
    vouched: Callable[[PublicKey], bool] | None = None,
) -> Verdict:
    """Check the signature with the published key of the issuer the document names.
    ``vouched(key)`` true: the caller already knows this signature over this document is
    ``key``'s (a keyed check value it wrote when it signed): the signature's arithmetic is
    skipped, every other check is made."""
    try:
        doc = sealed.fields()
    except SealFormatError:
        return Verdict(False, "malformed")
    key = keys.get(str(doc.get("kid", "")))
    if key is None:
        return Verdict(False, "unknown_key", doc)
    if doc.get("alg") != key.algorithm or key.algorithm not in ALGORITHMS:
        return Verdict(False, "algorithm_mismatch", doc, key)
    issuer = doc.get("issuer")
    if not isinstance(issuer, Mapping) or issuer.get("code") != key.issuer:
        return Verdict(False, "issuer_mismatch", doc, key)
    if not (vouched is not None and vouched(key)) and not ALGORITHMS[key.algorithm].verify(
        key.public_key, sealed.document, sealed.signature
    ):
        return Verdict(False, "bad_signature", doc, key)
    if key.revoked:
        return Verdict(False, "key_revoked", doc, key)
    return Verdict(True, "valid", doc, key)


def verify_content(content: str, keys: Mapping[str, PublicKey]) -> Verdict:
    """Offline verification: QR content (or its URL) plus the published keys."""
    try:
        sealed = parse_content(content)
    except (SealFormatError, binascii.Error):
        return Verdict(False, "malformed")
    return verify_sealed(sealed, keys)
