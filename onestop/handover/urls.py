from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.handover import views

app_name = "handover"
urlpatterns = [
    path("", views.batches, name="batches"),
    path("<id:batch_id>/", views.batch, name="batch"),
    path("<id:batch_id>/list.pdf", views.batch_pdf, name="pdf"),
    path("<id:batch_id>/send/", views.batch_send, name="send"),
    path("<id:batch_id>/receive/", views.batch_receive, name="receive"),
]
