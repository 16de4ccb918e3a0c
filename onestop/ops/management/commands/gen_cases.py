"""``manage.py gen_cases --count N``: fill this PostgreSQL database with N generated cases
(`onestop.ops.gencases`; `onestop gen-cases` runs it)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Fill the (PostgreSQL) database with N realistic generated cases, by COPY; resumable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=0, help="cases in total")
        parser.add_argument(
            "--ratings-only",
            action="store_true",
            help="only add the ratings (好差评) of the completed cases already generated",
        )
        parser.add_argument("--chunk", type=int, default=5000, help="cases per transaction")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--prepare",
            action="store_true",
            help="migrate and seed the reference data first (a fresh database)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from onestop.ops.gencases import generate

        if connection.vendor != "postgresql":
            raise CommandError("gen_cases writes with PostgreSQL's COPY: set DATABASE_URL")
        if options["count"] < 1 and not options["ratings_only"]:
            raise CommandError("--count must be at least 1")
        if options["prepare"]:
            from onestop.reference.services import reference_seed

            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            reference_seed()
        params = connection.get_connection_params()
        url_parts = {
            k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")
        }
        conninfo = " ".join(f"{k}={v}" for k, v in url_parts.items() if v not in (None, ""))
        if options["ratings_only"]:
            import psycopg

            from onestop.ops.gencases import generate_ratings

            with psycopg.connect(conninfo) as conn:
                made = generate_ratings(conn, out=self.stdout)
            self.stdout.write(f"gen-cases: ratings added: {made}")
            return
        result = generate(
            conninfo,
            options["count"],
            chunk=options["chunk"],
            seed=options["seed"],
            out=self.stdout,
        )
        self.stdout.write(
            f"gen-cases: {result['cases']:,} cases in the database ({result['generated_now']:,}"
            f" generated now, {result['rows']:,} rows in {result['seconds']:.0f} s);"
            f" database size {result['database_bytes'] / 1e9:.2f} GB"
        )
