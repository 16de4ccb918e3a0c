"""`CompiledInsert.new`: the instance ``Model(**values)`` builds, without Django's
``Model.__init__`` (issue 10, session 30, h-cpu), for the rows a completion only inserts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db.models import Model
from django.db.models.signals import post_init

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case, Newborn, NewbornClaim, Person, SscApplication, TimelineEntry
from onestop.certificates.models import ELicence
from onestop.common.compiled import CompiledInsert
from onestop.integration.models import WebhookDelivery
from onestop.notifications.models import Notification
from onestop.workflow.models import CaseItem

AT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def _state(obj: Model) -> dict[str, Any]:
    values = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    return {
        "values": values,
        "adding": obj._state.adding,
        "db": obj._state.db,
        "cache": dict(obj._state.fields_cache),
    }


def _cases() -> list[tuple[type[Model], dict[str, Any], set[str]]]:
    case = Case(pk=7, number="QB-1")
    item = CaseItem(pk=9, case=case, item="birth_certificate")
    return [
        (
            Notification,
            {
                "dedup_key": "k",
                "case": case,
                "channel": "sms",
                "phone": "13900000000",
                "phone_index": "ab",
                "body": "一",
                "created_at": AT,
                "next_attempt_at": AT,
                "status": "sent",
                "sent_at": AT,
            },
            {"message_id"},  # a fresh uuid each, by its default
        ),
        (
            TimelineEntry,
            {"case": case, "at": AT, "kind": "k", "item": "", "message": "m", "actor_label": ""},
            set(),
        ),
        (
            ELicence,
            {"serial": "S", "case": case, "item": item, "kind": "x", "payload": {"a": 1}},
            set(),
        ),
        (
            WebhookDelivery,
            {"client_id": 3, "event": "e", "case_number": "QB-1", "payload": {}, "created_at": AT},
            {"delivery_id"},
        ),
        # A submission's rows (session 31, h-cpu): its items, people, newborns and claims.
        (
            CaseItem,
            {
                "case": case,
                "item": "birth_certificate",
                "newborn": 1,
                "position": 0,
                "department": "health",
                "jurisdiction_kind": "hospital",
                "jurisdiction_code": "H1",
                "division": "450700",
                "after": ["x"],
                "state": "waiting",
                "time_limit_days": 5,
                "time_limit_unit": "working_days",
                "clock_rule": "r",
                "clock_start": "s",
                "automatic": False,
            },
            set(),
        ),
        (
            Person,
            {"case": case, "role": "mother", "name": "母", "id_number": None, "id_index": ""},
            set(),
        ),
        (
            Newborn,
            {"case": case, "position": 0, "name": None, "sex": "F", "born_at": None},
            set(),
        ),
        (
            NewbornClaim,
            {"case": case, "position": 0, "kind": "record", "key_index": "k", "claimed_at": AT},
            set(),
        ),
        (SscApplication, {"case": case, "position": 0, "key_index": "k", "claimed_at": AT}, set()),
        (
            AuditRecord,
            {
                "at": AT,
                "stream": "case:QB-1",
                "actor_id": None,
                "actor_label": "",
                "action": "a",
                "object_type": "case",
                "object_id": "QB-1",
                "detail": {"x": 1},
            },
            set(),
        ),
    ]


@pytest.mark.parametrize("number", range(10))
def test_new_builds_the_instance_init_builds(number):
    model, values, fresh = _cases()[number]
    insert = CompiledInsert(model)
    assert insert._new_plan() is not None  # the fast path, not Django's __init__
    made, django = _state(insert.new(**values)), _state(model(**values))
    for name in fresh:  # a callable default: called for each instance, as __init__ does
        assert type(made["values"].pop(name)) is type(django["values"].pop(name))
    assert made == django
    every = {f.attname for f in model._meta.concrete_fields}
    assert set(made["values"]) == every - fresh


def test_new_is_django_init_where_the_model_has_init_listeners_or_unknown_names():
    def listener(**kwargs: Any) -> None:
        kwargs["instance"].heard = True

    post_init.connect(listener, sender=TimelineEntry)
    try:
        made = CompiledInsert(TimelineEntry).new(kind="k", message="m")
    finally:
        post_init.disconnect(listener, sender=TimelineEntry)
    assert made.heard is True  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        CompiledInsert(TimelineEntry).new(kind="k", no_such_field=1)
