from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.supervision import deadline_views, views

app_name = "supervision"
urlpatterns = [
    path("", views.cases, name="cases"),
    path("cases/<code:number>/", views.case, name="case"),
    path("deadlines/", deadline_views.deadlines, name="deadlines"),
    path("efficiency/", deadline_views.efficiency, name="efficiency"),
]
