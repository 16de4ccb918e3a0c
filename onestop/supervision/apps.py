from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "onestop.supervision"
    label = "supervision"
    verbose_name = "监督管理"
