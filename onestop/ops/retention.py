"""Retention of the background work (the periodic job ``background_prune``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onestop.notifications.services import notifications_prune

FINISHED_TASK_STATUSES = ("SUCCESSFUL", "FAILED")


def background_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Issue 10: "finished task rows are never pruned". Deletes SMS sent more than
    ``OUTBOX_SENT_RETENTION_DAYS`` ago and django-tasks rows finished more than
    ``TASKS_FINISHED_RETENTION_HOURS`` ago (webhook deliveries: `integration_prune`).
    Dead and pending rows are kept."""
    now = now or timezone.now()
    before = now - timedelta(hours=settings.TASKS_FINISHED_RETENTION_HOURS)
    tasks, _ = DBTaskResult.objects.filter(
        status__in=FINISHED_TASK_STATUSES, finished_at__lt=before
    ).delete()
    return {"sms": notifications_prune(now=now), "tasks": tasks}
