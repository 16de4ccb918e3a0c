"""Background tasks of the integration app (run by the worker)."""

from __future__ import annotations

from django_tasks import task

from onestop.integration.services import webhook_deliver


@task()
def deliver_webhook(delivery_id: int) -> str:
    return webhook_deliver(delivery_id)
