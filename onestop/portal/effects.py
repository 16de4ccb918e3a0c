"""The effects of the portal's events, registered with the one handler table
(``onestop.core.events``) when the portal app starts."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from onestop.core.events import Phase, effects
from onestop.core.written import written
from onestop.notifications.messages import message_text
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_queue
from onestop.portal.events import MotherInvited


@effects.register(MotherInvited, phase=Phase.MESSAGE, effect="SMS to the mother: 申请已准备好")
def mother_invited_sms(event: MotherInvited) -> None:
    """The link leads to the region's online application: sign-in with her phone first,
    then her prepared draft. No record number, name or ID in it."""
    path = reverse("portal:apply_region", kwargs={"region": event.region})
    link = settings.PUBLIC_BASE_URL + path
    body = message_text(
        "proactive_invitation",
        {"region": event.region_name, "until": written(event.expires_at), "link": link},
    )
    notification_queue(
        key=f"invitation:{event.invitation_id}",
        phones=[event.phone],
        body=body,
        at=event.at,
        channels=[Notification.Channel.SMS],
    )
