"""The one table of event effects (issue 9, part 3): every event has its effects, each
event department systems hear of leads to its webhook name (the names are the API's
contract, ADR 0011), and docs/events.md shows the table as it is."""

from __future__ import annotations

from pathlib import Path

from onestop.cases.events import CaseEvent
from onestop.core.events import Phase, effects, event_types, handlers_table, handlers_table_text
from onestop.integration.effects import WEBHOOK_OF
from onestop.integration.models import EVENT_TYPES as WEBHOOK_NAMES
from onestop.workflow.events import ItemEvent

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_every_event_type_has_its_effects_and_every_handler_a_known_event():
    types = event_types()
    assert {
        "case_submitted",
        "case_decided",
        "case_supplemented",
        "case_completed",
        "item_became_ready",
        "item_claimed",
        "item_completed",
        "item_returned",
        "item_resumed",
        "item_refused",
        "item_cancelled",
    } <= set(types)
    without = [name for name, cls in types.items() if not effects.handlers(cls)]
    assert without == []
    assert {row.event for row in handlers_table()} == set(types)
    # Every event of a case or its items leaves a line on the case's timeline.
    for name, cls in types.items():
        if not issubclass(cls, CaseEvent | ItemEvent):
            continue
        assert any(h.phase is Phase.RECORD for h in effects.handlers(cls)), name


def test_each_event_kind_leads_to_its_webhook_name():
    expected = {
        "item_became_ready": "task.created",
        "item_claimed": "task.updated",
        "item_completed": "task.updated",
        "item_returned": "task.updated",
        "item_resumed": "task.updated",
        "item_refused": "task.updated",
        "item_cancelled": "task.updated",
        "case_decided": "case.decided",
        "case_completed": "case.completed",
        "correction_requested": "correction.requested",  # ADR 0042
        "result_corrected": "result.corrected",
    }
    assert {cls.name: webhook for cls, webhook in WEBHOOK_OF.items()} == expected
    assert set(expected.values()) == set(WEBHOOK_NAMES)  # the names clients subscribe to
    for name, cls in event_types().items():
        published = [h.effect for h in effects.handlers(cls) if h.phase is Phase.PUBLISH]
        assert published == ([f"webhook {expected[name]}"] if name in expected else []), name


def test_the_e_licence_and_the_automatic_steps_follow_from_the_events():
    completed = [(h.phase, h.qualname) for h in effects.handlers(event_types()["item_completed"])]
    assert (Phase.ISSUE, "onestop.certificates.effects.completed_elicence") in completed
    ready = [(h.phase, h.qualname) for h in effects.handlers(event_types()["item_became_ready"])]
    assert ready[-1] == (Phase.FOLLOW, "onestop.workflow.effects.automatic_step")


def test_the_documented_table_is_the_table():
    text = DOC.read_text(encoding="utf-8")
    assert handlers_table_text() in text, (
        "docs/events.md is out of date: paste onestop.core.events.handlers_table_text()"
    )
