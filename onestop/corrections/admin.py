from django.contrib import admin
from django.http import HttpRequest

from onestop.corrections.models import Correction


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin[Correction]):
    """Read-only: the corrections (ADR 0042) and their state, without the values (personal
    data, encrypted; the issuing department's officers see them in the workbench)."""

    list_display = ("pk", "case", "field", "state", "requested_role", "requested_at", "decided_at")
    list_filter = ("state", "field", "requested_role")
    fields = (
        "case",
        "item",
        "licence",
        "corrected_licence",
        "field",
        "state",
        "requested_role",
        "requested_at",
        "decided_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Correction | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Correction | None = None) -> bool:
        return False
