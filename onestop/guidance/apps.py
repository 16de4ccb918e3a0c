from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GuidanceConfig(AppConfig):
    name = "onestop.guidance"
    label = "guidance"
    verbose_name = _("科学育儿指导")

    def ready(self) -> None:
        # This app's handler in the table of event effects (onestop.core.events).
        from onestop.guidance import effects  # noqa: F401
