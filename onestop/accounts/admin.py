from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from onestop.accounts.models import User


@admin.register(User)
class OnestopUserAdmin(UserAdmin[User]):
    list_display = (
        "username",
        "display_name",
        "role",
        "department",
        "jurisdiction_kind",
        "jurisdiction_code",
        "is_active",
    )
    list_filter = ("role", "department", "jurisdiction_kind", "is_active")
    search_fields = ("username", "display_name", "jurisdiction_code")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            _("角色与辖区"),
            {
                "fields": (
                    "role",
                    "display_name",
                    "department",
                    "jurisdiction_kind",
                    "jurisdiction_code",
                )
            },
        ),
    )
