"""Model fields that encrypt at rest (`onestop.core.crypto`) with the configured keys."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

from onestop.core.crypto import FieldCipher, blind_index


@cache
def _cipher(keys: tuple[str, ...]) -> FieldCipher:
    return FieldCipher(keys)


def cipher() -> FieldCipher:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


def index_of(value: str, *, purpose: str) -> str:
    return blind_index(settings.BLIND_INDEX_KEY, value, purpose=purpose)


if TYPE_CHECKING:
    _TextBase = models.TextField[Any, Any]
    _JSONBase = models.TextField[Any, Any]
else:
    _TextBase = _JSONBase = models.TextField


class EncryptedTextField(_TextBase):
    """A text value stored as a Fernet token. Not searchable: pair with a blind index."""

    description = "Encrypted text"

    if TYPE_CHECKING:
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else cipher().decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return cipher().encrypt(str(value))


class EncryptedJSONField(_JSONBase):
    """A JSON value stored encrypted (the whole document, e.g. a case document)."""

    if TYPE_CHECKING:
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    description = "Encrypted JSON"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(cipher().decrypt(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return cipher().encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))
