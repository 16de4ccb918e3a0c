from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "onestop.departments"
    label = "departments"
    verbose_name = "部门工作台"
