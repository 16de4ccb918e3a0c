"""Whole-file checks of uploaded materials (no Django; see ADR 0014).

The first bytes only say what a file claims to be. Here the whole file is read:

- JPEG and PNG are decoded with Pillow under a pixel cap and **re-encoded**: what is kept
  is the new image only, so EXIF (GPS position, camera serial), comments, colour profiles,
  anything appended after the image (ZIP/HTML polyglots) and decompression bombs are gone.
- PDF is parsed with pypdf and every object is walked: JavaScript, launch and other
  active actions, embedded files, rich media and XFA forms are refused, as are files
  pypdf cannot parse (truncated, corrupt, not a PDF after the header) and files with more
  pages than the cap. Bytes after the final ``%%EOF`` are dropped.

Everything refused raises `FileRefused` with a stable code; the Django side turns the code
into a Chinese message.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
PILLOW_FORMAT = {JPEG: "JPEG", PNG: "PNG"}

# PDF keys and action types that run code, launch programs, carry files or rich media.
PDF_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/RichMedia", "/XFA", "/Launch"})
PDF_FILE_KEYS = frozenset({"/EmbeddedFiles", "/EmbeddedFile", "/EF"})
PDF_ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/SubmitForm",
        "/RichMediaExecute",
        "/GoToE",
        "/Rendition",
    }
)
PDF_FILE_SUBTYPES = frozenset({"/FileAttachment", "/EmbeddedFile"})
PDF_ACTIVE_SUBTYPES = frozenset({"/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"})
# A walk of the object graph stops here: a scan never needs that many objects.
PDF_MAX_OBJECTS = 200_000
EOF_MARK = re.compile(rb"%%EOF[\r\n]*")


class FileRefused(Exception):
    """The file is refused; ``code`` is stable (e.g. ``upload_pdf_active_content``)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class CleanFile:
    """What may be stored: the re-encoded image or the checked PDF, and what was done."""

    data: bytes
    content_type: str
    checks: dict[str, Any] = field(default_factory=dict)


def sniff(head: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def inspect_file(data: bytes, *, max_pixels: int, max_pdf_pages: int) -> CleanFile:
    """Check the whole file and return what may be stored, or raise `FileRefused`."""
    if not data:
        raise FileRefused("upload_empty")
    content_type = sniff(data[:16])
    if content_type is None:
        raise FileRefused("upload_type_unsupported")
    if content_type == PDF:
        return pdf_check(data, max_pages=max_pdf_pages)
    return image_reencode(data, content_type, max_pixels=max_pixels)


# -- images ---------------------------------------------------------------------------


def image_reencode(data: bytes, content_type: str, *, max_pixels: int) -> CleanFile:
    fmt = PILLOW_FORMAT[content_type]
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard warns first: a warning is a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise FileRefused("upload_image_invalid", "no pixels")
                if width * height > max_pixels:
                    raise FileRefused("upload_image_too_large", f"{width}x{height}")
                image.load()  # the whole image: a truncated or corrupt file fails here
                clean = _upright(image)
                clean = _storable_mode(clean, fmt)
                clean.info = {}  # no EXIF, comments, ICC profiles or text chunks
                out = io.BytesIO()
                if fmt == "JPEG":
                    clean.save(out, "JPEG", quality=90)
                else:
                    clean.save(out, "PNG", optimize=False)
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileRefused("upload_image_too_large", type(exc).__name__) from None
    except MemoryError:
        raise FileRefused("upload_image_too_large", "memory") from None
    except Exception as exc:  # any decoder failure means "not a valid image"
        raise FileRefused("upload_image_invalid", type(exc).__name__) from None
    return CleanFile(
        out.getvalue(),
        content_type,
        {"kind": "image", "width": width, "height": height, "reencoded": True},
    )


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation before the EXIF is dropped (photos stay upright)."""
    try:
        turned = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block only loses the rotation
        return image
    return turned if turned is not None else image


def _storable_mode(image: Image.Image, fmt: str) -> Image.Image:
    if fmt == "JPEG":
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    if image.mode in ("1", "L", "LA", "RGB", "RGBA"):
        return image
    if image.mode == "P" or image.mode == "PA":
        return image.convert("RGBA")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


# -- PDF ------------------------------------------------------------------------------


def pdf_check(data: bytes, *, max_pages: int) -> CleanFile:
    # Without any %%EOF the file is truncated; bytes after the final one are not part of
    # the document (an appended payload) and are not kept.
    ends = list(EOF_MARK.finditer(data))
    if not ends:
        raise FileRefused("upload_pdf_invalid", "no %%EOF")
    kept = data[: ends[-1].end()]
    try:
        reader = PdfReader(io.BytesIO(kept), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileRefused("upload_pdf_invalid", "encrypted")
        pages = len(reader.pages)
        if pages == 0:
            raise FileRefused("upload_pdf_invalid", "no pages")
        if pages > max_pages:
            raise FileRefused("upload_pdf_too_many_pages", str(pages))
        for problem in _pdf_problems(reader):
            raise FileRefused(problem[0], problem[1])
    except FileRefused:
        raise
    except RecursionError:
        raise FileRefused("upload_pdf_invalid", "too deep") from None
    except Exception as exc:  # whatever pypdf cannot parse is refused
        raise FileRefused("upload_pdf_invalid", type(exc).__name__) from None
    return CleanFile(
        kept,
        PDF,
        {"kind": "pdf", "pages": pages, "trailing_bytes_dropped": len(data) - len(kept)},
    )


def _pdf_objects(reader: PdfReader) -> Iterator[PdfObject]:
    """Every object reachable from the trailer, and every object the cross-reference
    tables list (an unreachable object is checked too)."""
    roots: list[Any] = [reader.trailer]
    for generation, numbers in reader.xref.items():
        for number in numbers:
            roots.append(IndirectObject(number, generation, reader))
    for number in reader.xref_objStm:
        roots.append(IndirectObject(number, 0, reader))
    seen: set[tuple[int, int]] = set()
    stack = roots
    count = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            item = item.get_object()
        count += 1
        if count > PDF_MAX_OBJECTS:
            raise FileRefused("upload_pdf_invalid", "too many objects")
        if item is None:
            continue
        yield item
        if isinstance(item, DictionaryObject):  # a StreamObject is one too
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _pdf_problems(reader: PdfReader) -> Iterator[tuple[str, str]]:
    for item in _pdf_objects(reader):
        if isinstance(item, NameObject):
            if str(item) in PDF_ACTIVE_KEYS:
                yield "upload_pdf_active_content", str(item)
            elif str(item) in PDF_FILE_KEYS:
                yield "upload_pdf_embedded_file", str(item)
            continue
        if not isinstance(item, DictionaryObject):
            continue
        for key in item:
            if key in PDF_ACTIVE_KEYS:
                yield "upload_pdf_active_content", str(key)
            if key in PDF_FILE_KEYS:
                yield "upload_pdf_embedded_file", str(key)
        action = item.get("/S")
        if isinstance(action, NameObject) and str(action) in PDF_ACTIVE_ACTIONS:
            yield "upload_pdf_active_content", str(action)
        kind = item.get("/Type")
        subtype = item.get("/Subtype")
        for value in (kind, subtype):
            if isinstance(value, NameObject) and str(value) in PDF_FILE_SUBTYPES:
                yield "upload_pdf_embedded_file", str(value)
        if isinstance(subtype, NameObject) and str(subtype) in PDF_ACTIVE_SUBTYPES:
            yield "upload_pdf_active_content", str(subtype)
