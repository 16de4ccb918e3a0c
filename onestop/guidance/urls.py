from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.guidance import views

app_name = "guidance"
urlpatterns = [
    path("", views.work_list, name="list"),
    path("new/", views.article_new, name="new"),
    path("<id:article_id>/", views.article_detail, name="article"),
    path("<id:article_id>/edit/", views.article_edit, name="edit"),
    path("versions/<id:version_id>/", views.version_detail, name="version"),
    path("versions/<id:version_id>/submit/", views.version_submit, name="submit"),
    path("versions/<id:version_id>/approve/", views.version_approve, name="approve"),
    path("versions/<id:version_id>/return/", views.version_return, name="return"),
]
