from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "onestop.workflow"
    label = "workflow"
    verbose_name = "事项流转"
