"""Hospital delivery records: found only when hospital, record number and mother all match."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from onestop.hospitals.models import DeliveryRecord
from onestop.hospitals.selectors import delivery_record_lookup
from onestop.hospitals.services import delivery_record_upsert

pytestmark = pytest.mark.django_db

MOTHER = "450703199203150220"
DATA = {
    "born_at": "2026-11-10T08:20:00+08:00",
    "sex": "1",
    "weight_g": 3300,
    "length_cm": 50,
    "gestational_weeks": 39,
    "birth_attendant": "韦敏",
    "blood_type": "A",
    "in_hospital": True,
    "mother_name": "黄丽",
    "diagnosis": "not kept",
}


def store() -> None:
    delivery_record_upsert(
        hospital="qinbei-mch", record_number="ZY2026-11-0042", mother_id_number=MOTHER, data=DATA
    )


def test_found_only_when_all_three_match():
    store()
    found = delivery_record_lookup("qinbei-mch", "ZY2026-11-0042", MOTHER)
    assert found is not None
    assert found["weight_g"] == 3300 and found["mother_name"] == "黄丽"
    assert "diagnosis" not in found
    assert delivery_record_lookup("qinbei-mch", "ZY2026-11-0043", MOTHER) is None
    assert delivery_record_lookup("qinbei-people", "ZY2026-11-0042", MOTHER) is None
    assert delivery_record_lookup("qinbei-mch", "ZY2026-11-0042", "450703199408180140") is None
    assert delivery_record_lookup("", "", "") is None


def test_record_numbers_and_id_numbers_are_compared_as_people_type_them():
    delivery_record_upsert(
        hospital="qinbei-mch",
        record_number="zy2026-11-0042",
        mother_id_number="45070319920315022x",
        data=DATA,
    )
    assert delivery_record_lookup(" qinbei-mch ", "ZY2026-11-0042", "45070319920315022X")
    assert delivery_record_lookup("qinbei-mch", " zy2026-11-0042 ", "45070319920315022x")


def test_the_data_and_the_mothers_id_are_not_stored_in_clear():
    store()
    with connection.cursor() as cursor:
        cursor.execute("SELECT data, mother_id_index FROM hospitals_deliveryrecord")
        data, index = cursor.fetchone()
    assert "黄丽" not in data and "3300" not in data
    assert MOTHER not in index and len(index) == 64


def test_a_record_is_replaced_not_duplicated():
    store()
    delivery_record_upsert(
        hospital="qinbei-mch",
        record_number="ZY2026-11-0042",
        mother_id_number=MOTHER,
        data={**DATA, "weight_g": 3310},
    )
    assert DeliveryRecord.objects.count() == 1
    found = delivery_record_lookup("qinbei-mch", "ZY2026-11-0042", MOTHER)
    assert found is not None and found["weight_g"] == 3310


def test_demo_data_gives_every_example_newborn_its_record(media_root):
    from onestop.cases.models import Case
    from onestop.ops.demo import EXAMPLES, FRESH_MOTHER_ID, seed_demo

    first = seed_demo()
    assert first["delivery_records"] > 0
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        baby, mother = document["newborns"][0], document["mother"]
        found = delivery_record_lookup(baby["hospital"], baby["record_number"], mother["id_number"])
        assert found is not None, path.name
    # The record matches the stored (date-shifted) case of the newborn.
    case = Case.objects.order_by("submitted_at").filter(number__startswith="QINBEI").first()
    assert case is not None
    found = delivery_record_lookup("qinbei-mch", "ZY2026-11-0042", MOTHER)
    assert found is not None and found["born_at"] == case.document["newborns"][0]["born_at"]
    assert delivery_record_lookup("qinbei-mch", "ZY2026-DEMO-0001", FRESH_MOTHER_ID) is not None
    again = seed_demo()
    assert again["delivery_records"] == 0 and again["cases"] == 0
