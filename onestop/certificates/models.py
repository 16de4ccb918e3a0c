"""E-licences (电子证照): each completed item's result as a document later items use.

Each carries an e-seal (SM2 with SM3 by default, `onestop.certificates.seal`); the payload
is stored encrypted because it carries the child's data, and the seal covers its SM3 digest.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from onestop.common.fields import EncryptedJSONField


class ELicence(models.Model):
    serial = models.CharField(_("证照编号"), max_length=64, unique=True)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="elicences")
    # One *current* licence per item (the constraint below); a correction (更正, ADR 0042)
    # issues a new one and the old one stays, superseded.
    item = models.ForeignKey(
        "workflow.CaseItem", on_delete=models.CASCADE, related_name="elicences"
    )
    kind = models.CharField(_("证照类型"), max_length=40)
    issuer_code = models.CharField(_("签发机构"), max_length=40)
    issuer_name = models.CharField(_("签发机构名称"), max_length=64)
    payload = EncryptedJSONField(_("证照内容"))
    issued_at = models.DateTimeField(_("签发时间"))
    # The e-seal: the sealed document (canonical JSON, masked, public: what the QR code
    # carries and the signature covers), the signature (base64url), its key and algorithm.
    sealed = models.TextField(_("电子印章签署内容"), blank=True, default="")
    signature = models.TextField(_("电子印章签名"), blank=True, default="")
    key_id = models.CharField(_("签章密钥"), max_length=64, blank=True, default="")
    algorithm = models.CharField(_("签章算法"), max_length=16, blank=True, default="")
    # The product's keyed check that it made this signature over this sealed document with
    # this key (HMAC under a key derived from SECRET_KEY, `services.seal_check`): any
    # process then trusts the signature without the SM2 verification; everything else is
    # checked as before. Empty: verified in full (issue 10, ADR 22 amendment of session 31).
    seal_check = models.CharField(max_length=64, blank=True, default="")
    # A corrected licence replaced this one (ADR 0042): /verify/ says so and links to it.
    superseded_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supersedes",
        verbose_name=_("更正后的证照"),
    )
    superseded_at = models.DateTimeField(_("被更正时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("电子证照")
        verbose_name_plural = _("电子证照")
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(superseded_at__isnull=True),
                name="elicence_one_current_per_item",
            )
        ]

    def __str__(self) -> str:
        return self.serial
