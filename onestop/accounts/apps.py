from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "onestop.accounts"
    label = "accounts"
    verbose_name = _("账户与权限")

    def ready(self) -> None:
        from django.contrib import admin
        from django_otp.admin import OTPAdminSite

        # /admin/ requires a second factor verified in this session (django-otp): the
        # default site keeps its registrations and only gains that check and the OTP field
        # on its own sign-in form.
        admin.site.__class__ = OTPAdminSite
