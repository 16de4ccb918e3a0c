"""Encryption of sensitive fields at rest, and keyed blind indexes for searching them.

- `FieldCipher` wraps `cryptography`'s MultiFernet (AES-128-CBC + HMAC-SHA256): the first
  key encrypts, every key decrypts, and `rotate` re-encrypts under the first — key rotation
  without downtime.
- `blind_index` is an HMAC-SHA256 of a normalised value under a separate key: equal values
  give equal indexes (so "find the case of this ID number" is one indexed lookup) while the
  index reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionFailed(Exception):
    """The stored value was not made by any of the configured keys."""


class FieldCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        cleaned = [k.strip() for k in keys if k.strip()]
        if not cleaned:
            raise ValueError("at least one field encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in cleaned])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise DecryptionFailed(
                "encrypted field cannot be decrypted with the configured keys"
            ) from exc

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except (InvalidToken, ValueError) as exc:
            raise DecryptionFailed(
                "encrypted file cannot be decrypted with the configured keys"
            ) from exc

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def normalise_for_index(value: str) -> str:
    return "".join(value.split()).upper()


def blind_index(key: str, value: str, *, purpose: str) -> str:
    """A 64-hex keyed index of ``value``; ``purpose`` separates e.g. ID numbers from phones."""
    message = f"{purpose}\x00{normalise_for_index(value)}".encode()
    return hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()
