from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    name = "onestop.reference"
    label = "reference"
    verbose_name = "基础数据"
