from django.urls import path

from onestop.portal import views

app_name = "portal"
urlpatterns = [
    path("cases/", views.my_cases, name="cases"),
    path("cases/<str:number>/", views.case_progress, name="case"),
    path("cases/<str:number>/notice.pdf", views.case_notice, name="notice"),
]
