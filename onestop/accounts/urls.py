from django.contrib.auth import views as auth_views
from django.urls import path

from onestop.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("parent/", views.parent_login, name="parent_login"),
    path("otp/", views.otp_verify_page, name="otp_verify"),
    path("otp/setup/", views.otp_setup, name="otp_setup"),
    path("otp/setup/qr.svg", views.otp_qr, name="otp_qr"),
]
