from django.contrib import admin
from django.http import HttpRequest

from onestop.portal.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    """Read-only: the invitations of proactive start (ADR 0033), without personal data
    (the draft's data is the mother's and stays encrypted in her draft)."""

    list_display = ("pk", "region", "state", "case_number", "created_at", "expires_at")
    list_filter = ("region", "state")
    search_fields = ("case_number",)
    fields = ("region", "state", "case_number", "created_at", "expires_at", "submitted_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False
