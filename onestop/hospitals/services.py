"""Writes of delivery records (the hospitals' data feed; the demo data)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from onestop.common.fields import index_of
from onestop.hospitals.models import DeliveryRecord
from onestop.hospitals.selectors import (
    DELIVERY_FIELDS,
    normalize_id_number,
    normalize_record_number,
)


def delivery_record_upsert(
    *,
    hospital: str,
    record_number: str,
    mother_id_number: str,
    data: Mapping[str, Any],
    now: datetime | None = None,
) -> tuple[DeliveryRecord, bool]:
    """Store (or replace) a hospital's delivery record; returns it and whether it is new.

    Only the known delivery fields are kept."""
    now = now or timezone.now()
    kept = {key: data[key] for key in DELIVERY_FIELDS if data.get(key) is not None}
    record, created = DeliveryRecord.objects.update_or_create(
        hospital_code=hospital.strip(),
        record_number=normalize_record_number(record_number),
        defaults={
            "mother_id_index": index_of(normalize_id_number(mother_id_number), purpose="id"),
            "data": kept,
            "updated_at": now,
        },
        create_defaults={
            "mother_id_index": index_of(normalize_id_number(mother_id_number), purpose="id"),
            "data": kept,
            "created_at": now,
            "updated_at": now,
        },
    )
    return record, created
