from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.departments import views

app_name = "departments"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("tasks/<id:item_id>/", views.task, name="task"),
    path("tasks/<id:item_id>/materials/<code:token>/", views.task_material, name="material"),
    path("tasks/<id:item_id>/signed/<slug:kind>.pdf", views.task_signed_pdf, name="signed_pdf"),
    path("tasks/<id:item_id>/<code:action>/", views.task_action, name="task_action"),
]
