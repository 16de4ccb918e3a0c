from django.apps import AppConfig


class HospitalsConfig(AppConfig):
    name = "onestop.hospitals"
    label = "hospitals"
    verbose_name = "助产机构分娩记录"
