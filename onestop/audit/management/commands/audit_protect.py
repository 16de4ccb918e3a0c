"""Take UPDATE/DELETE/TRUNCATE on the audit tables away from the application's role.

Run as the tables' owner (the role that runs migrations), PostgreSQL only:

manage.py audit_protect --role onestop_app            print the SQL
manage.py audit_protect --role onestop_app --execute  run it
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from onestop.audit.protection import revoke_sql


class Command(BaseCommand):
    help = "REVOKE changing and removing audit rows from the application's database role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help="the application's runtime role")
        parser.add_argument("--execute", action="store_true", help="run the SQL (else print)")

    def handle(self, *args: Any, **options: Any) -> None:
        statements = revoke_sql(options["role"])
        if not options["execute"]:
            for statement in statements:
                self.stdout.write(statement + ";")
            return
        if connection.vendor != "postgresql":
            raise CommandError("audit_protect --execute needs PostgreSQL")
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(f"role {options['role']}: audit rows can be read and added, no more.")
