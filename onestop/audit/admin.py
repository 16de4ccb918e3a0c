from django.contrib import admin
from django.http import HttpRequest

from onestop.audit.models import AccessRecord, AuditAnchor, AuditRecord


class ReadOnly:
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnly, admin.ModelAdmin[AuditRecord]):
    list_display = (
        "stream",
        "seq",
        "at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "key_id",
    )
    list_filter = ("action", "object_type")
    search_fields = ("stream", "actor_label")


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnly, admin.ModelAdmin[AuditAnchor]):
    list_display = ("seq", "at", "records_total", "streams_total", "last_id", "key_id")


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnly, admin.ModelAdmin[AccessRecord]):
    list_display = ("at", "actor", "case_number", "what", "granted")
    list_filter = ("granted",)
    search_fields = ("case_number",)
