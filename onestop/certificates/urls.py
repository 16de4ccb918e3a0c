from django.urls import path

from onestop.certificates import views

app_name = "certificates"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("verify/keys.json", views.keys_json, name="keys"),
    path("verify/<str:serial>.json", views.verify_serial_json, name="verify_json"),
    path("verify/<str:serial>/", views.verify_serial, name="verify_serial"),
    path("my/elicences/<str:serial>.pdf", views.parent_pdf, name="parent_pdf"),
    path("work/elicences/<str:serial>.pdf", views.officer_pdf, name="officer_pdf"),
]
