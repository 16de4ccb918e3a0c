"""Encrypting, in place, upload files that older versions stored in plaintext (ADR 0014).

Before issue 8 the online application's draft materials were written in clear
(``drafts/<draft>/<token>``, mode 0644). `encrypt_in_place` turns such files into the same
encrypted form as every other material. It is idempotent and safe to run again:

- a file that decrypts with one of the configured keys is already encrypted (Fernet
  tokens are authenticated, so plaintext can never pass for ciphertext) and is left alone
  apart from its mode;
- a file that starts like a PDF, JPEG or PNG is plaintext: it is encrypted and replaced
  atomically (written next to it with mode 0600, then renamed over it);
- anything else is left untouched and counted as unknown, for a person to look at.

Used by the data migration ``portal.0003`` and by ``manage.py uploads_encrypt``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from onestop.common.fields import cipher
from onestop.core.crypto import DecryptionFailed
from onestop.core.filecheck import sniff


@dataclass
class Counts:
    encrypted: int = 0
    already: int = 0
    missing: int = 0
    unknown: int = 0

    def __str__(self) -> str:
        return (
            f"encrypted {self.encrypted}, already encrypted {self.already}, "
            f"missing {self.missing}, unknown content {self.unknown}"
        )


def _is_ciphertext(blob: bytes) -> bool:
    try:
        cipher().decrypt_bytes(blob)
    except DecryptionFailed:
        return False
    return True


def _local_path(storage: Storage, name: str) -> Path | None:
    try:
        return Path(storage.path(name))
    except NotImplementedError:
        return None


def _replace(storage: Storage, name: str, blob: bytes) -> None:
    path = _local_path(storage, name)
    if path is None:  # remote storage: no rename; delete and write the same name
        storage.delete(name)
        storage.save(name, ContentFile(blob))
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".enc-")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tighten(storage: Storage, name: str) -> None:
    path = _local_path(storage, name)
    if path is not None and path.exists():
        path.chmod(0o600)
        path.parent.chmod(0o700)


def encrypt_in_place(storage: Storage, names: Iterable[str | None]) -> Counts:
    counts = Counts()
    for name in names:
        if not name:
            continue
        if not storage.exists(name):
            counts.missing += 1
            continue
        with storage.open(name, "rb") as handle:
            blob = handle.read()
        if _is_ciphertext(blob):
            counts.already += 1
        elif sniff(blob[:16]) is not None:
            _replace(storage, name, cipher().encrypt_bytes(blob))
            counts.encrypted += 1
        else:
            counts.unknown += 1
        _tighten(storage, name)
    return counts


def tighten_tree(storage: Storage) -> int:
    """Folders 0700 and files 0600 under a local storage's root (older versions left
    0755/0644); returns how many entries were changed."""
    root = _local_path(storage, "")
    if root is None or not root.exists():
        return 0
    changed = 0
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        wanted = 0o700 if path.is_dir() else 0o600
        if path.stat().st_mode & 0o777 != wanted:
            path.chmod(wanted)
            changed += 1
    return changed
