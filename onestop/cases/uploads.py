"""Storing uploaded materials through Django's storage API, after checking what they are.

The type is decided from the file's first bytes (PDF, JPEG, PNG), never from its name or
the browser's claim; an empty, oversized or disguised file is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from onestop.accounts.models import User
from onestop.cases.domain.document import MATERIAL_CODES
from onestop.cases.models import Case, Material
from onestop.common.fields import cipher
from onestop.core.errors import OnestopError

SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


class UploadRejected(OnestopError):
    code = "upload_invalid"


def sniff(head: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def check_upload(upload: UploadedFile[Any]) -> tuple[bytes, str]:
    limit = settings.MATERIAL_MAX_BYTES
    size = upload.size or 0
    if size == 0:
        raise UploadRejected(_("上传的文件是空的，请重新选择"))
    if size > limit:
        raise UploadRejected(
            _("文件过大（{size} MB），单个文件不能超过 {limit} MB").format(
                size=f"{size / 1048576:.1f}", limit=limit // 1048576
            )
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(
            _("文件过大，单个文件不能超过 {limit} MB").format(limit=limit // 1048576)
        )
    content_type = sniff(data[:16])
    if content_type is None:
        raise UploadRejected(_("只能上传 PDF、JPG 或 PNG 格式的文件（文件内容与格式不符）"))
    return data, content_type


def store_material(
    *,
    case: Case,
    code: str,
    upload: UploadedFile[Any],
    actor: User | None,
    now: datetime,
    source: str,
) -> Material:
    if code not in MATERIAL_CODES:
        raise UploadRejected(_("未知的材料类型“{code}”").format(code=code))
    data, content_type = check_upload(upload)
    material = Material(
        case=case,
        code=code,
        source=source,
        token=secrets.token_hex(16),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=now,
        uploaded_by=actor,
    )
    # Scans of ID cards and medical records are personal data: encrypted before storage.
    material.file.save(material.token, ContentFile(cipher().encrypt_bytes(data)), save=False)
    material.save()
    return material


def material_bytes(material: Material) -> bytes:
    """The decrypted content of a stored material (after the caller checked access)."""
    with material.file.open("rb") as handle:
        return cipher().decrypt_bytes(handle.read())
