from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "onestop.workflow"
    label = "workflow"
    verbose_name = _("事项流转")

    def ready(self) -> None:
        # This app's handlers in the table of event effects (onestop.core.events).
        from onestop.workflow import effects  # noqa: F401
