"""The hot tables' index set (session 27, ADR 0025 amendment): the unique text columns keep
their unique index and lose their ``LIKE`` twin on PostgreSQL; the outboxes' status
indexes are replaced by partial indexes of the dead letter and the retention, which the
retention's delete reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from onestop.notifications.models import Notification
from onestop.notifications.services import notifications_prune

pytestmark = pytest.mark.django_db

UNIQUE_TEXT = [
    ("notifications_notification", "dedup_key"),
    ("audit_auditrecord", "hash"),
    ("cases_material", "token"),
    ("certificates_elicence", "serial"),
]


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's indexes")


@pytest.mark.usefixtures("postgres")
@pytest.mark.parametrize(("table", "column"), UNIQUE_TEXT)
def test_a_unique_text_column_keeps_its_unique_index_without_a_like_twin(table, column):
    found = _indexes(table).values()
    assert any("UNIQUE" in d and d.endswith(f"({column})") for d in found), found
    assert not any(f"({column} varchar_pattern_ops)" in d for d in found), found


@pytest.mark.usefixtures("postgres")
def test_the_outboxes_status_is_indexed_only_where_the_dead_letter_and_retention_read():
    notifications = _indexes("notifications_notification")
    deliveries = _indexes("integration_webhookdelivery")
    assert "notification_status" not in notifications
    assert not any("(status, next_attempt_at)" in d for d in deliveries.values())
    assert "WHERE ((status)::text = 'dead'::text)" in notifications["notification_dead"]
    assert "WHERE ((status)::text = 'dead'::text)" in deliveries["webhook_dead"]
    assert "(sent_at)" in notifications["notification_sms_sent"]
    assert "(delivered_at)" in deliveries["webhook_delivered"]


def _message(key: str, channel: str, sent_at) -> Notification:
    return Notification.objects.create(
        dedup_key=key,
        channel=channel,
        body="b",
        status=Notification.Status.SENT,
        next_attempt_at=sent_at,
        created_at=sent_at,
        sent_at=sent_at,
    )


def test_a_duplicate_dedup_key_is_still_refused_and_the_retention_deletes_old_sms_only():
    old = timezone.now() - timedelta(days=400)
    _message("k:sms", "sms", old)
    kept = _message("k:in_app", "in_app", old)
    recent = _message("k:recent", "sms", timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        _message("k:sms", "sms", old)
    assert notifications_prune() == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {kept.pk, recent.pk}
