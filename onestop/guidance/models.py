"""Parenting guidance (科学育儿指导, ADR 0040): the families registered for it, and the 0–1-year
articles with their versions (draft → 待审核 → published; a published version is never
changed, an edit is a new version)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedTextField


class GuidanceRegistration(models.Model):
    """A family registered for guidance: written when the case's parenting-guidance item is
    done (by the health officer, the department's system, or automatically in Jilin).
    One per case; twins in one case share it (and their birth date)."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="guidance_registration"
    )
    item = models.OneToOneField(
        "workflow.CaseItem", on_delete=models.PROTECT, related_name="guidance_registration"
    )
    region = models.CharField(_("地区"), max_length=32, db_index=True)
    division = models.CharField(_("所属区划"), max_length=6, blank=True, default="")
    born_on = EncryptedTextField(_("出生日期"), null=True, blank=True)  # ISO date
    newborns = models.PositiveSmallIntegerField(_("新生儿数"), default=1)
    visit_arranged = models.CharField(_("新生儿访视安排"), max_length=100, blank=True, default="")
    automatic = models.BooleanField(_("自动登记"), default=False)
    registered_at = models.DateTimeField(_("登记时间"))

    class Meta:
        verbose_name = _("科学育儿指导服务登记")
        verbose_name_plural = _("科学育儿指导服务登记")

    def __str__(self) -> str:
        return f"guidance:{self.case_id}"


class Section(models.TextChoices):
    FEEDING = "feeding", _("喂养")
    COMPLEMENTARY_FOOD = "complementary_food", _("辅食")
    DEVELOPMENT = "development", _("生长发育")
    INJURY_PREVENTION = "injury_prevention", _("伤害预防")
    COMMON_ILLNESS = "common_illness", _("常见病")
    VISITS = "visits", _("家庭访视与体检")
    LOCAL = "local", _("本地服务")


class AgeUnit(models.TextChoices):
    DAY = "day", _("天")
    MONTH = "month", _("月龄")


class Article(models.Model):
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    section = models.CharField(_("栏目"), max_length=24, choices=Section.choices)
    # Blank: national content for every region; else the one region whose parents see it,
    # edited only by that region's health officers (ADR 0040 amendment). No index: a few
    # dozen articles (and an index's deferred creation would follow migration 0003's
    # inserts on PostgreSQL, which refuses it with pending trigger events).
    region = models.CharField(_("适用地区"), max_length=32, blank=True, default="")
    created_at = models.DateTimeField(_("创建时间"))
    # The version parents see (None until one is approved).
    published = models.OneToOneField(
        "ArticleVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="published_of",
    )

    class Meta:
        verbose_name = _("育儿指导文章")
        verbose_name_plural = _("育儿指导文章")
        ordering = ["section", "code"]

    def __str__(self) -> str:
        return self.code


class ArticleVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("待审核")
        RETURNED = "returned", _("退回修改")
        PUBLISHED = "published", _("已发布")
        SUPERSEDED = "superseded", _("已被新版本替代")
        REVISED = "revised", _("已退回，另有修改版本")  # kept with its review note

    OPEN_STATES = (State.DRAFT, State.PENDING, State.RETURNED)

    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("标题"), max_length=80)
    body = models.TextField(_("正文"), max_length=4000)
    age_unit = models.CharField(_("适用年龄单位"), max_length=8, choices=AgeUnit.choices)
    age_start = models.PositiveSmallIntegerField(_("适用年龄起"))
    age_end = models.PositiveSmallIntegerField(_("适用年龄止"))
    state = models.CharField(_("状态"), max_length=12, choices=State.choices)
    # None: the content shipped with the platform (data/articles.yaml).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(_("修改时间"))
    submitted_at = models.DateTimeField(_("提交审核时间"), null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=500, blank=True, default="")
    source = models.CharField(_("内容依据"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("育儿指导文章版本")
        verbose_name_plural = _("育儿指导文章版本")
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="guidance_version_number"),
            # One version in the making per article (draft, 待审核 or returned) …
            models.UniqueConstraint(
                fields=["article"],
                condition=Q(state__in=["draft", "pending", "returned"]),
                name="guidance_one_open_version",
            ),
            # … and one published.
            models.UniqueConstraint(
                fields=["article"],
                condition=Q(state="published"),
                name="guidance_one_published",
            ),
        ]
        indexes = [models.Index(fields=["state", "article"], name="guidance_version_state")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES
