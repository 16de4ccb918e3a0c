from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.corrections import views

app_name = "corrections"
urlpatterns = [
    path("my/cases/<code:number>/corrections/new/", views.parent_request, name="parent_request"),
    path("work/corrections/", views.officer_list, name="list"),
    path("work/corrections/new/<id:item_id>/", views.officer_request, name="officer_request"),
    path("work/corrections/<id:correction_id>/", views.officer_detail, name="detail"),
    path(
        "work/corrections/<id:correction_id>/<code:action>/",
        views.officer_decide,
        name="decide",
    ),
    path("work/corrections/notices/<id:notice_id>/read/", views.notice_read, name="notice_read"),
]
