"""Follow-ups past their due time (国办发〔2019〕51号: every bad rating is followed up and
rectified within a time limit): the periodic job ``follow_ups_overdue`` tells, once per
follow-up round, whoever has to answer (the step's officers, or the supervisors for the
whole service) and the nearest level of supervisors over the case, as work messages. No
state changes (overdue is a question of time, read by ``selectors.overdue_q``); the
messages' keys make a second run send nothing."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from onestop.core.written import written
from onestop.ratings.effects import answerers
from onestop.ratings.models import FollowUp
from onestop.ratings.selectors import overdue_q
from onestop.ratings.services import step_name
from onestop.supervision.models import StaffMessage
from onestop.supervision.selectors import supervisor_levels
from onestop.supervision.services import staff_message_send


def follow_ups_overdue_notify(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    notified = 0
    late = FollowUp.objects.filter(overdue_q(now)).select_related("rating", "case")
    for follow_up in late.order_by("due_at"):
        users = list(answerers(follow_up))
        levels = supervisor_levels(follow_up.division)
        users += levels[0] if levels else []
        step = step_name(follow_up.rating.step)
        body = (
            f"【差评整改超期】办件{follow_up.case.number}（{step}）的差评整改已超过期限"
            f"（{written(follow_up.due_at)}），请尽快答复申请人。"
        )
        with transaction.atomic():
            sent = staff_message_send(
                users=users,
                key=f"follow_up_overdue:{follow_up.pk}:{follow_up.round}",
                kind=StaffMessage.Kind.RATING,
                body=body,
                at=now,
                case=follow_up.case,
            )
        notified += 1 if sent else 0
    return {"notified": notified}
