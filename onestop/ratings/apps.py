from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "onestop.ratings"
    label = "ratings"
    verbose_name = _("好差评")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.ratings import effects  # noqa: F401
