"""Reads of the hospitals' delivery records."""

from __future__ import annotations

from typing import Any

from onestop.common.fields import index_of
from onestop.hospitals.models import DeliveryRecord

# The delivery data a record holds (what the unified form can take from it).
DELIVERY_FIELDS = (
    "born_at",
    "sex",
    "weight_g",
    "length_cm",
    "gestational_weeks",
    "birth_attendant",
    "blood_type",
    "in_hospital",
    "mother_name",
)


def normalize_record_number(value: str) -> str:
    return "".join(value.split()).upper()


def normalize_id_number(value: str) -> str:
    return value.strip().upper()


def delivery_record_lookup(
    hospital: str, record_number: str, mother_id_number: str
) -> dict[str, Any] | None:
    """The delivery data of the record when hospital, record number and the mother's ID
    number all match; None otherwise (nothing tells which part did not match)."""
    hospital = hospital.strip()
    number = normalize_record_number(record_number)
    mother_id = normalize_id_number(mother_id_number)
    if not (hospital and number and mother_id):
        return None
    record = (
        DeliveryRecord.objects.filter(
            hospital_code=hospital,
            record_number=number,
            mother_id_index=index_of(mother_id, purpose="id"),
        )
        .only("data")
        .first()
    )
    if record is None or not isinstance(record.data, dict):
        return None
    return {key: record.data[key] for key in DELIVERY_FIELDS if key in record.data}


def delivery_record_exists(hospital: str, record_number: str) -> bool:
    return DeliveryRecord.objects.filter(
        hospital_code=hospital.strip(), record_number=normalize_record_number(record_number)
    ).exists()
