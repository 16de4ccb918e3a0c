"""Offline verification (``onestop verify``): QR content plus the published public keys, no
database and no Django. The keys come from a keys.json file (as ``/verify/keys.json``
publishes it), its URL, or a keys folder (default: this installation's)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from onestop.certificates.keystore import KeyStore, default_keys_dir
from onestop.certificates.seal import (
    PublicKey,
    SealFormatError,
    keys_from_document,
    verify_content,
)


def load_keys(source: str | None) -> dict[str, PublicKey]:
    """Keys from a keys.json file or URL, or a keys folder; raises SealFormatError/OSError."""
    if source is None:
        return KeyStore(default_keys_dir()).public_keys()
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:
            data = json.loads(response.read().decode("utf-8"))
        return keys_from_document(data)
    path = Path(source)
    if path.is_dir():
        return KeyStore(path).public_keys()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SealFormatError(f"{source} is not a JSON keys file: {exc}") from None
    return keys_from_document(data)


def verify_offline(content: str, keys: dict[str, PublicKey]) -> dict[str, Any]:
    """What ``onestop verify`` prints: the verdict and, when valid, the sealed summary."""
    verdict = verify_content(content, keys)
    body: dict[str, Any] = {
        "valid": verdict.valid,
        "code": verdict.code,
        "reason": verdict.reason,
        "checked": "signature with the published key (offline; the registry is not asked)",
    }
    if verdict.key is not None:
        body["key"] = {"key_id": verdict.key.key_id, "algorithm": verdict.key.algorithm}
    if verdict.valid and verdict.document is not None:
        doc = verdict.document
        body["document"] = {k: v for k, v in doc.items() if k not in ("kid", "alg", "v")}
    return body
