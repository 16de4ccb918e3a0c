"""Checking uploaded materials as whole files and storing them encrypted (ADR 0014).

Every upload — the online application's materials, supplements, the counter's scans —
passes `check_upload` before anything is stored:

1. size (``MATERIAL_MAX_BYTES``) and emptiness;
2. the malware scan when one is configured (``MALWARE_SCAN = "clamav"``); a scanner that
   cannot be reached refuses the upload (fail closed);
3. the whole-file check of `onestop.core.filecheck`: images are decoded under a pixel cap
   and re-encoded (only the new image is kept), PDFs are parsed and refused when they
   carry scripts, actions, embedded files or cannot be parsed.

A refusal is an `UploadRejected` with a stable code and a Chinese message. What is stored
is the checked content, encrypted with the field keys (`cipher().encrypt_bytes`), in a
file of mode 0600 (``FILE_UPLOAD_PERMISSIONS``); only access-checked views decrypt it.
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from onestop.accounts.models import User, actor_label
from onestop.audit.services import audit_record
from onestop.cases.domain.document import MATERIAL_CODES
from onestop.cases.models import Case, Material
from onestop.common.fields import cipher
from onestop.core import clamd
from onestop.core.errors import OnestopError
from onestop.core.filecheck import FileRefused, inspect_file, sniff

__all__ = [
    "CheckedUpload",
    "UploadRejected",
    "check_upload",
    "checked_upload",
    "encrypted_file_read",
    "material_bytes",
    "prechecked_upload",
    "sniff",
    "store_material",
]


class UploadRejected(OnestopError):
    """``code`` is ``upload_invalid`` or a finer one (``upload_image_too_large``,
    ``upload_pdf_active_content``, ``upload_malware``, …)."""

    code = "upload_invalid"


@dataclass(frozen=True)
class CheckedUpload:
    """What may be stored, with the record of the checks (no personal data)."""

    data: bytes
    content_type: str
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


# A form checks an upload and the service stores it in the same request: the second look
# reuses the first result instead of decoding (and scanning) the file again.
_checked: weakref.WeakKeyDictionary[UploadedFile[Any], CheckedUpload] = weakref.WeakKeyDictionary()


def _message(code: str, detail: str = "") -> str:
    limit_mb = settings.MATERIAL_MAX_BYTES // 1048576
    messages = {
        "upload_empty": _("上传的文件是空的，请重新选择"),
        "upload_too_large": _("文件过大，单个文件不能超过 {limit} MB").format(limit=limit_mb),
        "upload_type_unsupported": _("只能上传 PDF、JPG 或 PNG 格式的文件（文件内容与格式不符）"),
        "upload_image_too_large": _(
            "图片尺寸过大（超过 {limit} 万像素），请缩小或重新拍照后上传"
        ).format(limit=settings.UPLOAD_IMAGE_MAX_PIXELS // 10000),
        "upload_image_invalid": _("图片文件已损坏或不完整，无法打开，请重新拍照或扫描后上传"),
        "upload_pdf_invalid": _(
            "PDF 文件已损坏、不完整或设置了密码，无法打开，请重新生成或扫描后上传"
        ),
        "upload_pdf_active_content": _(
            "PDF 文件含有脚本或自动执行的操作，出于安全考虑不能接收，"
            "请重新扫描或用“打印为 PDF”重新生成后上传"
        ),
        "upload_pdf_embedded_file": _(
            "PDF 文件里夹带了其他文件（附件），出于安全考虑不能接收，请去掉附件后重新上传"
        ),
        "upload_pdf_too_many_pages": _("PDF 页数过多，单个文件不能超过 {limit} 页").format(
            limit=settings.UPLOAD_PDF_MAX_PAGES
        ),
        "upload_malware": _("文件未通过病毒检查，不能接收。请检查您的设备，重新扫描或拍照后上传"),
        "upload_scan_unavailable": _(
            "暂时无法完成病毒检查，文件没有保存，请稍后再上传（已填写的内容不受影响）"
        ),
    }
    return messages.get(code, _("文件未通过检查，不能接收，请重新选择"))


def _refuse(code: str, detail: str = "") -> UploadRejected:
    return UploadRejected(_message(code, detail), code=code)


def _scan(data: bytes) -> str:
    """The malware verdict as recorded ("off", "clamav: OK"); raises on a finding."""
    mode = settings.MALWARE_SCAN
    if mode == "off":
        return "off"
    try:
        verdict = clamd.instream(
            data, address=settings.CLAMD_SOCKET, timeout=settings.CLAMD_TIMEOUT
        )
    except clamd.ScannerUnavailable:
        raise _refuse("upload_scan_unavailable") from None
    if not verdict.clean:
        raise _refuse("upload_malware", verdict.signature)
    return f"clamav: {verdict}"


def checked_upload(upload: UploadedFile[Any]) -> CheckedUpload:
    """Check the whole upload (see the module text); raises `UploadRejected`."""
    known = _checked.get(upload)
    if known is not None:
        return known
    limit = settings.MATERIAL_MAX_BYTES
    size = upload.size or 0
    if size > limit:
        raise UploadRejected(
            _("文件过大（{size} MB），单个文件不能超过 {limit} MB").format(
                size=f"{size / 1048576:.1f}", limit=limit // 1048576
            ),
            code="upload_too_large",
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if not data:
        raise _refuse("upload_empty")
    if len(data) > limit:
        raise _refuse("upload_too_large")
    verdict = _scan(data)
    try:
        clean = inspect_file(
            data,
            max_pixels=settings.UPLOAD_IMAGE_MAX_PIXELS,
            max_pdf_pages=settings.UPLOAD_PDF_MAX_PAGES,
        )
    except FileRefused as exc:
        raise _refuse(exc.code, exc.detail) from None
    result = CheckedUpload(clean.data, clean.content_type, {**clean.checks, "scan": verdict})
    _checked[upload] = result
    return result


def check_upload(upload: UploadedFile[Any]) -> tuple[bytes, str]:
    """The content to store (re-encoded image or checked PDF) and its type."""
    result = checked_upload(upload)
    return result.data, result.content_type


def prechecked_upload(
    name: str, data: bytes, content_type: str, checks: dict[str, Any]
) -> UploadedFile[Any]:
    """An upload made from content this module already checked (a draft's material that
    becomes a case material): it is not decoded and re-encoded a second time."""
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    _checked[upload] = CheckedUpload(data, content_type, dict(checks))
    return upload


# Files written while a service's transaction is open: a transaction that rolls back (a
# refused second upload, a case that cannot be supplemented, a duplicate newborn) would
# otherwise leave encrypted orphans on disk that no row refers to.
_written: ContextVar[list[FieldFile] | None] = ContextVar("onestop_files_written", default=None)


@contextmanager
def files_removed_on_failure() -> Iterator[None]:
    """Around a service's ``transaction.atomic()``: the files stored inside are deleted again
    when it fails (outermost use only; nested uses join it)."""
    if _written.get() is not None:
        yield
        return
    written: list[FieldFile] = []
    token = _written.set(written)
    try:
        yield
    except BaseException:
        for stored in written:
            if stored.name:
                stored.storage.delete(stored.name)
        raise
    finally:
        _written.reset(token)


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
    checked = checked_upload(upload)
    material = Material(
        case=case,
        code=code,
        source=source,
        token=secrets.token_hex(16),
        content_type=checked.content_type,
        size=len(checked.data),
        sha256=checked.sha256,
        uploaded_at=now,
        uploaded_by=actor,
    )
    # Scans of ID cards and medical records are personal data: encrypted before storage.
    material.file.save(
        material.token, ContentFile(cipher().encrypt_bytes(checked.data)), save=False
    )
    written = _written.get()
    if written is not None:
        written.append(material.file)
    material.save()
    # The verdict of the checks (type, re-encoding, malware scan) goes to the case's audit
    # chain; the caller holds the case row, as for every record of the stream.
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="material_stored",
        object_type="material",
        object_id=material.token,
        detail={"code": code, "sha256": checked.sha256, "source": source, **checked.checks},
    )
    return material


def encrypted_file_read(file: FieldFile) -> bytes:
    """The decrypted content of a stored upload (the caller checked access)."""
    with file.open("rb") as handle:
        return cipher().decrypt_bytes(handle.read())


def material_bytes(material: Material) -> bytes:
    """The decrypted content of a stored material (after the caller checked access)."""
    return encrypted_file_read(material.file)
