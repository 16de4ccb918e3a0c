"""Issuing and verifying e-licences (电子证照): each completed item's result becomes a sealed
document that later items use instead of paper (证照免交). Issuing is called inside the
transaction that completes the item."""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.cases.claims import DuplicateNewborn, newborns_and_same, shown_number
from onestop.cases.models import Case, Newborn
from onestop.catalogue import catalogue
from onestop.certificates.document import licence_payload, sealed_document
from onestop.certificates.keystore import KeyStore
from onestop.certificates.models import ELicence
from onestop.certificates.seal import (
    ALGORITHMS,
    KeySigner,
    PublicKey,
    Sealed,
    SealFormatError,
    Verdict,
    b64url,
    b64url_decode,
    canonical_json,
    parse_content,
    payload_digest,
    seal,
    sm3_hex,
    verify_sealed,
)
from onestop.common.compiled import CompiledInsert, CompiledValues
from onestop.common.kept import Kept
from onestop.common.names import item_label, result_field_label
from onestop.common.replica import read_with_fallback
from onestop.core.clock import format_time, to_beijing
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.policy.loader import default_packs
from onestop.reference.selectors import institution_name
from onestop.workflow.domain.results import RESULT_FIELDS
from onestop.workflow.models import CaseItem

# The reasons of `seal.REASONS`, for the translation catalogue.
REASON_TEXT = {
    "valid": gettext_lazy("电子印章有效：证照由签发机构签发，内容未被改动"),
    "malformed": gettext_lazy("无法识别的证照内容"),
    "unsealed": gettext_lazy("该证照没有电子印章"),
    "unknown_key": gettext_lazy("找不到签章公钥，无法确认签发机构"),
    "algorithm_mismatch": gettext_lazy("签章算法与公钥不符"),
    "issuer_mismatch": gettext_lazy("签章公钥不属于证照上的签发机构"),
    "key_revoked": gettext_lazy("签章密钥已被吊销"),
    "bad_signature": gettext_lazy("电子印章无效：签名与证照内容不符，证照可能被篡改"),
    "digest_mismatch": gettext_lazy("电子印章无效：证照存档内容已被改动"),
    "registry_mismatch": gettext_lazy("电子印章无效：与平台登记的证照不一致"),
    "not_registered": gettext_lazy("签名有效，但本平台未查到该证照的登记记录"),
    "not_found": gettext_lazy("未查到该编号的证照"),
    "superseded": gettext_lazy("已被更正（superseded）：本证照已由更正后的证照取代，不再有效"),
}


def keystore() -> KeyStore:
    return KeyStore(settings.SEAL_KEYS_DIR, algorithm_name=settings.SEAL_ALGORITHM)


def published_keys() -> dict[str, PublicKey]:
    return keystore().public_keys()


def issuer_of(item: CaseItem) -> tuple[str, str]:
    """(code, name) of the body that issues ``item``'s result."""
    if item.jurisdiction_kind in ("hospital", "police_station"):
        return item.jurisdiction_code, institution_name(
            item.jurisdiction_kind, item.jurisdiction_code
        )
    code = (
        f"{item.department}:{item.jurisdiction_code}" if item.jurisdiction_code else item.department
    )
    return code, DEPARTMENT_NAMES.get(item.department, item.department)


# The case's newborns as a licence names them, compiled once per process (issue 10 part
# 2; the three columns, not the rows with their medical details decrypted): a corrected
# or late-sealed licence's. A completion's issue reads them with its same-newborn check
# (`newborns_and_same`, session 26).
_NAMED = CompiledValues(
    Newborn,
    lambda case_id: (
        Newborn.objects.filter(case_id=case_id)
        .order_by("position")
        .values_list("name", "sex", "born_at")
    ),
    -7_340_029_211,
)


# The rows a completion's licence read, kept on the completed row (as `effects.issued_with`
# keeps the licence) for the completion's other effects: the guidance registration takes
# the birth times from here rather than reading them again (session 23, h-tidyapi).
_NEWBORNS_READ = "_onestop_newborns_read"


def newborns_read_with(row: CaseItem, case: Case) -> list[tuple[Any, ...]] | None:
    """(name, sex, born_at) of ``case``'s newborns in order, as the licence issued by the
    completion that returned ``row`` read them in its transaction; else None (ask)."""
    kept: tuple[int, list[tuple[Any, ...]]] | None = getattr(row, _NEWBORNS_READ, None)
    return kept[1] if kept is not None and kept[0] == case.pk else None


def _newborns(
    case: Case,
    item: CaseItem | None = None,
    *,
    keep: bool = False,
    rows: list[tuple[Any, ...]] | None = None,
) -> list[dict[str, Any]]:
    """The newborns a licence names: every newborn of the case, or for a per-newborn item
    of twins or triplets only the baby it is for (one e-licence per newborn, ADR 0036).
    ``rows``: (name, sex, born_at) of the case's newborns in order, already read (else
    read here). ``keep``: the rows are kept on ``item`` (`newborns_read_with`)."""
    if rows is None:
        rows = _NAMED.rows(case.pk)
    if keep and item is not None:
        setattr(item, _NEWBORNS_READ, (case.pk, rows))
    babies = [{"name": name, "sex": sex, "born_at": born_at} for name, sex, born_at in rows]
    if (
        item is not None
        and len(babies) > 1
        and catalogue().per_newborn(item.item)
        and 0 <= item.newborn < len(babies)
    ):
        return [babies[item.newborn]]
    return babies


# The e-licence's INSERT, built once per process (issue 10: every issuing completion had
# Django compile it; `licence.save()` of a new row writes the same).
_LICENCE_INSERT: CompiledInsert[ELicence] = CompiledInsert(ELicence)


class DuplicateCertificate(DuplicateNewborn):
    """The newborn already has this result from another case: it is never issued twice."""


def _issued_elsewhere(others: set[int], item: CaseItem) -> ELicence | None:
    """An e-licence of the same kind for the same newborn in another case (``others``:
    `newborns_and_same`) — defense in depth behind the newborn claims: "nothing is issued
    twice", issue 8 defect 3."""
    if not others:
        return None
    found: ELicence | None = (
        ELicence.objects.filter(case_id__in=others, kind=item.item).select_related("case").first()
    )
    return found


def online_remarks(case: Case, item: str) -> dict[str, str]:
    """The marks an online application's result carries, from the pack (福州, seed 003:
    "网上申报完成的，申请人领取的是无副页的《出生医学证明》，存根（备注“线上办理”）和副页留存
    助产机构"; ADR 0035). Label → text, as the licence shows them."""
    if case.channel != "online":
        return {}
    pack = default_packs().version(case.region, case.pack_version)
    entry = pack.item(item) if pack is not None else None
    rule = entry.online_result if entry is not None else None
    if rule is None:
        return {}
    out: dict[str, str] = {}
    if rule.no_sub_page:
        out["副页"] = "无副页（存根和副页留存助产机构）"
    if rule.stub_note:
        out["存根备注"] = rule.stub_note
    return out


def elicence_issue(*, case: Case, item: CaseItem, now: datetime) -> ELicence:
    """The sealed e-licence of ``item``'s result. Raises `DuplicateCertificate` when the
    same newborn already holds this kind of e-licence from another case."""
    # The newborns the licence names and the same newborn's other cases: one read.
    newborns, others = newborns_and_same(case)
    earlier = _issued_elsewhere(others, item)
    if earlier is not None:
        number = shown_number(earlier.case, None)
        raise DuplicateCertificate(
            f"该新生儿已在办件 {number} 中取得{ITEM_NAMES.get(item.item, item.item)}"
            "电子证照，不能重复签发。请核实是否为重复申请。",
            existing=number,
        )
    issuer_code, issuer_name = issuer_of(item)
    serial = f"{case.number}-{item.position + 1:02d}"
    payload = licence_payload(
        serial=serial,
        case_number=case.number,
        item=item.item,
        item_name=ITEM_NAMES.get(item.item, item.item),
        issuer_code=issuer_code,
        issuer_name=issuer_name,
        issued_at=now,
        result=item.result or {},
        newborns=_newborns(case, item, keep=True, rows=newborns),
        remarks=online_remarks(case, item.item),
    )
    licence = _LICENCE_INSERT.new(  # ELicence(…) without Model.__init__
        serial=serial,
        case=case,
        item=item,
        kind=item.item,
        issuer_code=issuer_code,
        issuer_name=issuer_name,
        payload=payload,
        issued_at=now,
    )
    _apply_seal(licence, now=timezone.now())
    _LICENCE_INSERT.save_new(licence)
    return licence


def _apply_seal(licence: ELicence, *, now: datetime) -> None:
    signer = keystore().signer(licence.issuer_code, now=now)
    sealed = seal(sealed_document(licence.payload), signer)
    licence.sealed = sealed.document.decode("utf-8")
    licence.signature = b64url(sealed.signature)
    licence.key_id = signer.key_id
    licence.algorithm = signer.algorithm
    licence.seal_check = _vouch(sealed, signer, licence.issuer_code)


def current_elicence(item: CaseItem) -> ELicence | None:
    """The licence of ``item`` in force: the one no correction superseded (at most one, a
    database constraint)."""
    found: ELicence | None = ELicence.objects.filter(item=item, superseded_at__isnull=True).first()
    return found


def corrected_serial(licence: ELicence) -> str:
    """The serial of the next corrected licence: the first one's serial with ``-C<n>``."""
    base = re.sub(r"-C\d+$", "", licence.serial)
    n = ELicence.objects.filter(item_id=licence.item_id).count()
    return f"{base}-C{n}"


def elicence_supersede(*, licence: ELicence, result: dict[str, Any], now: datetime) -> ELicence:
    """Issue the corrected licence of ``licence``'s item with ``result`` (new serial, sealed,
    saying which serial it replaces) and mark ``licence`` superseded by it (ADR 0042). Call
    inside the transaction of the correction's approval, the case row locked."""
    item, case = licence.item, licence.case
    old = stored_payload(licence)
    old_payload = old if isinstance(old, dict) else {}
    serial = corrected_serial(licence)
    payload = licence_payload(
        serial=serial,
        case_number=case.number,
        item=licence.kind,
        item_name=ITEM_NAMES.get(licence.kind, licence.kind),
        issuer_code=licence.issuer_code,
        issuer_name=licence.issuer_name,
        issued_at=now,
        result=result,
        # Twins: the corrected licence still names only its own baby (ADR 0036).
        newborns=_newborns(case, item),
    )
    payload["replaces"] = licence.serial
    if old_payload.get("subject"):
        payload["subject"] = old_payload["subject"]
    # The old licence leaves the "one current licence per item" constraint first.
    licence.superseded_at = now
    licence.save(update_fields=["superseded_at"])
    corrected = ELicence(
        serial=serial,
        case=case,
        item=item,
        kind=licence.kind,
        issuer_code=licence.issuer_code,
        issuer_name=licence.issuer_name,
        payload=payload,
        issued_at=now,
    )
    _apply_seal(corrected, now=timezone.now())
    corrected.save()
    licence.superseded_by = corrected
    licence.save(update_fields=["superseded_by"])
    return corrected


def elicence_seal_missing(*, now: datetime | None = None) -> int:
    """Seal the licences issued before sealing existed (their payload completed to the
    current form). Returns how many were sealed."""
    now = now or timezone.now()
    count = 0
    for licence in ELicence.objects.filter(sealed="").select_related("case", "item"):
        old = licence.payload if isinstance(licence.payload, dict) else {}
        licence.payload = licence_payload(
            serial=licence.serial,
            case_number=licence.case.number,
            item=licence.kind,
            item_name=ITEM_NAMES.get(licence.kind, licence.kind),
            issuer_code=licence.issuer_code,
            issuer_name=licence.issuer_name,
            issued_at=licence.issued_at,
            result=old.get("result") or licence.item.result or {},
            newborns=_newborns(licence.case, licence.item),
        )
        _apply_seal(licence, now=now)
        licence.save(
            update_fields=["payload", "sealed", "signature", "key_id", "algorithm", "seal_check"]
        )
        count += 1
    return count


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """A verification answer as the public page and its JSON show it: nothing personal
    beyond the masked summary of the sealed document."""

    valid: bool
    code: str
    serial: str = ""
    issuer_code: str = ""
    issuer_name: str = ""
    item: str = ""
    item_name: str = ""
    issued_at: str = ""
    key_id: str = ""
    algorithm: str = ""
    # Shown only to whoever holds the QR content (it is in the content anyway).
    summary: bool = False
    case_number: str = ""
    newborns: list[dict[str, str]] = field(default_factory=list)
    result: list[dict[str, str]] = field(default_factory=list)
    # Corrections (ADR 0042): the serial that replaced this licence and when; the serial
    # this licence replaces. From the registry, not the seal.
    superseded_by: str = ""
    superseded_at: str = ""
    replaces: str = ""

    @property
    def reason(self) -> str:
        text = REASON_TEXT.get(self.code)
        return str(text) if text is not None else self.code

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "valid": self.valid,
            "code": self.code,
            "reason": self.reason,
            "serial": self.serial or None,
            "issuer": {"code": self.issuer_code, "name": self.issuer_name}
            if self.issuer_code
            else None,
            "item": {"code": self.item, "name": self.item_name} if self.item else None,
            "issued_at": self.issued_at or None,
            "seal": {"key_id": self.key_id, "algorithm": self.algorithm} if self.key_id else None,
            "superseded": {
                "by": self.superseded_by,
                "at": self.superseded_at or None,
                "url": reverse("certificates:verify_serial", args=[self.superseded_by]),
            }
            if self.superseded_by
            else None,
            "replaces": self.replaces or None,
        }
        if self.summary:
            body["summary"] = {
                "case_number": self.case_number,
                "newborns": self.newborns,
                "result": self.result,
            }
        return body


def _part(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def _result_labels(item: str) -> dict[str, str]:
    labels = {f.name: result_field_label(f) for f in RESULT_FIELDS.get(item, ())}
    return labels | {"granted": _("办理方式"), "basis": _("办理依据")}


def _answer(verdict: Verdict, *, summary: bool) -> Verification:
    doc = verdict.document or {}
    if not verdict.signature_valid:
        # Nothing a document claims is shown unless its signature checked out.
        return Verification(valid=False, code=verdict.code)
    issuer = _part(doc, "issuer")
    item = _part(doc, "item")
    subject = _part(doc, "subject")
    item_code = str(item.get("code", ""))
    labels = _result_labels(item_code)
    result = _part(doc, "result")
    issued = str(doc.get("issued_at", ""))
    return Verification(
        valid=verdict.valid,
        code=verdict.code,
        serial=str(doc.get("serial", "")),
        issuer_code=str(issuer.get("code", "")),
        issuer_name=str(issuer.get("name", "")),
        item=item_code,
        item_name=item_label(item_code),
        issued_at=issued.replace("T", " ")[:19],
        key_id=verdict.key.key_id if verdict.key else "",
        algorithm=verdict.key.algorithm if verdict.key else "",
        summary=summary and verdict.valid,
        case_number=str(subject.get("case", "")),
        newborns=[
            {
                "name": str(n.get("name", "")),
                "sex": _(str(n.get("sex", ""))) if n.get("sex") else "",
                "born": str(n.get("born", "")),
            }
            for n in subject.get("newborns", [])
            if isinstance(n, dict)
        ],
        result=[
            {"name": str(k), "label": labels.get(str(k), str(k)), "value": str(v)}
            for k, v in result.items()
        ],
    )


def stored_payload(licence: ELicence) -> object:
    """The decrypted payload, or None when it cannot be read (its ciphertext was changed).
    A row read with its stored ciphertext (``payload_raw``, see `_unloaded`) is not read
    again."""
    if hasattr(licence, "payload_raw"):
        raw = _stored_ciphertext(licence)
        opened = licence.__dict__.get(_OPENED)
        if opened is not None and opened[0] == raw:  # decrypted by its verification
            return opened[1]
        return _decrypted(raw)
    try:
        return ELicence.objects.filter(pk=licence.pk).values_list("payload", flat=True).first()
    except Exception:  # InvalidToken and friends: the stored bytes are not what was written
        return None


# The payload `_verify_record` decrypted, kept on the instance with the ciphertext it came
# from: the task's detail shows the result it has just checked without decrypting it again.
_OPENED = "_payload_opened"


def _stored_ciphertext(licence: ELicence) -> str | None:
    """The payload column as stored (encrypted), not decrypted: read with the row by
    `_unloaded`, else read now."""
    if hasattr(licence, "payload_raw"):
        loaded = licence.payload_raw
        return None if loaded is None else str(loaded)
    raw = (
        ELicence.objects.filter(pk=licence.pk)
        .annotate(raw=Cast("payload", TextField()))
        .values_list("raw", flat=True)
        .first()
    )
    return None if raw is None else str(raw)


def _decrypted(raw: str | None) -> object:
    if raw is None:
        return None
    try:
        return ELicence._meta.get_field("payload").from_db_value(raw, None, connection)
    except Exception:  # InvalidToken and friends: the stored bytes are not what was written
        return None


# --- the verification cache --------------------------------------------------------------
# The answer for a licence never changes while nothing it depends on changes: the row's
# serial, kind, issuer, key id, issue time, sealed document, signature and stored payload
# ciphertext, and the state of the key that sealed it (its public key, algorithm, issuer
# and whether it is revoked). The cache is keyed by an SM3 over all of them, so a changed
# byte anywhere, or a revoked or replaced key, is a different key and is verified afresh:
# never a stale "valid". Only valid verdicts are kept (an invalid one is recomputed).
# Per process, bounded, least recently used out first.

VERIFY_CACHE_SIZE = 4096
_verified: Kept[str, Verdict] = Kept(VERIFY_CACHE_SIZE)


# What else forgets with the verdicts: the answers kept rendered (`kept` adds its own).
VERIFY_CACHE_CLEARS: list[Callable[[], None]] = []


def verify_cache_clear() -> None:
    """Forget the remembered verdicts, and the answers kept rendered (`kept`)."""
    _verified.clear()
    for clear in VERIFY_CACHE_CLEARS:
        clear()


def _fingerprint(licence: ELicence, raw: str | None, key: PublicKey | None) -> str:
    parts = [
        licence.serial,
        licence.kind,
        licence.issuer_code,
        licence.key_id,
        format_time(to_beijing(licence.issued_at)),
        # A superseded licence is a different answer (ADR 0042): its old "valid" is not reused.
        str(licence.superseded_by_id or ""),
        format_time(to_beijing(licence.superseded_at)) if licence.superseded_at else "",
        licence.sealed,
        licence.signature,
        raw if raw is not None else "\x00none",
    ]
    if key is not None:
        parts += _key_parts(key)
    return sm3_hex(canonical_json(parts))


# --- the seal check: what this product sealed, any of its processes trusts ------------------
# The SM2 verification of a licence's signature was the largest part of a claimed task's
# detail (issue 10, session 30: ~40 % of it) and every web process paid it again for each
# licence it saw first. When this product seals a licence it writes on the row, in the same
# INSERT, an HMAC (under a key derived from SECRET_KEY, `salted_hmac`) of an SM3 over the
# sealed document, the signature and the sealing key's published state. `verify_record`
# recomputes it from the row and the published keys each time: equal (compared in constant
# time), the signature is known to be that key's and its arithmetic is skipped; anything
# else — no check, another sealed byte or signature, another or revoked key, a check value
# written by someone without the secret — and the signature is verified as before. Every
# other check (key known, algorithm, issuer, revoked, the row against the sealed document,
# the payload's SM3, superseded) is made every time, so a check value vouches for the
# signature only (ADR 22, amendment of session 31).

_SEAL_CHECK_SALT = "onestop.certificates.seal_check"
# The public keys whose signer this process has seen make a signature that verifies (the
# first seal of each key in each process is verified before its check value is written: a
# published key that is not its private key's never gets a check value).
_signers_checked: Kept[tuple[str, str], bool] = Kept(256)


def _key_parts(key: PublicKey) -> list[str]:
    """The published state of a key that the verdict depends on."""
    return [key.key_id, key.issuer, key.algorithm, key.public_key, str(key.revoked)]


def _signer_parts(signer: KeySigner, issuer: str) -> list[str]:
    """`_key_parts` of the key ``signer`` seals with, as the key store publishes it (the
    issuer's active key, so not revoked; its published public part). Were the published
    key to differ, the check value would not match it and the seal is verified in full."""
    return [signer.key_id, issuer, signer.algorithm, signer.public_key, str(False)]


@functools.cache
def _check_hmac(secret: str) -> hmac.HMAC:
    # Django's derivation of a purpose's key from the secret (`salted_hmac`), made once per
    # secret; each check value is a copy of it fed the message (HMAC(key, "" + message)).
    return salted_hmac(_SEAL_CHECK_SALT, b"", secret=secret, algorithm="sha256")


def seal_check(sealed: str, signature: str, key: list[str]) -> str:
    """The keyed check value of ``signature`` over ``sealed`` by the key whose published
    state is ``key`` (`_key_parts`): HMAC-SHA256 of the canonical JSON of them, under a key
    derived from SECRET_KEY (a new SECRET_KEY: every licence is verified in full again)."""
    mac = _check_hmac(settings.SECRET_KEY).copy()
    mac.update(canonical_json([sealed, signature, *key]))
    return mac.hexdigest()


def _vouch(sealed: Sealed, signer: KeySigner, issuer: str) -> str:
    """The check value of a seal this process just made, "" when it cannot vouch for it."""
    if not signer.public_key or signer.algorithm not in ALGORITHMS:
        return ""
    if _signers_checked.get((signer.key_id, signer.public_key)) is None:
        check = ALGORITHMS[signer.algorithm]
        if not check.verify(signer.public_key, sealed.document, sealed.signature):
            return ""
        _signers_checked.put((signer.key_id, signer.public_key), True)
    parts = _signer_parts(signer, issuer)
    return seal_check(sealed.document.decode("utf-8"), b64url(sealed.signature), parts)


def _vouched_by(licence: ELicence) -> Callable[[PublicKey], bool] | None:
    """`verify_sealed`'s ``vouched`` for a stored licence: its check value is the one this
    product writes for its sealed document, signature and the key."""
    stored = licence.seal_check
    if not stored:
        return None
    return lambda key: hmac.compare_digest(
        stored.encode("ascii", "replace"),
        seal_check(licence.sealed, licence.signature, _key_parts(key)).encode("ascii"),
    )


def verify_record(licence: ELicence, keys: dict[str, PublicKey] | None = None) -> Verdict:
    """The seal of a stored licence: the signature over its sealed document, the sealed
    document against the row, and the payload's SM3 against the sealed digest. A valid
    answer is remembered under a digest of everything it depends on (see above)."""
    if not licence.sealed or not licence.signature:
        return Verdict(False, "unsealed")
    keys = published_keys() if keys is None else keys
    raw = _stored_ciphertext(licence)
    fingerprint = _fingerprint(licence, raw, keys.get(licence.key_id))
    cached = _verified.get(fingerprint)
    if cached is not None:
        return cached
    verdict = _verify_record(licence, keys, raw)
    if verdict.valid:
        _verified.put(fingerprint, verdict)
    return verdict


def _verify_record(licence: ELicence, keys: dict[str, PublicKey], raw: str | None) -> Verdict:
    try:
        sealed = Sealed(licence.sealed.encode("utf-8"), b64url_decode(licence.signature))
    except (SealFormatError, ValueError):
        return Verdict(False, "bad_signature")
    verdict = verify_sealed(sealed, keys, _vouched_by(licence))
    if not verdict.valid:
        return verdict
    doc = verdict.document or {}
    item = _part(doc, "item")
    issuer = _part(doc, "issuer")
    if (
        doc.get("serial") != licence.serial
        or item.get("code") != licence.kind
        or issuer.get("code") != licence.issuer_code
        or doc.get("kid") != licence.key_id
        or doc.get("issued_at") != format_time(to_beijing(licence.issued_at))
    ):
        return Verdict(False, "registry_mismatch", doc, verdict.key)
    payload = _decrypted(raw)
    if hasattr(licence, "payload_raw"):
        licence.__dict__[_OPENED] = (raw, payload)
    if payload is None or payload_digest(payload) != doc.get("payload_digest"):
        return Verdict(False, "digest_mismatch", doc, verdict.key)
    if licence.superseded_at is not None:
        # Genuine, but a correction replaced it (ADR 0042): no longer in force.
        return Verdict(False, "superseded", doc, verdict.key)
    return verdict


def _unloaded() -> Any:
    # The payload is not decrypted here: verify_record checks its stored ciphertext (read
    # in the same query) and decrypts it only when the answer is not remembered.
    return ELicence.objects.defer("payload").annotate(
        payload_raw=Cast("payload", TextField()),
        superseded_serial=F("superseded_by__serial"),
        replaces_serial=F("supersedes__serial"),
    )


def _with_registry(answer: Verification, licence: ELicence) -> Verification:
    """The answer with what the registry says of corrections (ADR 0042)."""
    by = getattr(licence, "superseded_serial", None) or ""
    replaces = getattr(licence, "replaces_serial", None) or ""
    if not by and not replaces:
        return answer
    at = licence.superseded_at
    return replace(
        answer,
        superseded_by=by if answer.code == "superseded" else "",
        superseded_at=format_time(to_beijing(at))[:19].replace("T", " ") if at and by else "",
        replaces=replaces if answer.code in ("valid", "superseded") else "",
    )


def elicence_verify(*, content: str | None = None, serial: str | None = None) -> Verification:
    """Verify a licence from its QR content (or the URL carrying it), or by serial.

    From QR content the answer includes the masked summary the content carries; by serial
    alone (serials are guessable) it says only whether the licence is valid, who issued it,
    for which item and when.
    """
    keys = published_keys()
    if content is not None:
        try:
            sealed = parse_content(content)
        except (SealFormatError, ValueError):
            return Verification(valid=False, code="malformed")
        licence = _registered(sealed)
        if licence is not None and (
            licence.sealed.encode("utf-8") == sealed.document
            and licence.signature == b64url(sealed.signature)
        ):
            # The very bytes on record: the record's (cached) verification answers.
            return _with_registry(_answer(verify_record(licence, keys), summary=True), licence)
        verdict = verify_sealed(sealed, keys)
        if verdict.valid:
            code = "not_registered" if licence is None else "registry_mismatch"
            verdict = Verdict(False, code, verdict.document, verdict.key)
        return _answer(verdict, summary=True)
    wanted = (serial or "").strip()
    licence = read_with_fallback(lambda: _unloaded().filter(serial=wanted).first())
    return elicence_verify_read(licence, serial or "", keys)


def elicence_verify_read(
    licence: ELicence | None, serial: str, keys: dict[str, PublicKey] | None = None
) -> Verification:
    """`elicence_verify` by serial of a licence already read as `_unloaded` reads it (its
    stored ciphertext and the serials of its corrections), or None when not on record."""
    if licence is None:
        return Verification(valid=False, code="not_found", serial=serial[:64])
    keys = published_keys() if keys is None else keys
    return _with_registry(_answer(verify_record(licence, keys), summary=False), licence)


def unloaded_by_serial(serial: str) -> Any:
    """The query `elicence_verify` reads a licence by serial with (`kept` compiles it)."""
    return _unloaded().filter(serial=serial)


def _registered(sealed: Sealed) -> ELicence | None:
    """The licence on record under the serial the presented document names, if any."""
    try:
        serial = sealed.fields().get("serial")
    except SealFormatError:
        return None
    if not isinstance(serial, str) or not serial:
        return None
    # Public verification reads the replica when there is one (ADR 0027); a licence the
    # replica has not received yet is read from the primary.
    found: ELicence | None = read_with_fallback(lambda: _unloaded().filter(serial=serial).first())
    return found


def qr_content(licence: ELicence) -> str:
    """The QR content of a sealed licence (``OS1.<document>.<signature>``)."""
    return Sealed(licence.sealed.encode("utf-8"), b64url_decode(licence.signature)).content
