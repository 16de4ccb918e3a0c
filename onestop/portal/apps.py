from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "onestop.portal"
    label = "portal"
    verbose_name = _("家长服务")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.portal import effects  # noqa: F401
