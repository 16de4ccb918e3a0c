"""Seal keys per issuing body, kept in a folder outside the code (no Django).

The folder (``ONESTOP_SEAL_KEYS_DIR``, default ``<data dir>/seal-keys``) holds, per key,
``<key id>.json`` (the public part, published at ``/verify/keys.json``) and
``<key id>.key`` (the private key as hex, mode 0600). An issuer's first key is made when
it first seals; ``rotate`` makes a new active key and retires the old one, whose public key
stays published so what it sealed still verifies; ``revoke`` withdraws trust from a key
(nothing it sealed verifies any more). Changes are serialised with a lock file, so two
processes sealing for a new issuer at once agree on one key.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from onestop.certificates.seal import (
    DEFAULT_ALGORITHM,
    KeySigner,
    PublicKey,
    SealFormatError,
    algorithm,
)
from onestop.core.clock import format_time

_cache: dict[Path, tuple[int, dict[str, PublicKey]]] = {}
# Each issuer's signer, with the key list it was chosen from (`KeyStore.signer`).
_signers: dict[tuple[Path, str], tuple[dict[str, PublicKey], KeySigner]] = {}


def default_keys_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("ONESTOP_SEAL_KEYS_DIR", "").strip()
    if configured:
        return Path(configured).resolve()
    return Path(env.get("ONESTOP_DATA_DIR", "var")).resolve() / "seal-keys"


def _slug(issuer: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", issuer).strip("-")[:40] or "issuer"


class KeyStore:
    def __init__(self, folder: Path, *, algorithm_name: str = DEFAULT_ALGORITHM) -> None:
        self.folder = Path(folder)
        self.algorithm_name = algorithm_name

    # --- reading ---------------------------------------------------------------------------

    def public_keys(self) -> dict[str, PublicKey]:
        """Every key, by key id (cached until the folder changes)."""
        try:
            stamp = self.folder.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        cached = _cache.get(self.folder)
        if cached and cached[0] == stamp:
            return cached[1]
        keys: dict[str, PublicKey] = {}
        for path in sorted(self.folder.glob("*.json")):
            try:
                key = PublicKey.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, SealFormatError):
                continue
            keys[key.key_id] = key
        _cache[self.folder] = (stamp, keys)
        return keys

    def active_key(self, issuer: str) -> PublicKey | None:
        live = [
            k
            for k in self.public_keys().values()
            if k.issuer == issuer and k.retired_at is None and not k.revoked
        ]
        return max(live, key=lambda k: (k.valid_from, k.key_id)) if live else None

    def _signer(self, key: PublicKey) -> KeySigner:
        private = (self.folder / f"{key.key_id}.key").read_text(encoding="ascii").strip()
        return KeySigner(
            key_id=key.key_id,
            algorithm=key.algorithm,
            private_key=private,
            public_key=key.public_key,
        )

    def signer(self, issuer: str, *, now: datetime) -> KeySigner:
        """The signer of the issuer's active key; its first key is made now if it has none.

        Kept per process with the key list it was chosen from (`public_keys`: the same
        dict object until the folder changes): every sealing read the private key's file
        and scanned every key for the active one (~60 µs of ~1 ms per e-licence, issue
        10, session 29). A rotation, revocation or new key writes a public key into the
        folder, so the list is read afresh and the signer chosen again: a retired or
        revoked key never seals once its change is seen (as `public_keys` sees it)."""
        keys = self.public_keys()
        kept = _signers.get((self.folder, issuer))
        if kept is not None and kept[0] is keys:
            return kept[1]
        key = self.active_key(issuer)
        if key is None:
            with self._locked():
                key = self.active_key(issuer) or self._create(issuer, now=now)
        signer = self._signer(key)
        if key.key_id in keys:  # chosen from this list: kept with it
            _signers[(self.folder, issuer)] = (keys, signer)
        return signer

    # --- changing --------------------------------------------------------------------------

    def rotate(self, issuer: str, *, now: datetime, algorithm_name: str | None = None) -> PublicKey:
        """A new active key for ``issuer``; the previous ones are retired (still published)."""
        with self._locked():
            previous = [
                k
                for k in self.public_keys().values()
                if k.issuer == issuer and k.retired_at is None
            ]
            key = self._create(issuer, now=now, algorithm_name=algorithm_name)
            for old in previous:
                self._write_public(replace(old, retired_at=format_time(now)))
        return key

    def revoke(self, key_id: str, *, now: datetime) -> PublicKey:
        with self._locked():
            key = self.public_keys().get(key_id)
            if key is None:
                raise KeyError(key_id)
            revoked = replace(key, retired_at=key.retired_at or format_time(now), revoked=True)
            self._write_public(revoked)
        return revoked

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _create(
        self, issuer: str, *, now: datetime, algorithm_name: str | None = None
    ) -> PublicKey:
        chosen = algorithm(algorithm_name or self.algorithm_name)
        private = chosen.new_private_key()
        key = PublicKey(
            key_id=f"{_slug(issuer)}-{now:%Y%m%d}-{secrets.token_hex(3)}",
            issuer=issuer,
            algorithm=chosen.name,
            public_key=chosen.public_key(private),
            valid_from=format_time(now),
        )
        fd = os.open(self.folder / f"{key.key_id}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(private + "\n")
        self._write_public(key)
        return key

    def _write_public(self, key: PublicKey) -> None:
        body = {k: v for k, v in key.as_json().items() if k not in ("active", "public_key_pem")}
        tmp = self.folder / f".{key.key_id}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.folder / f"{key.key_id}.json")
        _cache.pop(self.folder, None)
