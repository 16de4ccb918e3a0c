from django.urls import path

from onestop.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.cases, name="cases"),
    path("cases/<str:number>/", views.case, name="case"),
]
