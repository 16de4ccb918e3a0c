from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.certificates import views

app_name = "certificates"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("verify/keys.json", views.keys_json, name="keys"),
    path("verify/<code:serial>.json", views.verify_serial_json, name="verify_json"),
    path("verify/<code:serial>/", views.verify_serial, name="verify_serial"),
    path("my/elicences/<code:serial>.pdf", views.parent_pdf, name="parent_pdf"),
    path("work/elicences/<code:serial>.pdf", views.officer_pdf, name="officer_pdf"),
]
