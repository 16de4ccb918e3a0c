from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HospitalsConfig(AppConfig):
    name = "onestop.hospitals"
    label = "hospitals"
    verbose_name = _("助产机构分娩记录")
