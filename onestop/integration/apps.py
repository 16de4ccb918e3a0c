from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """The shared cache (rate-limit counters, the API's per-client limit among them) is a
    database table by default: `migrate` creates it, so a fresh clone and a deployment's
    migrate step both work (issue 8). Idempotent; nothing for a Redis cache."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class IntegrationConfig(AppConfig):
    name = "onestop.integration"
    label = "integration"
    verbose_name = _("系统对接")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="onestop-cache-table")
        # The webhooks in the table of event effects (onestop.core.events).
        from onestop.integration import effects  # noqa: F401
