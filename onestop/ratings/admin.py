"""Read-only views of ratings and follow-ups: no one edits or deletes a rating (ADR 0038)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from onestop.ratings.models import FollowUp, FollowUpEntry, Rating


class _ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Rating)
class RatingAdmin(_ReadOnly):
    list_display = ("case", "step", "grade", "channel", "at")
    list_filter = ("grade", "channel")
    exclude = ("comment",)  # personal-ish text: read on the pages that record the read
    raw_id_fields = ("case", "item", "rater")


@admin.register(FollowUp)
class FollowUpAdmin(_ReadOnly):
    list_display = ("case", "department", "status", "round", "due_at", "closed_at")
    list_filter = ("status", "department")
    raw_id_fields = ("case", "rating")


@admin.register(FollowUpEntry)
class FollowUpEntryAdmin(_ReadOnly):
    list_display = ("follow_up", "kind", "actor_label", "at")
    exclude = ("text",)
    raw_id_fields = ("follow_up", "actor")
