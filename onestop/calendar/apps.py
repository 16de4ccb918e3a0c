from django.apps import AppConfig


class CalendarConfig(AppConfig):
    name = "onestop.calendar"
    label = "workcalendar"
    verbose_name = "工作日历"
