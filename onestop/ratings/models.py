"""Ratings (好差评) of a finished case and of each department's step, and the follow-ups
(整改) a bad rating opens (ADR 0038).

国办发〔2019〕51号: five grades (非常满意 满意 基本满意 不满意 非常不满意), every bad rating
is followed up and rectified; GB/T 39734-2020: 一次一评 at the counter, 一事一评 online.
Seed 002 (Qinbei) 十(一): "在事项办结后,向新生儿父母推送“好差评”服务,接受社会监督".

A rating is written once and never changed: one per case and step (``step`` is the
item's key in its case — its code, ``code-2`` for a second newborn's item of twins
(ADR 0036), so each baby's step is rated on its own — "" for the whole service), no
update path, a read-only admin and a database trigger refusing UPDATE (and DELETE on
PostgreSQL; migration 0002).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedTextField

WHOLE_SERVICE = ""  # the ``step`` of a rating of the whole service


class Grade(models.IntegerChoices):
    """The five national grades (国办发〔2019〕51号), best first."""

    VERY_SATISFIED = 5, _("非常满意")
    SATISFIED = 4, _("满意")
    BASICALLY_SATISFIED = 3, _("基本满意")
    DISSATISFIED = 2, _("不满意")
    VERY_DISSATISFIED = 1, _("非常不满意")


BAD_GRADES = (Grade.DISSATISFIED, Grade.VERY_DISSATISFIED)  # 差评: followed up and rectified


class Channel(models.TextChoices):
    ONLINE = "online", _("网上（一事一评）")
    COUNTER = "counter", _("窗口（一次一评）")
    # 国办发〔2019〕51号: counters, hotlines and apps are all rated. The 12345 operator
    # records the caller's grades after verifying the caller (issue 12 gap 2).
    HOTLINE = "hotline", _("12345热线")


class ClosedHow(models.TextChoices):
    """How a follow-up closed: the parent confirmed the reply, or stayed silent past the
    setting ``RATING_CONFIRM_WORKING_DAYS`` working days (逾期未确认，视为认可)."""

    CONFIRMED = "confirmed", _("申请人确认满意")
    SILENCE = "silence", _("逾期未确认，视为认可")


class Rating(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="ratings")
    step = models.CharField(_("评价对象"), max_length=40, blank=True, default=WHOLE_SERVICE)
    item = models.ForeignKey(
        "workflow.CaseItem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.CharField(_("部门"), max_length=24, blank=True, default="")
    division = models.CharField(_("所属区划"), max_length=6, blank=True, default="", db_index=True)
    grade = models.PositiveSmallIntegerField(_("评价等级"), choices=Grade.choices)
    comment = EncryptedTextField(_("评价意见"), blank=True, default="")
    channel = models.CharField(_("评价渠道"), max_length=8, choices=Channel.choices)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("评价时间"), db_index=True)

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        ordering = ["case_id", "step"]
        constraints = [
            models.UniqueConstraint(fields=["case", "step"], name="rating_once_per_case_step"),
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=5), name="rating_grade_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.step or '-'}:{self.grade}"

    @property
    def bad(self) -> bool:
        return self.grade in BAD_GRADES


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("待整改")
    REPLIED = "replied", _("待申请人确认")
    CLOSED = "closed", _("已办结")


class FollowUp(models.Model):
    """The rectification (整改) of one bad rating: owned by the rated step's department in
    the item's jurisdiction, or (whole service, ``department`` "") by the supervisors over
    the case's division. Due ``settings.RATING_FOLLOW_UP_WORKING_DAYS`` working days after
    it opened (or after the parent's re-complaint)."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="follow_up")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    department = models.CharField(_("责任部门"), max_length=24, blank=True, default="")
    jurisdiction_kind = models.CharField(max_length=16, blank=True, default="")
    jurisdiction_code = models.CharField(max_length=32, blank=True, default="")
    division = models.CharField(_("所属区划"), max_length=6, blank=True, default="", db_index=True)
    status = models.CharField(
        _("状态"), max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    round = models.PositiveSmallIntegerField(_("轮次"), default=1)
    opened_at = models.DateTimeField(_("发起时间"), db_index=True)
    due_at = models.DateTimeField(_("整改期限"))
    due_provisional = models.BooleanField(default=False)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_how = models.CharField(
        _("办结方式"), max_length=12, blank=True, default="", choices=ClosedHow.choices
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("差评整改")
        verbose_name_plural = _("差评整改")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["department", "status"], name="follow_up_department"),
            models.Index(fields=["status", "due_at"], name="follow_up_status_due"),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.pk} ({self.status})"


class FollowUpEntry(models.Model):
    """One step of a follow-up, in order: opened, a reply, the parent's confirmation or
    re-complaint. Texts are encrypted (they may name people and circumstances)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("差评转办")
        REPLY = "reply", _("整改答复")
        CONFIRMED = "confirmed", _("申请人确认满意")
        RECOMPLAINED = "recomplained", _("申请人再次反映")
        CLOSED_SILENCE = "closed_silence", _("逾期未确认，视为认可")

    follow_up = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    text = EncryptedTextField(_("内容"), blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=80, blank=True, default="")
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("整改记录")
        verbose_name_plural = _("整改记录")
        ordering = ["pk"]


class RatingDay(models.Model):
    """The dashboards' daily roll-up of ratings (ADR 0041, amended for ratings): the ratings
    given on a Beijing day, per division, department (the step's; "" for the whole
    service), whole service or step, channel and grade — how many, and how many of them
    have a follow-up now open, replied or closed (and closed after the parent's silence).

    A row with ``grade`` 0 marks the day as rolled up; ``stale`` on it means a follow-up of
    that day's ratings changed state since (set in the service's transaction), so the
    dashboards count the day from the rows until the job ``ratings_rollup`` rolls it up
    again. Overdue follow-ups are a question of time: counted live from the open ones."""

    day = models.DateField(_("日期"))
    division = models.CharField(max_length=6, blank=True, default="")
    department = models.CharField(max_length=24, blank=True, default="")
    whole = models.BooleanField(default=False)
    channel = models.CharField(max_length=8, blank=True, default="")
    grade = models.PositiveSmallIntegerField(default=0)
    stale = models.BooleanField(default=False)
    ratings = models.PositiveIntegerField(default=0)
    follow_ups_open = models.PositiveIntegerField(default=0)
    follow_ups_replied = models.PositiveIntegerField(default=0)
    follow_ups_closed = models.PositiveIntegerField(default=0)
    follow_ups_closed_silent = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("评价日汇总")
        verbose_name_plural = _("评价日汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "division", "department", "whole", "channel", "grade"],
                name="rating_day_key",
            )
        ]
        indexes = [models.Index(fields=["day", "division"], name="rating_day_division")]
