from django.urls import path

from onestop.departments import views

app_name = "departments"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("tasks/<int:item_id>/", views.task, name="task"),
    path("tasks/<int:item_id>/materials/<str:token>/", views.task_material, name="material"),
    path("tasks/<int:item_id>/<str:action>/", views.task_action, name="task_action"),
]
