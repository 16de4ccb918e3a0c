from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.counter import views

app_name = "counter"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new_case, name="new"),
    path(
        "letters/<code:region>/authorization.pdf",
        views.authorization_letter_pdf,
        name="authorization_letter",
    ),
    path("cases/<code:number>/", views.case_page, name="case"),
    path("cases/<code:number>/form.pdf", views.form_pdf, name="form_pdf"),
    path("cases/<code:number>/notice.pdf", views.notice_pdf, name="notice_pdf"),
    path(
        "cases/<code:number>/spot/<code:item>/complete/",
        views.spot_complete,
        name="spot_complete",
    ),
    path("cases/<code:number>/spot/<code:item>/print.pdf", views.spot_print, name="spot_print"),
    path(
        "cases/<code:number>/spot/<code:item>/handover/",
        views.spot_handover,
        name="spot_handover",
    ),
]
