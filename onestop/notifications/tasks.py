"""Background tasks of the notifications app (run by the worker)."""

from __future__ import annotations

from django_tasks import task

from onestop.notifications.services import notification_deliver


@task()
def deliver_notification(notification_id: int) -> str:
    return notification_deliver(notification_id)
