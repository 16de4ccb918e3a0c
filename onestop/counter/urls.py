from django.urls import path

from onestop.counter import views

app_name = "counter"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new_case, name="new"),
    path("cases/<str:number>/", views.case_page, name="case"),
    path("cases/<str:number>/form.pdf", views.form_pdf, name="form_pdf"),
    path("cases/<str:number>/notice.pdf", views.notice_pdf, name="notice_pdf"),
]
