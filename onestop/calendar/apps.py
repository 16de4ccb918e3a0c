from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarConfig(AppConfig):
    name = "onestop.calendar"
    label = "workcalendar"
    verbose_name = _("工作日历")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from onestop.calendar.models import CalendarYear, SpecialDay
        from onestop.reference.selectors import forget_stamp

        # A request that edits the calendar reads the stamp again (the triggers moved it).
        for model in (CalendarYear, SpecialDay):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_stamp,
                    sender=model,
                    dispatch_uid=f"calendar-stamp-{model.__name__}-{signal is post_save}",
                )
