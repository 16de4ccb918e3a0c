from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "onestop.integration"
    label = "integration"
    verbose_name = "系统对接"
