"""Secrets: from the environment in production, else generated once into the data folder.

The embedded default must start on a fresh machine with no configuration, yet never ship a
fixed key: each installation gets its own random keys, kept (mode 0600) next to its data.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Literal


def _generate(kind: Literal["django", "fernet", "hex"]) -> str:
    if kind == "fernet":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    if kind == "hex":
        return secrets.token_hex(32)
    return secrets.token_urlsafe(50)


def secret_from_env_or_file(
    env: str, path: Path, *, kind: Literal["django", "fernet", "hex"]
) -> str:
    value = os.environ.get(env, "").strip()
    if value:
        return value
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = _generate(kind)
    # Publish atomically: write a private temporary file, then hard-link it into place.
    # Two processes starting at once agree on one key (the loser reads the winner's).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink()
    return value
