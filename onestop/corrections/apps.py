from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorrectionsConfig(AppConfig):
    name = "onestop.corrections"
    label = "corrections"
    verbose_name = _("证照更正")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.corrections import effects  # noqa: F401
