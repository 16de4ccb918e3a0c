"""``manage.py api_client create|list|rotate|deactivate``: API credentials of department
systems. The secret is printed once, on creation or rotation; only its hash is stored.
``create --no-echo``: the client hears no ``task.updated`` of its own changes (ADR 0011)."""

from __future__ import annotations

import json
from argparse import BooleanOptionalAction
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onestop.accounts.models import JurisdictionKind, department_codes
from onestop.integration.models import EVENT_TYPES, ApiClient
from onestop.integration.services import (
    IssuedCredentials,
    api_client_create,
    api_client_rotate_secret,
    api_client_sync_user,
)


class Command(BaseCommand):
    help = "Manage API clients of department systems (secrets are shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a client and print its secret once")
        create.add_argument("--department", required=True, choices=department_codes())
        create.add_argument("--kind", required=True, choices=JurisdictionKind.values)
        create.add_argument("--code", required=True, help="hospital/station code or division")
        create.add_argument("--name", default="")
        create.add_argument("--webhook", default="", help="URL receiving signed webhooks")
        create.add_argument("--events", nargs="*", choices=EVENT_TYPES, default=None)
        create.add_argument(
            "--webhook-batch",
            type=int,
            default=1,
            metavar="N",
            help="the receiver takes batched POSTs (a JSON array) of up to N events (ADR 0028);"
            " 1: one event per POST (default)",
        )
        create.add_argument(
            "--echo",
            action=BooleanOptionalAction,
            default=True,
            help="--no-echo: no task.updated webhooks for the changes the client makes itself"
            " through the API (its claims, completions, returns, refusals); default: --echo",
        )
        create.add_argument(
            "--may-submit-cases",
            action=BooleanOptionalAction,
            default=None,
            help="may submit cases (default: hospital systems only)",
        )
        sub.add_parser("list", help="list clients (never secrets)")
        rotate = sub.add_parser("rotate", help="new secrets for a client, printed once")
        rotate.add_argument("key_id")
        deactivate = sub.add_parser("deactivate", help="stop a client's access")
        deactivate.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            name = options["name"] or f"{options['department']}:{options['code']}"
            try:
                issued = api_client_create(
                    name=name,
                    department=options["department"],
                    jurisdiction_kind=options["kind"],
                    jurisdiction_code=options["code"],
                    webhook_url=options["webhook"],
                    events=options["events"],
                    may_submit_cases=options["may_submit_cases"],
                    webhook_batch_max=options["webhook_batch"],
                    webhook_echo=options["echo"],
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self._print(issued)
        elif action == "list":
            for c in ApiClient.objects.order_by("department", "jurisdiction_code"):
                state = "active" if c.active else "inactive"
                echo = "echo" if c.webhook_echo else "no-echo"
                self.stdout.write(
                    f"{c.key_id}\t{c.department}\t{c.jurisdiction_kind}:{c.jurisdiction_code}"
                    f"\t{state}\t{c.webhook_url or '-'}\t{echo}\t{c.name}"
                )
        elif action == "rotate":
            self._print(api_client_rotate_secret(client_id=self._client(options["key_id"]).pk))
        elif action == "deactivate":
            client = self._client(options["key_id"])
            client.active = False
            client.save(update_fields=["active"])
            api_client_sync_user(client)
            self.stdout.write(f"{client.key_id} deactivated")

    def _client(self, key_id: str) -> ApiClient:
        client = ApiClient.objects.filter(key_id=key_id).first()
        if client is None:
            raise CommandError(f"no API client {key_id!r}")
        return client

    def _print(self, issued: IssuedCredentials) -> None:
        client = issued.client
        self.stdout.write(
            json.dumps(
                {
                    "key_id": client.key_id,
                    "token": issued.token,
                    "webhook_secret": issued.webhook_secret,
                    "department": client.department,
                    "jurisdiction": {
                        "kind": client.jurisdiction_kind,
                        "code": client.jurisdiction_code,
                    },
                    "webhook_url": client.webhook_url,
                    "webhook_batch_max": client.webhook_batch_max,
                    "webhook_echo": client.webhook_echo,
                    "note": "the token and webhook secret are shown only now; store them safely",
                },
                ensure_ascii=False,
                indent=2,
            )
        )
