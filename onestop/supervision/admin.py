"""Read-only views of the time-limit records for administrators."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from onestop.supervision.models import DeadlineEvent, ItemUrge, StaffMessage


class _ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DeadlineEvent)
class DeadlineEventAdmin(_ReadOnly):
    list_display = ("case", "item", "kind", "due_at", "at")
    list_filter = ("kind",)
    raw_id_fields = ("case", "item")


@admin.register(ItemUrge)
class ItemUrgeAdmin(_ReadOnly):
    list_display = ("case", "item", "working_day", "at")
    raw_id_fields = ("case", "item", "parent")


@admin.register(StaffMessage)
class StaffMessageAdmin(_ReadOnly):
    list_display = ("user", "kind", "case", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "case", "item")
