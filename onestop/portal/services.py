"""Writes of the parents' online application: drafts, pre-filling from the hospital's
delivery record, uploads, the signed submission and supplements."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import User
from onestop.audit.services import access_record
from onestop.cases.domain.paths import get_path, put_path
from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import Submission, body_digest, case_submit, case_supplement
from onestop.cases.uploads import (
    checked_upload,
    encrypted_file_read,
    prechecked_upload,
    sniff,
)
from onestop.common.fields import cipher
from onestop.common.ratelimit import rate_check
from onestop.core.clock import format_time
from onestop.core.crypto import DecryptionFailed
from onestop.core.errors import OnestopError
from onestop.hospitals.selectors import delivery_record_lookup
from onestop.policy.loader import default_packs
from onestop.portal.forms import same_name
from onestop.portal.models import Draft, DraftMaterial, Invitation
from onestop.portal.selectors import case_context, draft_document
from onestop.unified_form.model import (
    admitted_roles,
    applicable_items,
    complete_derived,
)

MAX_LOOKUPS = 10
DRAFT_LIFETIME = timedelta(days=30)
# Stored with the e-signature (a record in Chinese, not shown as interface text).
PROMISE = "本人承诺所填信息真实"
# Delivery-record fields and where they go in the case document.
PREFILL_PATHS = {
    "born_at": "newborns[0].born_at",
    "sex": "newborns[0].sex",
    "weight_g": "newborns[0].weight_g",
    "length_cm": "newborns[0].length_cm",
    "gestational_weeks": "newborns[0].gestational_weeks",
    "birth_attendant": "newborns[0].birth_attendant",
    "blood_type": "newborns[0].blood_type",
    "in_hospital": "newborns[0].in_hospital",
    "mother_name": "mother.name",
}


class DraftError(OnestopError):
    code = "draft_invalid"


def draft_open(
    *, owner: User, region: str, items: Iterable[str] = (), now: datetime | None = None
) -> Draft:
    """The parent's draft for a region, started if there is none. ``items`` (from the
    guide) preselect the items of a new draft."""
    now = now or timezone.now()
    draft = Draft.objects.filter(owner=owner, region=region).first()
    if draft is not None:
        return draft
    pack = default_packs().current(region, now)
    if pack is None:
        raise DraftError(_("未知的地区"))
    offered = [entry.item for entry in applicable_items(pack)]
    wanted = [item for item in items if item in offered]
    roles = [entry.role for entry in admitted_roles(pack)]
    role = "mother" if "mother" in roles or not roles else roles[0]
    document: dict[str, Any] = {
        "region": region,
        "channel": "online",
        "items": wanted or offered,
        "applicant": {"role": role},
        "mother": {"known": True, "residency": "mainland"},
        "father": {"residency": "mainland"},
    }
    if role == "mother" and owner.phone:
        document["mother"]["phone"] = owner.phone
    draft, _created = Draft.objects.get_or_create(
        owner=owner,
        region=region,
        defaults={
            "token": secrets.token_hex(16),
            "document": document,
            "created_at": now,
            "updated_at": now,
        },
    )
    return draft


def draft_update(
    *,
    draft: Draft,
    values: Mapping[str, Any],
    now: datetime | None = None,
) -> Draft:
    """Store entries ({document path: value}); a None value removes the entry."""
    document = copy.deepcopy(draft.document)
    for path, value in values.items():
        put_path(document, path, value)
    if "applicant.role" in values and values["applicant.role"] == "mother":
        owner_phone = draft.owner.phone
        if owner_phone and not get_path(document, "mother.phone"):
            put_path(document, "mother.phone", owner_phone)
    draft.document = document
    draft.updated_at = now or timezone.now()
    draft.save(update_fields=["document", "updated_at"])
    return draft


@dataclass(frozen=True)
class Prefill:
    found: bool
    paths: tuple[str, ...]
    exhausted: bool = False


def draft_prefill(*, draft: Draft, actor: User, now: datetime | None = None) -> Prefill:
    """Fill the newborn's delivery data from the hospital's record when the mother's ID
    number, the hospital and the record number in the draft all match it."""
    now = now or timezone.now()
    if draft.lookups >= MAX_LOOKUPS:
        return Prefill(False, (), exhausted=True)
    # Issue 8: the delivery-record lookup is limited per draft AND per parent; the parent's
    # count lives in the shared cache, so discarding the draft does not reset it. Counted
    # outside any transaction: a 429 must not roll the count back.
    message = _("查询分娩记录次数过多，请稍后再试，或直接填写出生信息")
    rate_check("lookup_parent", f"parent:{actor.pk}", message=message)
    rate_check("lookup_draft", f"draft:{draft.pk}", message=message)
    hospital = get_path(draft.document, "newborns[0].hospital")
    number = get_path(draft.document, "newborns[0].record_number")
    mother_id = get_path(draft.document, "mother.id_number")
    draft.lookups += 1
    data = None
    if isinstance(hospital, str) and isinstance(number, str) and isinstance(mother_id, str):
        data = delivery_record_lookup(hospital, number, mother_id)
    access_record(
        actor=actor,
        case_number="-",
        what=f"delivery_record:{hospital if isinstance(hospital, str) else '-'}",
        at=now,
        granted=data is not None,
    )
    if data is None:
        draft.updated_at = now
        draft.save(update_fields=["lookups", "updated_at"])
        return Prefill(False, ())
    document = copy.deepcopy(draft.document)
    filled = []
    for key, path in PREFILL_PATHS.items():
        if data.get(key) is not None:
            put_path(document, path, data[key])
            filled.append(path)
    draft.document = document
    draft.prefilled = filled
    draft.updated_at = now
    draft.save(update_fields=["document", "prefilled", "lookups", "updated_at"])
    return Prefill(True, tuple(filled))


def draft_attach(
    *, draft: Draft, code: str, upload: UploadedFile[Any], now: datetime | None = None
) -> DraftMaterial:
    """Keep an uploaded material with the draft (replacing one of the same kind). Raises
    `UploadRejected` for a file that fails the whole-file checks (nothing is stored then
    and the draft keeps everything else)."""
    now = now or timezone.now()
    # The whole file is checked (and scanned) before the transaction: only the re-encoded
    # image or the checked PDF is kept, encrypted like a case material (ADR 0014).
    checked = checked_upload(upload)
    with transaction.atomic():
        old = list(DraftMaterial.objects.filter(draft=draft, code=code))
        DraftMaterial.objects.filter(pk__in=[m.pk for m in old]).delete()
        material = DraftMaterial(
            draft=draft,
            code=code,
            token=secrets.token_hex(16),
            content_type=checked.content_type,
            size=len(checked.data),
            sha256=checked.sha256,
            uploaded_at=now,
            checks=checked.checks,
        )
        material.file.save(
            material.token, ContentFile(cipher().encrypt_bytes(checked.data)), save=False
        )
        material.save()
        _delete_files_after_commit(m.file.name for m in old)
        draft.updated_at = now
        draft.save(update_fields=["updated_at"])
    return material


def draft_material_bytes(material: DraftMaterial) -> bytes:
    """The decrypted content of a draft's material (the caller checked that the draft is
    the signed-in parent's). A file of a draft attached before ADR 0014 that the data
    migration could not reach is still read if it is plaintext of a known type."""
    try:
        return encrypted_file_read(material.file)
    except DecryptionFailed:
        if material.checks:
            raise
        with material.file.open("rb") as handle:
            blob: bytes = handle.read()
        if sniff(blob[:16]) is None:
            raise
        return blob


def _delete_files_after_commit(names: Iterable[str | None]) -> None:
    paths = [name for name in names if name]

    def delete() -> None:
        for name in paths:
            default_storage.delete(name)

    if paths:
        transaction.on_commit(delete)


def draft_discard(*, draft: Draft, expired: bool = False) -> None:
    with transaction.atomic():
        # A prepared draft's invitation (ADR 0033) ends with it.
        Invitation.objects.filter(draft=draft, state=Invitation.State.INVITED).update(
            state=Invitation.State.EXPIRED if expired else Invitation.State.DISCARDED
        )
        _delete_files_after_commit(m.file.name for m in draft.materials.all())
        draft.delete()


class SignatureMismatch(OnestopError):
    code = "signature_mismatch"


def draft_submit(
    *,
    draft_id: int,
    owner: User,
    signer_name: str,
    ip: str,
    now: datetime | None = None,
) -> Submission:
    """Sign and submit the draft: pre-review at once, the case stored with its uploads and
    the e-signature (signer, time, address and the SHA-256 of the signed document); the
    draft is then deleted. Raises `Draft.DoesNotExist` when it was already submitted."""
    now = now or timezone.now()
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft_id, owner=owner)
        document = draft_document(draft, now=now)
        applicant = get_path(document, "applicant.name")
        if not isinstance(applicant, str) or not same_name(signer_name, applicant):
            raise SignatureMismatch(_("签名姓名与申请人姓名不一致，请输入申请人本人的姓名"))
        materials = list(draft.materials.all())
        files: dict[str, UploadedFile[Any]] = {}
        for material in materials:
            content = draft_material_bytes(material)
            if material.checks:
                # Checked and re-encoded when it was attached: stored as it is.
                files[material.code] = prechecked_upload(
                    material.code, content, material.content_type, material.checks
                )
            else:
                # Attached before the whole-file checks existed: checked now, before the
                # case is created (raises `UploadRejected`: the parent uploads it again).
                legacy = SimpleUploadedFile(
                    material.code, content, content_type=material.content_type
                )
                checked_upload(legacy)
                files[material.code] = legacy
        signature = {
            "method": "typed_name",
            "signer_name": signer_name.strip(),
            "signer_role": get_path(document, "applicant.role"),
            "signed_at": format_time(now),
            "ip": ip,
            "document_sha256": body_digest(document),
            "promise": PROMISE,
        }
        submission = case_submit(
            document=document, actor=owner, now=now, files=files, signature=signature
        )
        _delete_files_after_commit(m.file.name for m in materials)
        # A draft prepared from the hospital's record (ADR 0033): the invitation is done.
        Invitation.objects.filter(draft=draft, state=Invitation.State.INVITED).update(
            state=Invitation.State.SUBMITTED,
            case_number=submission.case.number,
            submitted_at=now,
        )
        draft.delete()
    return submission


def parent_supplement(
    *,
    case: Case,
    actor: User,
    values: Mapping[str, Any],
    files: Mapping[str, UploadedFile[Any]],
    now: datetime | None = None,
) -> Case:
    """The parent's supplement: corrected fields and missing materials for a case waiting
    for a pre-review supplement (judged again at once), or materials for items a
    department returned (their paused clocks resume)."""
    if case.status != CaseStatus.SUPPLEMENT:
        return case_supplement(case_id=case.pk, actor=actor, files=files, now=now)
    document = copy.deepcopy(case.document)
    for path, value in values.items():
        put_path(document, path, value)
    role = get_path(document, "applicant.role")
    for key in ("name", "id_number"):
        if role in ("mother", "father") and f"{role}.{key}" in values:
            put_path(document, f"applicant.{key}", values[f"{role}.{key}"])
    ctx = case_context(case)
    complete_derived(document, ctx.again(document), overwrite=False)
    return case_supplement(case_id=case.pk, actor=actor, document=document, files=files, now=now)


def drafts_expire(now: datetime | None = None) -> int:
    """Delete drafts left untouched for `DRAFT_LIFETIME` (with their files)."""
    now = now or timezone.now()
    count = 0
    for draft in Draft.objects.filter(updated_at__lt=now - DRAFT_LIFETIME)[:500]:
        draft_discard(draft=draft, expired=True)
        count += 1
    return count
