"""Follow-ups the parent leaves unanswered (issue 12 gap 3): the department replied, the
parent neither confirmed nor complained again within ``RATING_CONFIRM_WORKING_DAYS``
working days (the product's calendar): the periodic job ``follow_ups_silence`` closes each
as 逾期未确认，视为认可 (``closed_how`` "silence"), one transaction per follow-up
(``services.follow_up_close_after_silence``: case row locked, state read again, so a run
repeated or racing a re-complaint does nothing twice)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from onestop.ratings.models import FollowUp, FollowUpStatus
from onestop.ratings.services import (
    confirm_working_days,
    follow_up_close_after_silence,
    silence_deadline,
)


def follow_ups_silence_close(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    # N working days are at least N calendar days: only replies older than that are read.
    candidates = FollowUp.objects.filter(
        status=FollowUpStatus.REPLIED,
        replied_at__lte=now - timedelta(days=confirm_working_days()),
    ).order_by("replied_at", "pk")
    closed = 0
    for pk, replied_at in candidates.values_list("pk", "replied_at"):
        if replied_at is None or silence_deadline(replied_at) > now:
            continue
        closed += follow_up_close_after_silence(follow_up_id=pk, now=now)
    return {"closed": closed}
