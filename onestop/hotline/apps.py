from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    """The 12345 hotline's knowledge base: the service guide, the FAQ and the operators'
    case-status lookup after verifying the caller (issue 12, ADR 0039)."""

    name = "onestop.hotline"
    label = "hotline"
    verbose_name = _("12345热线知识库")
    default_auto_field = "django.db.models.BigAutoField"
