"""The items of a case (事项) as department tasks, with their clocks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onestop.common.choices import labelled_choices
from onestop.common.fields import EncryptedJSONField
from onestop.workflow.domain.newborns import item_key
from onestop.workflow.domain.urgency import LAST_MARK, URGENCY_LABELS
from onestop.workflow.domain.urgency import Urgency as Urgency  # the lights, re-exported


class ItemState(models.TextChoices):
    WAITING = "waiting", _("等待前置事项")
    READY = "ready", _("待办理")
    IN_PROGRESS = "in_progress", _("办理中")
    DONE = "done", _("已办结")
    RETURNED = "returned", _("待补正")
    REFUSED = "refused", pgettext_lazy("item state", "不予办理")
    CANCELLED = "cancelled", _("已取消")


# The time-limit lights: the domain's enum and names (`onestop.workflow.domain.urgency`).
URGENCY_CHOICES = labelled_choices(URGENCY_LABELS)


class CaseItem(models.Model):
    # Indexed by ``case_item_unique`` (its first column): no index of its own.
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="items", db_index=False
    )
    item = models.CharField(_("事项"), max_length=40)
    # Which newborn a per-newborn item is for (多胞胎, ADR 0036), counted from 0 in the
    # document's ``newborns``; 0 for a single birth and for the items of the whole case.
    newborn = models.PositiveSmallIntegerField(_("新生儿序号"), default=0)
    position = models.PositiveSmallIntegerField()
    department = models.CharField(_("部门"), max_length=24)
    jurisdiction_kind = models.CharField(_("辖区类型"), max_length=16)
    jurisdiction_code = models.CharField(_("辖区"), max_length=32)
    division = models.CharField(_("所属区划"), max_length=6, default="")
    after = models.JSONField(_("前置事项"), default=list)
    state = models.CharField(_("状态"), max_length=16, choices=ItemState.choices)
    state_before_return = models.CharField(max_length=16, blank=True, default="")
    time_limit_days = models.IntegerField(_("办理时限"), null=True, blank=True)
    time_limit_unit = models.CharField(max_length=16, default="working_days")
    clock_rule = models.CharField(max_length=16, default="standard")
    clock_start = models.CharField(max_length=16, default="on_ready")
    received_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    # The due time ran past the working-day table: counted on weekends only (暂按双休日计算)
    # until an administrator publishes the year, then recomputed (issue 8, defect 4).
    due_provisional = models.BooleanField(_("期限暂按双休日计算"), default=False)
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    pauses = models.JSONField(default=list)
    urgency = models.CharField(max_length=8, choices=URGENCY_CHOICES, default=Urgency.NORMAL)
    # The deadline transitions recorded for the current ``due_at`` (bits of
    # ``urgency.DEADLINE_MARKS``), set by the sweep with its ``DeadlineEvent``. A database
    # trigger (migration 0014) sets it back to 0 whenever ``due_at`` changes, whoever writes.
    deadline_marks = models.PositiveSmallIntegerField(default=0)
    # Indexed by ``caseitem_claimed_by`` (the claimed items only), not ``db_index``.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = EncryptedJSONField(_("办理结果"), null=True, blank=True)
    reasons = models.JSONField(_("退回/不予办理原因"), default=list)
    cancelled_because = models.CharField(max_length=40, blank=True, default="")
    automatic = models.BooleanField(_("免申即享/秒批"), default=False)
    # "father" / "mother": the item also waits for that parent's confirmation by SMS link
    # (父母双方签字, ADR 0029); it is not dispatched until they confirm. "" otherwise.
    awaiting_confirmation = models.CharField(_("等待确认"), max_length=8, blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("事项")
        verbose_name_plural = _("事项")
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "item", "newborn"], name="case_item_unique")
        ]
        indexes = [
            models.Index(fields=["department", "jurisdiction_code", "state", "due_at"]),
            # The efficiency report reads the items finished in a period, per department.
            # The finished items only (session 29, ADR 0025 amendment): every read of
            # ``finished_at`` asks for a range or the least one (which PostgreSQL reads
            # with ``IS NOT NULL``), and an item's INSERT and its readied and claimed
            # UPDATEs (none HOT) then write no entry here or in ``caseitem_finished_at``.
            models.Index(
                fields=["department", "finished_at"],
                name="caseitem_department_finished",
                condition=models.Q(finished_at__isnull=False),
            ),
            # Issue 10 (ADR 0025): the open items alone, by due time — what the deadline
            # sweep and the deadlines page read — stays the size of the open work however
            # many finished items the table holds; and the items finished in a period (the
            # efficiency report's days not rolled up yet), across departments.
            models.Index(
                fields=["due_at", "id"],
                name="caseitem_open_due",
                condition=models.Q(state__in=["ready", "in_progress", "returned"]),
            ),
            models.Index(
                fields=["finished_at"],
                name="caseitem_finished_at",
                condition=models.Q(finished_at__isnull=False),
            ),
            # The claimer's items (a user's delete, which ``PROTECT`` refuses while any
            # is theirs): the claimed items only, as above.
            models.Index(
                fields=["claimed_by"],
                name="caseitem_claimed_by",
                condition=models.Q(claimed_by__isnull=False),
            ),
            # The supervisors' dashboards count the open items of a division by department
            # and item (overdue: past due_at) — from this index alone on PostgreSQL (issue
            # 12: the one-year dashboard over 1 M cases scanned 67 k open rows through the
            # state index and filtered the division, 93 ms of its 530; index-only: 10 ms).
            # Session 23 (ADR 0025): with the returned items and the columns the efficiency
            # report's open counts and the deadlines page's places read, so that those too
            # are read from it alone — not through an index of every item's state, which
            # is gone (every state change wrote an entry in it).
            models.Index(
                fields=["division"],
                include=[
                    *("department", "item", "jurisdiction_kind", "jurisdiction_code"),
                    *("state", "due_at", "due_provisional", "id"),
                ],
                opclasses=["varchar_pattern_ops"],
                name="caseitem_open_division",
                condition=models.Q(state__in=["ready", "in_progress", "returned"]),
            ),
            # Issue 10, part 4 (ADR 0025): an officer's queue — the open items of one desk
            # (department and jurisdiction) by due time — is read as the first 50 entries of
            # this index, not by sorting every open item of the desk.
            models.Index(
                fields=[
                    "department",
                    "jurisdiction_kind",
                    "jurisdiction_code",
                    "due_at",
                    "received_at",
                ],
                name="caseitem_open_desk_due",
                condition=models.Q(state__in=["ready", "in_progress", "returned"]),
            ),
            # The sweep's red light (``_relight``: due, open, not yet red) reads only the items
            # that turn red now; the ones already red leave this index when they turn red.
            models.Index(
                fields=["due_at"],
                name="caseitem_open_not_red",
                condition=models.Q(state__in=["ready", "in_progress"])
                & ~models.Q(urgency="overdue"),
            ),
            # The sweep's transitions (issue 10, part 4): the open items whose last
            # escalation is not yet recorded. An item leaves it when it is, so a run walks
            # the items of the last few days' due times, not every overdue item there is.
            models.Index(
                fields=["due_at", "id"],
                name="caseitem_open_unescalated",
                condition=models.Q(state__in=["ready", "in_progress"])
                & models.Q(deadline_marks__lt=LAST_MARK),
            ),
            # The sweep's amber and green lights put back (``_relight``): only the items
            # with another light than green are in it.
            models.Index(
                fields=["due_at"],
                name="caseitem_open_lit",
                condition=models.Q(state__in=["ready", "in_progress"])
                & ~models.Q(urgency="normal"),
            ),
            # The sweep's returned items still lit (``_relight`` puts their light back to
            # green: their clock is paused): usually none (session 23, instead of the index
            # of every item's state).
            models.Index(
                fields=["id"],
                name="caseitem_returned_lit",
                condition=models.Q(state="returned") & ~models.Q(urgency="normal"),
            ),
            # The provisional due times (暂按双休日计算) a published calendar year recomputes
            # (`provisional_dues_recompute`): a few rows, not one entry per item (session 23,
            # ADR 0025: every index of this table is written by each state change).
            models.Index(
                fields=["due_at"],
                name="caseitem_due_provisional",
                condition=models.Q(due_provisional=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.key}"

    @property
    def key(self) -> str:
        """The item within its case: its code, ``code-2`` for the second newborn's."""
        return item_key(self.item, self.newborn)


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("待缴费")
    PAID = "paid", _("已缴费")
    OVERDUE = "overdue", _("逾期未缴费")
    CANCELLED = "cancelled", _("已取消")


class PaymentNotice(models.Model):
    """The medical-insurance payment notice (缴费通知) of a case's payment item: what the
    parents were told (channels, amount, deadline), the reminders sent, the tax system's
    confirmation, and the step the parents take after it (Jilin: 激活医保码).
    docs/adr/0031-medical-insurance-payment-notice.md."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(CaseItem, on_delete=models.CASCADE, related_name="payment_notice")
    region = models.CharField(_("地区"), max_length=24)
    year = models.PositiveSmallIntegerField(_("参保年度"))
    amount_yuan = models.DecimalField(
        _("应缴金额（元）"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    amount_source = models.CharField(_("缴费标准依据"), max_length=200, blank=True, default="")
    channels = models.JSONField(_("缴费渠道"), default=list)
    deadline = models.DateTimeField(_("缴费期限"), null=True, blank=True)
    deadline_note = models.CharField(max_length=120, blank=True, default="")
    reminder_schedule = models.JSONField(_("提醒安排（到期前天数）"), default=list)
    reminders_sent = models.JSONField(_("已发送的提醒（到期前天数）"), default=list)
    status = models.CharField(
        _("缴费状态"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    notified_at = models.DateTimeField(_("通知时间"))
    paid_at = models.DateTimeField(_("缴费时间"), null=True, blank=True)
    payment_reference = models.CharField(_("缴费凭证号"), max_length=40, blank=True, default="")
    amount_paid = models.DecimalField(
        _("实缴金额（元）"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    activation_name = models.CharField(max_length=40, blank=True, default="")
    activation_where = models.CharField(max_length=60, blank=True, default="")
    activated_at = models.DateTimeField(_("激活时间"), null=True, blank=True)
    activated_by = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        verbose_name = _("医保缴费通知")
        verbose_name_plural = _("医保缴费通知")
        # The reminder job reads the unpaid notices by deadline, nothing else.
        indexes = [models.Index(fields=["status", "deadline"], name="payment_status_deadline")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.status}"


class CardStatus(models.TextChoices):
    """How far the social security card has come (issue 11 promise 4; seed 002: 推送社会保障卡
    申领受理办结进度; seed 003: 制作新生儿社会保障卡，并将结果反馈给服务平台)."""

    APPLIED = "applied", _("已申领")
    IN_PRODUCTION = "in_production", _("制卡中")
    MADE = "made", _("已制卡")
    AT_BRANCH = "at_branch", _("已送达网点")
    MAILED = "mailed", _("已寄出")
    CANCELLED = "cancelled", _("已取消")


class CardProduction(models.Model):
    """The social security card of a case's card item: the bank and branch chosen, how it
    reaches the parents (pickup at the branch or post, pack data), and the production
    statuses the HR department reported, each with its time (docs/adr/0037)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(CaseItem, on_delete=models.CASCADE, related_name="card")
    status = models.CharField(
        _("制卡状态"), max_length=16, choices=CardStatus.choices, default=CardStatus.APPLIED
    )
    bank = models.CharField(_("银行"), max_length=32, blank=True, default="")
    branch_code = models.CharField(_("领卡网点代码"), max_length=48, blank=True, default="")
    branch_name = models.CharField(_("领卡网点"), max_length=64, blank=True, default="")
    branch_address = models.CharField(_("网点地址"), max_length=128, blank=True, default="")
    branch_hours = models.CharField(_("营业时间"), max_length=64, blank=True, default="")
    method = models.CharField(_("领取方式"), max_length=8, default="pickup")
    history = models.JSONField(_("状态记录"), default=list)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("社会保障卡制卡进度")
        verbose_name_plural = _("社会保障卡制卡进度")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.status}"


class ConfirmationRequest(models.Model):
    """The other parent's confirmation by SMS link (父母双方签字, issue 11 promise 6, ADR 0029).

    The link carries a random single-use token; only its SHA-256 is kept here. The parent
    signs in with an SMS code sent to the phone the case gives for them (``phone_index``,
    the keyed blind index of that phone), reads ``statements`` and confirms (``signature``:
    who, when, the text and its hash) or refuses with a reason; until then ``items`` wait.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("等待确认")
        CONFIRMED = "confirmed", _("已确认")
        REFUSED = "refused", _("不同意")
        EXPIRED = "expired", _("逾期未确认")
        CANCELLED = "cancelled", _("已取消")

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="confirmation_requests"
    )
    parent = models.CharField(_("确认人"), max_length=8)  # father | mother
    phone_index = models.CharField(max_length=64, db_index=True)
    statements = models.JSONField(_("确认内容"), default=list)
    items = models.JSONField(_("等待的事项"), default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=State.choices, default=State.PENDING, db_index=True
    )
    created_at = models.DateTimeField(_("发起时间"))
    expires_at = models.DateTimeField(_("链接有效期至"), db_index=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    reason = models.CharField(_("不同意的原因"), max_length=200, blank=True, default="")
    signature = models.JSONField(_("电子签名记录"), null=True, blank=True)

    class Meta:
        verbose_name = _("父母确认")
        verbose_name_plural = _("父母确认")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.parent}:{self.state}"


class ResultHandover(models.Model):
    """A result handed over at the counter in the same visit (当场交付, ADR 0032): who
    received it (the applicant, a parent or the trustee, their name and ID number checked
    against the case), when, and by which clerk. One per item: printing again is allowed,
    handing over again is not."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="handovers")
    item = models.OneToOneField(CaseItem, on_delete=models.CASCADE, related_name="handover")
    result = models.CharField(_("结果物"), max_length=40)
    recipient_role = models.CharField(_("领取人身份"), max_length=16)
    # The recipient's name and ID number as checked (encrypted: personal data).
    recipient = EncryptedJSONField(_("领取人"))
    handed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    counter_kind = models.CharField(_("窗口类型"), max_length=16)
    counter_code = models.CharField(_("窗口"), max_length=32)
    handed_at = models.DateTimeField(_("交付时间"))

    class Meta:
        verbose_name = _("当场交付记录")
        verbose_name_plural = _("当场交付记录")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.result}"


class PreviewConfirmation(models.Model):
    """The applicant's confirmation of the previews before the item is issued (福州: 生成
    《出生医学证明》，《出生医学证明首次签发登记表》和《常住人口登记表》预览页面，一并推送给申请人确认
    签字（电子签名）; ADR 0035). While ``pending`` the item waits
    (``CaseItem.awaiting_confirmation == "preview"``). Confirmed: ``documents`` is the
    content the applicant signed (encrypted: personal data), ``digest`` its SM3, and
    ``evidence`` the platform-sealed signature record (SM2 over who, when, the digest).
    Asked to correct: the item is refused with ``reason`` and the applicant is sent to the
    ordinary channel (不符合要求的，通知申请人转线下办理)."""

    class State(models.TextChoices):
        PENDING = "pending", _("等待申请人确认签字")
        CONFIRMED = "confirmed", _("申请人已确认签字")
        CORRECTION = "correction", _("申请人要求更正")
        CANCELLED = "cancelled", _("已取消")

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, related_name="preview_confirmation"
    )
    item = models.CharField(_("等待的事项"), max_length=40)
    documents_kinds = models.JSONField(_("预览文书"), default=list)
    state = models.CharField(
        _("状态"), max_length=12, choices=State.choices, default=State.PENDING, db_index=True
    )
    created_at = models.DateTimeField(_("生成时间"))
    # One reminder to the applicant when the previews wait unsigned (job preview_reminders).
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("更正原因"), max_length=200, blank=True, default="")
    documents = EncryptedJSONField(_("已签署的预览内容"), null=True, blank=True)
    digest = models.CharField(_("预览内容摘要（SM3）"), max_length=64, blank=True, default="")
    # The sealed signature record: canonical JSON (what the platform's SM2 key signed), the
    # signature (base64url), the key and the algorithm (as an e-licence's seal).
    sealed = models.TextField(_("签名记录"), blank=True, default="")
    signature = models.TextField(_("平台签章"), blank=True, default="")
    key_id = models.CharField(_("签章密钥"), max_length=64, blank=True, default="")
    algorithm = models.CharField(_("签章算法"), max_length=16, blank=True, default="")

    class Meta:
        verbose_name = _("预览确认签字")
        verbose_name_plural = _("预览确认签字")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.item}:{self.state}"
