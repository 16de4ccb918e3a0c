"""Seal keys of the issuing bodies (电子印章密钥).

manage.py seal_keys list
manage.py seal_keys rotate --issuer qinbei-mch [--algorithm SM2-SM3|Ed25519]
manage.py seal_keys revoke KEY_ID
manage.py seal_keys publish [--out keys.json]
manage.py seal_keys seal-missing
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from onestop.certificates.seal import ALGORITHMS, keys_document
from onestop.certificates.services import elicence_seal_missing, keystore


class Command(BaseCommand):
    help = "List, rotate, revoke and publish the e-seal keys of the issuing bodies."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="every key: issuer, id, algorithm, state")
        rotate = actions.add_parser("rotate", help="a new active key for an issuer")
        rotate.add_argument("--issuer", required=True, help="issuer code, e.g. qinbei-mch")
        rotate.add_argument("--algorithm", choices=sorted(ALGORITHMS), default=None)
        revoke = actions.add_parser("revoke", help="withdraw trust from a (compromised) key")
        revoke.add_argument("key_id")
        publish = actions.add_parser("publish", help="the public keys as JSON (keys.json)")
        publish.add_argument("--out", help="write to this file instead of stdout")
        actions.add_parser("seal-missing", help="seal licences issued before sealing existed")

    def handle(self, *args: Any, **options: Any) -> None:
        store = keystore()
        now = timezone.now()
        action = options["action"]
        if action == "list":
            for key in sorted(store.public_keys().values(), key=lambda k: (k.issuer, k.valid_from)):
                state = "revoked" if key.revoked else "retired" if key.retired_at else "active"
                self.stdout.write(
                    f"{key.issuer}\t{key.key_id}\t{key.algorithm}\t{key.valid_from}\t{state}"
                )
        elif action == "rotate":
            key = store.rotate(options["issuer"], now=now, algorithm_name=options["algorithm"])
            self.stdout.write(f"new active key {key.key_id} ({key.algorithm}) for {key.issuer}")
        elif action == "revoke":
            try:
                key = store.revoke(options["key_id"], now=now)
            except KeyError:
                raise CommandError(f"no key {options['key_id']!r} in {store.folder}") from None
            self.stdout.write(f"revoked {key.key_id}: what it sealed no longer verifies")
        elif action == "publish":
            text = json.dumps(
                keys_document(store.public_keys().values()), ensure_ascii=False, indent=2
            )
            if options.get("out"):
                Path(options["out"]).write_text(text + "\n", encoding="utf-8")
            else:
                self.stdout.write(text)
        elif action == "seal-missing":
            self.stdout.write(f"sealed {elicence_seal_missing(now=now)} licence(s)")
