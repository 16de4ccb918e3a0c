"""The printed documents of an e-licence: the licence itself (its PDF, for the parents, the
officers and the counter's 当场打印) and, from a birth registration's licence, the newborn's
household register page (户口簿登记页, 吉林: 户口簿可在政务服务中心当场打印领取).

Both are generated on demand from the sealed record (never stored), only when its seal
verifies, and carry the QR code that verifies it."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from onestop.catalogue.names import elicence_title
from onestop.certificates.document import SEX_LABELS
from onestop.certificates.models import ELicence
from onestop.certificates.pdf import licence_rows, render_elicence
from onestop.certificates.services import qr_content, stored_payload, verify_record
from onestop.common.http import public_url
from onestop.core.written import written
from onestop.workflow.domain.results import RESULT_FIELDS


def _seal_lines(licence: ELicence, digest: str) -> list[str]:
    return [
        f"电子印章：{licence.issuer_name}（{licence.issuer_code}）",
        f"证照编号：{licence.serial}　签章算法：{licence.algorithm}　密钥：{licence.key_id}",
        f"内容摘要（SM3）：{digest}",
        "验证：扫描二维码，或在验证页输入证照编号；公钥公布于 /verify/keys.json，"
        "可用 onestop verify 离线验证。",
    ]


def _verified(licence: ELicence) -> tuple[dict[str, Any], str, str] | None:
    """(payload, digest, verify URL) of a licence whose seal verifies, else None."""
    verdict = verify_record(licence)
    if not verdict.valid:
        return None
    payload = stored_payload(licence)
    # The configured public address, never the Host header (a forged Host ended up in the QR).
    url = public_url(reverse("certificates:verify")) + "?c=" + qr_content(licence)
    digest = str((verdict.document or {}).get("payload_digest", ""))
    return (payload if isinstance(payload, dict) else {}), digest, url


def elicence_pdf(licence: ELicence) -> bytes | None:
    """The licence as a PDF, or None when its e-seal does not verify (never printed then)."""
    verified = _verified(licence)
    if verified is None:
        return None
    payload, digest, url = verified
    # The licence's title from the catalogue (出生医学证明, not the item's 《…》办理（首签）).
    item_name = elicence_title(licence.kind)
    labels = {f.name: f.label for f in RESULT_FIELDS.get(licence.kind, ())}
    return render_elicence(
        title=f"电子证照 · {item_name}",
        rows=licence_rows(
            payload,
            item_name=item_name,
            result_labels=labels | {"granted": "办理方式", "basis": "办理依据"},
            sex_labels=SEX_LABELS,
        ),
        issuer_name=licence.issuer_name,
        verify_url=url,
        seal_lines=_seal_lines(licence, digest),
    )


def household_page_pdf(licence: ELicence, document: dict[str, Any]) -> bytes | None:
    """The newborn's household register page (户口簿登记页) from the birth registration's
    sealed result and the case's registration details, or None when the seal fails."""
    verified = _verified(licence)
    if verified is None or licence.kind != "birth_registration":
        return None
    payload, digest, url = verified
    result = payload.get("result") or {}
    section = document.get("birth_registration") or {}
    section = section if isinstance(section, dict) else {}
    rows: list[tuple[str, str]] = [
        ("户口登记编号", str(result.get("hukou_entry", ""))),
        ("户主姓名", str(section.get("householder_name") or "")),
        ("与户主关系", str(section.get("relation_to_householder") or "")),
        ("住址", str(section.get("address") or "")),
    ]
    for n in (payload.get("subject") or {}).get("newborns", []):
        rows += [
            ("姓名", str(n.get("name", ""))),
            ("性别", SEX_LABELS.get(str(n.get("sex", "")), "")),
            ("出生日期", written(n.get("born_at"))),
        ]
    if result.get("citizen_id_number"):
        rows.append(("公民身份号码", str(result["citizen_id_number"])))
    rows += [
        ("登记机关", licence.issuer_name),
        ("登记日期", written(payload.get("issued_at"))),
        ("证照编号", licence.serial),
    ]
    return render_elicence(
        title="居民户口簿 · 常住人口登记页（新生儿）",
        rows=rows,
        issuer_name=licence.issuer_name,
        verify_url=url,
        seal_lines=_seal_lines(licence, digest),
    )
