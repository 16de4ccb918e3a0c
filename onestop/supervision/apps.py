from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "onestop.supervision"
    label = "supervision"
    verbose_name = _("监督管理")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.supervision import effects  # noqa: F401
