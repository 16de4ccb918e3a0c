from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "onestop.counter"
    label = "counter"
    verbose_name = "一窗受理"
