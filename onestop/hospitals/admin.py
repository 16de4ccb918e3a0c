from django.contrib import admin
from django.http import HttpRequest

from onestop.hospitals.models import DeliveryRecord


@admin.register(DeliveryRecord)
class DeliveryRecordAdmin(admin.ModelAdmin[DeliveryRecord]):
    """Read-only: the records come from the hospitals' systems; the delivery data (the
    child's medical data) is not shown here."""

    list_display = ("hospital_code", "record_number", "created_at", "updated_at")
    list_filter = ("hospital_code",)
    search_fields = ("hospital_code", "record_number")
    fields = ("hospital_code", "record_number", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: DeliveryRecord | None = None
    ) -> bool:
        return False
