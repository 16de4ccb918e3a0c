"""Time-limit supervision (时限监督): what the deadline sweep recorded, the parents' urges
(催办), and the in-app messages to staff (工作消息) both of them send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeadlineEvent(models.Model):
    """One deadline transition of one item, recorded once: the ledger that makes the sweep
    idempotent (a second run finds the row and sends nothing). Keyed by the due time, so
    an item whose due time moved (a supplement pause) can be warned about again."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("即将到期")
        OVERDUE = "overdue", _("已超期")
        ESCALATED_1 = "escalated_1", _("超期督办")
        ESCALATED_2 = "escalated_2", _("超期上报上级")

    item = models.ForeignKey(
        "workflow.CaseItem", on_delete=models.CASCADE, related_name="deadline_events"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    due_at = models.DateTimeField(_("办理期限"))
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("时限预警记录")
        verbose_name_plural = _("时限预警记录")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "kind", "due_at"], name="deadline_event_once_per_due"
            )
        ]


class ItemUrge(models.Model):
    """A parent urged (催办) an overdue item. At most one per item and working day."""

    item = models.ForeignKey("workflow.CaseItem", on_delete=models.CASCADE, related_name="urges")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("催办时间"))
    working_day = models.DateField(_("所属工作日"))

    class Meta:
        verbose_name = _("催办记录")
        verbose_name_plural = _("催办记录")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "working_day"], name="urge_once_per_working_day"
            )
        ]


class StaffMessage(models.Model):
    """An in-app message to one staff user (officers and supervisors need no phone).

    ``dedup_key`` is unique: the same event never gives a user two messages."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("即将到期")
        OVERDUE = "overdue", _("已超期")
        ESCALATED = "escalated", _("超期督办")
        URGED = "urged", _("家长催办")
        CALENDAR = "calendar", _("工作日历提醒")
        AUDIT = "audit", _("审计告警")
        RATING = "rating", _("差评整改")  # a bad rating to answer (onestop.ratings)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_messages"
    )
    dedup_key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        "workflow.CaseItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    body = models.TextField(_("内容"))
    created_at = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("工作消息")
        verbose_name_plural = _("工作消息")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="staff_message_unread")]


class EfficiencyDay(models.Model):
    """The efficiency report's roll-up (issue 10, ADR 0025): one row per Beijing day and
    department, jurisdiction and division with what the report counts of the items
    finished that day, and the working times of those items as a histogram (working days
    rounded to 0.01: count). Written by the ``efficiency_rollup`` job for whole past days;
    a row with an empty ``department`` marks a day as rolled up (also a day with no item
    finished). The report adds the days not rolled up yet (today) from the items."""

    day = models.DateField(_("日期"))
    department = models.CharField(_("部门"), max_length=24, blank=True, default="")
    jurisdiction_kind = models.CharField(max_length=16, blank=True, default="")
    jurisdiction_code = models.CharField(max_length=32, blank=True, default="")
    division = models.CharField(max_length=6, blank=True, default="")
    finished = models.PositiveIntegerField(default=0)
    automatic = models.PositiveIntegerField(default=0)
    with_limit = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    provisional = models.PositiveIntegerField(default=0)
    working_days = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("办理效率日汇总")
        verbose_name_plural = _("办理效率日汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "department", "jurisdiction_kind", "jurisdiction_code", "division"],
                name="efficiency_day_key",
            )
        ]
        indexes = [models.Index(fields=["day", "division"], name="efficiency_day_division")]
