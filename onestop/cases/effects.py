"""The effects of the case events (``onestop.cases.events``): timeline lines and the
parents' messages. Registered with the one handler table (``onestop.core.events``) when
the cases app starts; the items an accepted case starts are the workflow app's handler,
the webhooks the integration app's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime

from onestop.accounts.models import User, actor_label
from onestop.cases.channels import item_channels
from onestop.cases.events import CaseDecided, CaseSubmitted, CaseSupplemented
from onestop.cases.models import Case, TimelineEntry
from onestop.cases.promise import case_promise, promise_sentence
from onestop.cases.services import DECISION_WORDS
from onestop.common.compiled import CompiledInsert
from onestop.core.events import Phase, effects
from onestop.eligibility.reasons import ITEM_NAMES, Outcome
from onestop.notifications.messages import message_text
from onestop.notifications.services import notification_queue


def timeline_add(
    case: Case,
    at: datetime,
    kind: str,
    message: str,
    *,
    item: str = "",
    actor: User | None = None,
    parent: bool = True,
) -> None:
    """One line of the case's timeline (``parent``: the parents see it, else staff only).
    Inside an event dispatch the lines are held and written together, in order, when the
    dispatch ends (one INSERT per state change instead of one per line: issue 10)."""
    entry = TIMELINE_INSERT.new(  # TimelineEntry(…) without Model.__init__
        case=case,
        at=at,
        kind=kind,
        item=item,
        message=message,
        actor_label=actor_label(actor),
        visible_to_parent=parent,
    )
    if not effects.dispatching():
        TIMELINE_INSERT.save_new(entry)
        return
    held: list[TimelineEntry] | None = getattr(_held, "entries", None)
    if held is None:
        held = _held.entries = []
    held.append(entry)


_held = threading.local()
# The held lines' INSERT, built once per process (issue 10, helper h-submission: every
# state change of a case writes them; the webhooks' flush sends it inside its own).
TIMELINE_INSERT = CompiledInsert(TimelineEntry)


def _timeline_flush() -> None:
    TIMELINE_INSERT.insert(timeline_take())


def timeline_take() -> list[TimelineEntry]:
    """The lines this dispatch holds, for a flush that writes them with its own rows in one
    statement (the webhooks': issue 10, session 22); `_timeline_flush` then writes none."""
    held: list[TimelineEntry] | None = getattr(_held, "entries", None)
    _held.entries = None
    return held or []


def _timeline_discard() -> None:
    _held.entries = None


effects.on_dispatched(_timeline_flush, on_error=_timeline_discard)


def parent_phones(case: Case) -> list[str]:
    """Who hears about the case: the applicant, and the mother if she is not the applicant
    (valid mobile numbers, from the typed document)."""
    form = case.typed_document()
    return [p.phone for p in (form.applicant, form.mother) if p is not None and p.phone]


def parents_message(
    case: Case,
    *,
    key: str,
    at: datetime,
    template: str | None = None,
    context: Mapping[str, object] | None = None,
    body: str | None = None,
    phones: Iterable[str] | None = None,
) -> None:
    """Queue a message to the parents (SMS and in-app, sent after commit): the text is the
    message template ``template`` rendered with ``context`` (``number`` is the case's), or
    ``body`` composed by a domain core. ``key`` names the event: never queued twice."""
    if body is None:
        assert template is not None
        body = message_text(template, {"number": case.number, **(context or {})})
    notification_queue(
        key=key,
        phones=parent_phones(case) if phones is None else phones,
        body=body,
        at=at,
        case=case,
    )


# --- the handlers ---------------------------------------------------------------------------


@effects.register(CaseSubmitted, phase=Phase.RECORD, effect="timeline: 已通过网上/窗口提交申请")
def submitted_timeline(event: CaseSubmitted) -> None:
    where = "窗口" if event.at_counter else "网上"
    message = f"已通过{where}提交申请，办件编号 {event.case.number}"
    timeline_add(event.case, event.at, "submitted", message, actor=event.actor)


@effects.register(CaseSupplemented, phase=Phase.RECORD, effect="timeline: 已提交补正材料")
def supplemented_timeline(event: CaseSupplemented) -> None:
    timeline_add(event.case, event.at, "supplemented", "已提交补正材料", actor=event.actor)


@effects.register(CaseDecided, phase=Phase.RECORD, effect="timeline: 预审结论")
def decided_timeline(event: CaseDecided) -> None:
    word = DECISION_WORDS[event.decision.outcome.value]
    timeline_add(event.case, event.at, "decided", f"预审结论：{word}")


@effects.register(CaseDecided, phase=Phase.MESSAGE, effect="SMS + in-app: the decision")
def decided_message(event: CaseDecided) -> None:
    case, decision = event.case, event.decision
    if event.supplemented:
        parents_message(
            case,
            key=f"case:{case.number}:decided:{case.version}",
            at=event.at,
            template="case_decided_again",
            context={"decision": DECISION_WORDS[decision.outcome.value]},
        )
        return
    key = f"case:{case.number}:decided"
    if decision.outcome is Outcome.ACCEPT:
        items = "、".join(ITEM_NAMES.get(p.item, p.item) for p in decision.plan)
        # The sentence says the promise's terms and due time, not whether it was kept: the
        # items' finishing times are not read for it (issue 10 part 2: one statement).
        promise = promise_sentence(case_promise(case, items=()))
        parents_message(
            case,
            key=key,
            at=event.at,
            template="case_accepted",
            context={"items": items, "promise": promise},
        )
    elif decision.outcome is Outcome.SUPPLEMENT:
        count = len(decision.reasons)
        parents_message(
            case,
            key=key,
            at=event.at,
            template="case_supplement_needed",
            context={"count": count},
        )
    else:
        # the original channels stay open: where for this case (ADR 0034)
        places = "；".join(f"{c.name}到{c.where}" for c in item_channels(case) if c.where)
        parents_message(
            case, key=key, at=event.at, template="case_rejected", context={"places": places}
        )
