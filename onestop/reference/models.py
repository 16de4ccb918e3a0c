"""Reference tables in the database, editable in admin; seeded from the packaged CSV files.

The pure `ReferenceData` the pre-review uses is built from these rows
(`onestop.reference.selectors.current_reference`), so an administrator's change takes
effect for the next case.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EthnicGroup(models.Model):
    code = models.CharField(_("代码"), max_length=2, primary_key=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True, default="")
    recognized = models.BooleanField(_("已识别民族"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("民族")
        verbose_name_plural = _("民族")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Division(models.Model):
    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    parent = models.CharField(_("上级区划代码"), max_length=6, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Institution(models.Model):
    class Kind(models.TextChoices):
        HOSPITAL = "hospital", _("医疗机构")
        POLICE_STATION = "police_station", _("派出所")
        SERVICE_CENTER = "service_center", _("政务服务中心")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("代码"), max_length=32)
    name = models.CharField(_("名称"), max_length=64)
    division = models.CharField(_("所在区划"), max_length=6)
    midwifery = models.BooleanField(_("具备助产资质"), default=False)
    address = models.CharField(_("地址"), max_length=128, blank=True, default="")
    office_hours = models.CharField(_("办公时间"), max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构（医疗机构、派出所、服务中心）")
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="institution_kind_code")
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Bank(models.Model):
    code = models.CharField(_("代码"), max_length=32, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("银行")
        verbose_name_plural = _("银行")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class BankBranch(models.Model):
    """A co-operating bank's branch where a region's newborns collect their social security
    card (seed 002: 领卡网点; seed 003: 告知金融功能需到发卡银行营业网点办理激活). Seeded from
    ``data/bank_branches.csv`` (demo entries); administrators keep the real list."""

    code = models.CharField(_("代码"), max_length=48, primary_key=True)
    bank = models.CharField(_("银行"), max_length=32)
    name = models.CharField(_("网点名称"), max_length=64)
    region = models.CharField(_("地区"), max_length=24, db_index=True)
    division = models.CharField(_("所在区划"), max_length=6)
    address = models.CharField(_("地址"), max_length=128, blank=True, default="")
    office_hours = models.CharField(_("营业时间"), max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("社保卡合作银行网点")
        verbose_name_plural = _("社保卡合作银行网点")
        ordering = ["region", "bank", "code"]

    def __str__(self) -> str:
        return self.name


class InsurancePremium(models.Model):
    """The annual resident medical-insurance premium (城乡居民医保个人缴费标准) a newborn's
    parents pay, per region and insurance year, as an administrator enters it from the
    published notice (``source``). The seeds give no figure: with no row, the payment
    notice says the amount is set by the tax department and the confirmation's amount is
    recorded as reported (docs/adr/0031)."""

    region = models.CharField(_("地区"), max_length=24)
    year = models.PositiveSmallIntegerField(_("参保年度"))
    amount_yuan = models.DecimalField(_("个人缴费标准（元/人·年）"), max_digits=8, decimal_places=2)
    source = models.CharField(
        _("依据"),
        max_length=200,
        help_text=_("公布缴费标准的文件或网页，如：某某市医保局2026年度通知"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("城乡居民医保缴费标准")
        verbose_name_plural = _("城乡居民医保缴费标准")
        ordering = ["region", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["region", "year"], name="premium_region_year_unique")
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.year}：{self.amount_yuan}元"


class ReferenceStamp(models.Model):
    """One row whose ``token`` the database itself changes, by triggers, on every INSERT,
    UPDATE, DELETE (and TRUNCATE on PostgreSQL) of a reference table, whoever writes: admin,
    a seed, a bulk ``update()`` that leaves ``updated_at`` alone, ``psql``. Processes read
    it to know whether their cached reference data is still current (migration 0004)."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    token = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("参考数据版本")
        verbose_name_plural = _("参考数据版本")
