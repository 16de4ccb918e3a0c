"""Included at the root (``onestop.config.urls``): the ratings pages sit beside the
parents', the counter's, the workbench's and the supervisors' own."""

from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.ratings import views

app_name = "ratings"
urlpatterns = [
    path("my/cases/<code:number>/rate/", views.rate, name="rate"),
    path(
        "my/cases/<code:number>/rate/follow-ups/<id:follow_up_id>/",
        views.follow_up_answer,
        name="follow_up_answer",
    ),
    path("counter/cases/<code:number>/rate/", views.counter_rate, name="counter_rate"),
    path("hotline/cases/<code:number>/rate/", views.hotline_rate, name="hotline_rate"),
    path("work/ratings/", views.work_list, name="work_list"),
    path("work/ratings/<id:follow_up_id>/", views.work_detail, name="work_detail"),
    path("supervise/ratings/", views.supervise_list, name="supervise_list"),
    path("supervise/ratings/<id:follow_up_id>/", views.supervise_detail, name="supervise_detail"),
]
