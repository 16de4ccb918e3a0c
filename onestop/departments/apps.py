from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "onestop.departments"
    label = "departments"
    verbose_name = _("部门工作台")
