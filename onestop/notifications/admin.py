from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from onestop.notifications.models import Notification
from onestop.notifications.services import notification_replay


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = (
        "message_id",
        "channel",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "channel")
    readonly_fields = (
        "message_id",
        "dedup_key",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    )
    exclude = ("phone", "phone_index", "body")
    actions = ["replay"]

    @admin.action(description=_("重新发送（死信）"))
    def replay(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        for notification in queryset.filter(status=Notification.Status.DEAD):
            notification_replay(notification.pk)
