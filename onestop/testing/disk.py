"""Assertions about upload files on disk, for the upload security tests (ADR 0014)."""

from __future__ import annotations

import stat
from pathlib import Path

WINDOW = 32


def shares_a_window(uploaded: bytes, stored: bytes, window: int = WINDOW) -> bool:
    """True when any ``window``-byte run of ``uploaded`` appears in ``stored``."""
    if len(uploaded) < window:
        return uploaded in stored
    runs = {uploaded[i : i + window] for i in range(len(uploaded) - window + 1)}
    return any(stored[i : i + window] in runs for i in range(len(stored) - window + 1))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_sealed(path: Path, uploaded: bytes) -> bytes:
    """The file at ``path`` is not the upload, holds no 32-byte run of it, and only the
    service account can read it (file 0600, folder 0700). Returns its bytes."""
    blob = path.read_bytes()
    assert blob != uploaded
    assert not shares_a_window(uploaded, blob), f"{path} holds plaintext of the upload"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, oct(path.parent.stat().st_mode)
    return blob
