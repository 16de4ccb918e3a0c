from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoverConfig(AppConfig):
    name = "onestop.handover"
    label = "handover"
    verbose_name = _("出生医学证明档案移交")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.handover import effects  # noqa: F401
