"""Model fields that encrypt at rest (`onestop.core.crypto`) with the configured keys."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F, QuerySet
from django.db.models.query_utils import DeferredAttribute

from onestop.core.crypto import FieldCipher, blind_index


@cache
def _cipher(keys: tuple[str, ...]) -> FieldCipher:
    return FieldCipher(keys)


def cipher() -> FieldCipher:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


_once = threading.local()


@contextmanager
def encrypted_once() -> Iterator[None]:
    """Inside the block, the encrypted text fields give equal plaintexts one ciphertext:
    each text is encrypted once, and a row written after another with the same text
    stores the same Fernet token (issue 10, session 30, h-cpu: the outbox writes a
    parent's message twice, as an SMS and as an in-app message, with the same phone and
    body — four encryptions where two say the same). What the shared token tells a
    reader of the table: that these columns of these rows hold the same text — for a
    phone the blind index says as much; use the block only around the rows of one write
    whose equal texts may be seen as equal. Not nested."""
    if getattr(_once, "tokens", None) is not None:
        raise RuntimeError("encrypted_once() is already in force in this thread")
    _once.tokens = {}
    try:
        yield
    finally:
        _once.tokens = None


def _encrypted(text: str) -> str:
    tokens: dict[str, str] | None = getattr(_once, "tokens", None)
    if tokens is None:
        return cipher().encrypt(text)
    token = tokens.get(text)
    if token is None:
        token = tokens[text] = cipher().encrypt(text)
    return token


def index_of(value: str, *, purpose: str) -> str:
    return blind_index(settings.BLIND_INDEX_KEY, value, purpose=purpose)


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted column's stored text on an instance, read but not decrypted yet: the
    field decrypts it when the value is first read (`_OpenedWhenRead`)."""

    token: str


class _OpenedWhenRead(DeferredAttribute):
    """An encrypted field's attribute: as Django's (a deferred value is read when asked
    for), and a `Sealed` value is decrypted on its first read and kept decrypted. A data
    descriptor (it sets too), so that a read reaches it while the value is on the
    instance."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.attname
        if name not in data:
            return super().__get__(instance, cls)
        value = data[name]
        if type(value) is Sealed:
            opened: Any = self.field
            value = data[name] = opened.from_db_value(value.token, None, None)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


M = TypeVar("M", bound=models.Model)

SEALED = "sealed_"


def _sealed_alias(name: str) -> str:
    return SEALED + name.replace("__", "_0_")  # an annotation's name holds no "__"


def read_sealed(qs: QuerySet[M], *names: str) -> QuerySet[M]:
    """``qs`` reading the encrypted columns ``names`` as their stored text (an annotation
    each, no converter): `unseal` puts them on the instance, decrypted only when read
    (issue 10, session 23: the case lock decrypted the case's decision and document, and
    every item's result, for changes that read none of them). A name may be of a model
    the queryset selects with it (``"client__webhook_secret"``, `select_related`)."""
    texts = {
        _sealed_alias(n): ExpressionWrapper(F(n), output_field=models.TextField()) for n in names
    }
    sealed: QuerySet[M] = qs.defer(*names).annotate(**texts)
    return sealed


def unseal(obj: M, *names: str) -> M:
    """The stored texts `read_sealed` read put on ``obj`` (or the related instance a name
    leads to) as their fields' values, each decrypted when first read (None stays
    None)."""
    for name in names:
        token = obj.__dict__.pop(_sealed_alias(name))
        *path, field = name.split("__")
        target: Any = obj
        for step in path:
            target = getattr(target, step)
        target.__dict__[field] = None if token is None else Sealed(token)
    return obj


if TYPE_CHECKING:
    _TextBase = models.TextField[Any, Any]
    _JSONBase = models.TextField[Any, Any]
else:
    _TextBase = _JSONBase = models.TextField


class EncryptedTextField(_TextBase):
    """A text value stored as a Fernet token. Not searchable: pair with a blind index."""

    description = "Encrypted text"
    descriptor_class = _OpenedWhenRead

    if TYPE_CHECKING:
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else cipher().decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return _encrypted(str(value))


class EncryptedJSONField(_JSONBase):
    """A JSON value stored encrypted (the whole document, e.g. a case document)."""

    if TYPE_CHECKING:
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    description = "Encrypted JSON"
    descriptor_class = _OpenedWhenRead

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(cipher().decrypt(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return cipher().encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))
