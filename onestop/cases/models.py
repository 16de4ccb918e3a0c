"""Cases (办件), the people in them, their materials and their timeline.

Personal data is held encrypted: the whole case document, names, ID numbers and phone
numbers. What must be searched (a parent's ID number or phone) has a keyed blind index;
what must be filtered for jurisdiction (hospital, police station, division) is a code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.cases.domain.document import CaseDocument, parse_case
from onestop.common.fields import EncryptedJSONField, EncryptedTextField, Sealed, cipher
from onestop.common.kept import Kept
from onestop.core.crypto import FieldCipher

T = TypeVar("T")


class CaseStatus(models.TextChoices):
    SUPPLEMENT = "supplement", _("待补正")
    REJECTED = "rejected", _("不予受理")
    IN_PROGRESS = "in_progress", _("办理中")
    COMPLETED = "completed", _("已办结")
    WITHDRAWN = "withdrawn", _("已撤回")


class CaseNumberCounter(models.Model):
    """The last case number issued per region and day (row-locked while issuing)."""

    region = models.CharField(max_length=32)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region", "day"], name="case_counter_day")]


class Case(models.Model):
    number = models.CharField(_("办件编号"), max_length=40, unique=True)
    region = models.CharField(_("地区"), max_length=32)
    pack_version = models.CharField(_("政策包版本"), max_length=40)
    channel = models.CharField(_("渠道"), max_length=16)
    counter_kind = models.CharField(_("窗口类型"), max_length=16, blank=True, default="")
    counter_code = models.CharField(_("受理窗口"), max_length=32, blank=True, default="")
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entered_cases",
        verbose_name=_("录入人"),
    )
    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices)
    decision = EncryptedJSONField(_("预审结论"))
    document = EncryptedJSONField(_("申请表"))
    hospital_code = models.CharField(_("出生医疗机构"), max_length=32, blank=True, default="")
    police_station_code = models.CharField(_("落户派出所"), max_length=32, blank=True, default="")
    division = models.CharField(_("所属区划"), max_length=6, blank=True, default="")
    applicant_phone_index = models.CharField(max_length=64, blank=True, default="")
    mother_phone_index = models.CharField(max_length=64, blank=True, default="")
    father_phone_index = models.CharField(max_length=64, blank=True, default="")
    mother_id_index = models.CharField(max_length=64, blank=True, default="")
    father_id_index = models.CharField(max_length=64, blank=True, default="")
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    body_digest = models.CharField(max_length=64, blank=True, default="")
    signature = EncryptedJSONField(_("电子签名"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"))
    decided_at = models.DateTimeField(_("预审时间"))
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["region", "status", "-submitted_at"]),
            # The dashboards' days not rolled up yet (today) read the cases of a day by
            # their submission or completion time, not every case of a division (ADR 0041).
            models.Index(fields=["submitted_at"], name="case_submitted_at"),
            # The completed cases only (session 29, ADR 0025 amendment): the reads ask for
            # a range of ``completed_at`` or its least value, and a case's INSERT and its
            # UPDATEs before completion (none HOT) then write no entry here.
            models.Index(
                fields=["completed_at"],
                name="case_completed_at",
                condition=models.Q(completed_at__isnull=False),
            ),
            # Session 23 (ADR 0025): one index per column a query reads, not two. The
            # blind indexes (HMACs) and the counter are matched whole: a plain index, not
            # also the ``LIKE`` twin (``varchar_pattern_ops``) a ``db_index`` text column
            # gets on PostgreSQL; the division is matched by its prefix (a supervisor's
            # cases): the ``LIKE`` index alone, which serves equality too. The region and
            # the status have none of their own: the region is the first column of the
            # index above, and no query reads the cases of a status across regions but
            # by their completion time (``case_completed_at``).
            models.Index(fields=["applicant_phone_index"], name="case_applicant_phone_index"),
            models.Index(fields=["mother_phone_index"], name="case_mother_phone_index"),
            models.Index(fields=["father_phone_index"], name="case_father_phone_index"),
            models.Index(fields=["mother_id_index"], name="case_mother_id_index"),
            models.Index(fields=["father_id_index"], name="case_father_id_index"),
            models.Index(fields=["counter_code"], name="case_counter_code"),
            models.Index(
                fields=["division"], opclasses=["varchar_pattern_ops"], name="case_division"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def typed_document(self) -> CaseDocument:
        """The stored document, typed as pre-review read it (malformed fields dropped):
        what services read instead of the raw dict. Parsed once per document value (and
        per document in this process: `_typed`; per stored token: `stored_fact`)."""
        data = self.__dict__
        cached = data.get("_typed_document")
        stored = data.get("document")
        if cached is not None and cached[0] is stored and stored is not None:
            typed: CaseDocument = cached[1]
            return typed
        if type(stored) is Sealed or "_opened_token" in data:
            typed = self.stored_fact("typed", _typed)
            data["_typed_document"] = (data["document"], typed)
            return typed
        if cached is None or cached[0] is not self.document:
            cached = (self.document, _typed(self.document))
            data["_typed_document"] = cached
        typed = cached[1]
        return typed

    def stored_fact(self, what: str, make: Callable[[Any], T]) -> T:
        """``make(self.document)`` — a pure function of the document, named ``what`` —
        kept in this process per stored token where the document was read but not yet
        decrypted (`common.fields.Sealed`, the lock's read): a token is one encryption of
        one text, so the case's next request finds the fact without decrypting the
        document (and parsing or dumping its JSON) again (issue 10, session 31, h-cpu).
        Kept with the cipher of the keys that opened the token: other keys decrypt
        again (and refuse a token they cannot open). A document decrypted here is still
        known by its token (as long as it is the same value: a document assigned anew is
        not; one changed in place is, as `typed_document`'s check by identity has it).
        Else ``make(self.document)``."""
        data = self.__dict__
        stored = data.get("document")
        if type(stored) is Sealed:
            token = stored.token
        else:
            opened = data.get("_opened_token")
            if opened is None or opened[1] is not stored or stored is None:
                return make(self.document)
            token = opened[0]
        keys = cipher()
        key = (what, token)
        found = _BY_TOKEN.get(key)
        if found is not None and found[0] is keys:
            return cast(T, found[1])
        made = make(self.document)  # decrypts it where it is still sealed
        data["_opened_token"] = (token, data["document"])
        _BY_TOKEN.put(key, (keys, made))
        return made

    def typed_document_is(self, typed: CaseDocument) -> None:
        """Keep ``typed`` as this case's typed document, here and in the process: the
        submission's pre-review parsed the document it stores (its known fields: the same
        parse), so its effects and the case's next request need not parse it again (issue
        10, helper h-submission)."""
        self.__dict__["_typed_document"] = (self.document, typed)
        text = _text_of(self.document)
        if text is not None:
            _TYPED.put(text, typed)


def _typed(document: Any) -> CaseDocument:
    """``parse_case(document).document``, kept per document's JSON text in this process:
    the parse is a pure function of the document (the domain core reads no database, no
    setting, no clock), and the typed document is frozen. Every completion parsed its
    case's document again (issue 10 part 2: ~18,000 function calls per case); a case's
    document changes rarely, so the next request of the same case finds it. A value
    that is not JSON is parsed as before."""
    text = _text_of(document)
    if text is None:
        return parse_case(document).document
    return _TYPED.get_or_make(text, lambda: parse_case(json.loads(text)).document)


def _text_of(document: Any) -> str | None:
    """The document's JSON text with its keys sorted, as the encrypted column stores it
    (the parse does not depend on the keys' order): a case read back finds the parse of
    the document as submitted."""
    try:
        return json.dumps(document, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return None


# The typed documents by their JSON text, the 512 most recently used (`_typed`).
_TYPED: Kept[str, CaseDocument] = Kept(size=512)
# Facts of a document (its typed form, its newborns' keys) by the fact's name and the
# document's stored token, with the cipher of the keys that opened it
# (`Case.stored_fact`): the 1,024 most recently read.
_BY_TOKEN: Kept[tuple[str, str], tuple[FieldCipher, Any]] = Kept(size=1024)


class Person(models.Model):
    """A parent, the applicant or a trustee of a case (names and numbers encrypted)."""

    class Role(models.TextChoices):
        MOTHER = "mother", _("母亲")
        FATHER = "father", _("父亲")
        APPLICANT = "applicant", _("申请人")
        TRUSTEE = "trustee", _("受托人")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="people")
    role = models.CharField(_("身份"), max_length=16, choices=Role.choices)
    name = EncryptedTextField(_("姓名"), null=True, blank=True)
    id_number = EncryptedTextField(_("身份证号码"), null=True, blank=True)
    id_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone = EncryptedTextField(_("手机号码"), null=True, blank=True)
    residency = models.CharField(_("居民身份"), max_length=24, blank=True, default="")
    hukou_division = models.CharField(_("户籍地"), max_length=6, blank=True, default="")

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        constraints = [models.UniqueConstraint(fields=["case", "role"], name="person_case_role")]


class Newborn(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="newborns")
    position = models.PositiveSmallIntegerField(_("序号"))
    name = EncryptedTextField(_("姓名"), null=True, blank=True)
    sex = models.CharField(_("性别"), max_length=1, blank=True, default="")
    born_at = EncryptedTextField(_("出生时间"), null=True, blank=True)
    hospital_code = models.CharField(_("出生医疗机构"), max_length=32, blank=True, default="")
    medical = EncryptedJSONField(_("出生医学信息"), null=True, blank=True)

    class Meta:
        verbose_name = _("新生儿")
        verbose_name_plural = _("新生儿")
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "position"], name="newborn_case_position")
        ]


def material_path(instance: Material, filename: str) -> str:
    # Never the parent's file name: a random name under the case's folder.
    return f"materials/{instance.case.region}/{instance.case.number}/{instance.token}"


class Material(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", _("上传")
        SCAN = "scan", _("窗口扫描")
        ELICENCE = "elicence", _("电子证照")
        DECLARED = "declared", _("申请表声明")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    code = models.CharField(_("材料"), max_length=40)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    token = models.CharField(max_length=40, unique=True)
    file = models.FileField(_("文件"), upload_to=material_path, null=True, blank=True)
    content_type = models.CharField(max_length=64, blank=True, default="")
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    elicence_serial = models.CharField(max_length=64, blank=True, default="")
    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["case", "code", "uploaded_at"]


class NewbornClaim(models.Model):
    """One key of one newborn, held by the case that filed it (issue 8, defect 3).

    A newborn may have one active case across all channels: each key (hospital + delivery
    record number; mother's ID number + birth minute) is claimed by a row inserted in the
    same transaction as the case, and the database refuses a second *active* row with the
    same key, so two submissions racing each other cannot both commit. Only the keyed blind
    index of the key is stored (`onestop.cases.domain.newborns`), never the numbers.
    A case that ends rejected or withdrawn releases its claims (``active`` false); the row
    is kept so the issuing service can still recognise the newborn.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="newborn_claims")
    position = models.PositiveSmallIntegerField(_("新生儿序号"))
    kind = models.CharField(_("标识"), max_length=8)
    key_index = models.CharField(max_length=64, db_index=True)
    active = models.BooleanField(default=True)
    claimed_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("新生儿标识")
        verbose_name_plural = _("新生儿标识")
        constraints = [
            models.UniqueConstraint(
                fields=["key_index"],
                condition=models.Q(active=True),
                name="newborn_claim_one_active",
            )
        ]


class SscApplication(models.Model):
    """One newborn, one social security card application (seed 002 (五): 未在其他渠道或省市
    申领社会保障卡的新生儿; issue 11 promise 4: the card cannot be applied for twice).

    A case that chooses the card claims each key of its newborns here (the keyed blind index
    only, as `NewbornClaim`), in the case's own transaction; the partial UNIQUE constraint
    refuses a second active application of the same newborn whatever the channel. Unlike
    the case's claims, an application whose card was made (``issued``) is never released:
    a later case for the same newborn cannot apply again even after the first case ended.
    A card refused or cancelled, or a case rejected before its card was made, releases it.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="ssc_applications")
    position = models.PositiveSmallIntegerField(_("新生儿序号"))
    key_index = models.CharField(max_length=64, db_index=True)
    active = models.BooleanField(default=True)
    issued = models.BooleanField(_("已制卡"), default=False)
    claimed_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("社会保障卡申领记录")
        verbose_name_plural = _("社会保障卡申领记录")
        constraints = [
            models.UniqueConstraint(
                fields=["key_index"],
                condition=models.Q(active=True),
                name="ssc_application_one_active",
            )
        ]


class TimelineEntry(models.Model):
    """One line of the case's history as people read it (Chinese, no personal data)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("时间"))
    kind = models.CharField(_("类型"), max_length=40)
    item = models.CharField(_("事项"), max_length=40, blank=True, default="")
    message = models.TextField(_("内容"))
    actor_label = models.CharField(_("办理人"), max_length=64, blank=True, default="")
    visible_to_parent = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("办件进程")
        verbose_name_plural = _("办件进程")
        ordering = ["case", "at", "pk"]
