"""The messages of events below the case level (sign-in codes), registered with the one
handler table (``onestop.core.events``) when the notifications app starts."""

from __future__ import annotations

from onestop.accounts.events import OneTimeCodeIssued
from onestop.core.events import Phase, effects
from onestop.notifications.messages import message_text
from onestop.notifications.services import notification_queue


@effects.register(OneTimeCodeIssued, phase=Phase.MESSAGE, effect="SMS: 登录验证码")
def code_sms(event: OneTimeCodeIssued) -> None:
    notification_queue(
        key=f"otp:{event.phone_index[:16]}:{event.at.timestamp()}",
        phones=[event.phone],
        body=message_text("sign_in_code", {"code": event.code}),
        at=event.at,
        channels=["sms"],
    )
