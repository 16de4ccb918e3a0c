from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "onestop.ratings"
    label = "ratings"
    verbose_name = _("好差评")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.ratings import effects  # noqa: F401

        # Its panels on the supervisors' dashboard (ADR 0041: a panel is one entry).
        from onestop.ratings.panels import PANELS
        from onestop.supervision.dashboards import panel_register

        for panel in PANELS:
            panel_register(panel)
