"""A demo run without simulators queues no webhook deliveries that could only fail; with
them, the demo clients' webhooks point at the simulators' receivers."""

from __future__ import annotations

import pytest

from onestop.cases.services import case_submit
from onestop.integration.models import ApiClient, WebhookDelivery
from onestop.ops.demo import _api_clients, demo_webhooks

pytestmark = pytest.mark.django_db


def test_demo_webhooks_follow_the_simulators(example, beijing, media_root):
    assert _api_clients() > 0
    demo_webhooks(enabled=False)
    case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    )
    assert not WebhookDelivery.objects.exists()
    assert demo_webhooks(enabled=True) == ApiClient.objects.count()
    assert all(
        url.startswith("http://127.0.0.1:")
        for url in ApiClient.objects.values_list("webhook_url", flat=True)
    )
    assert demo_webhooks(enabled=True) == 0  # idempotent
    case_submit(
        document=example("lanzhou-accept"), actor=None, now=beijing("2026-11-18T15:00:00+08:00")
    )
    assert WebhookDelivery.objects.exists()
