"""Small valid and hostile upload files, built in memory for tests (nothing large on disk).

The valid ones pass the whole-file checks of `onestop.core.filecheck`; the hostile ones
are what the issue-8 outside test uploaded (and more), each refused or neutralised.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def pdf_bytes(pages: int = 1, *, text: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if text:
        writer.add_metadata({"/Subject": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes(width: int = 64, height: int = 48, *, seed: int = 1) -> bytes:
    image = Image.new("RGB", (width, height))
    image.putdata(
        [
            ((x * 7 + seed) % 256, (y * 5 + seed) % 256, (x * y) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, *, exif: bytes | None = None) -> bytes:
    image = Image.open(io.BytesIO(png_bytes(width, height))).convert("RGB")
    out = io.BytesIO()
    if exif is not None:
        image.save(out, "JPEG", quality=85, exif=exif)
    else:
        image.save(out, "JPEG", quality=85)
    return out.getvalue()


def gps_exif() -> bytes:
    """An EXIF block with a GPS position (Beijing) and a camera make."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    gps = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 49.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    return exif.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_header_only(width: int, height: int, *, idat: bytes = b"") -> bytes:
    """A PNG that declares ``width`` x ``height`` (8-bit grey) with the given IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + (_png_chunk(b"IDAT", idat) if idat else b"")
        + _png_chunk(b"IEND", b"")
    )


def zeros_zlib(total: int, block: int = 1 << 20) -> bytes:
    """A zlib stream of ``total`` zero bytes, built without compressing them all: after a
    full flush deflate restarts, so identical blocks give identical bytes and one block's
    output is repeated. The Adler-32 of n zeros is (n mod 65521) << 16 | 1."""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = raw.compress(b"\x00" * block) + raw.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(total, block)
    tail = raw.compress(b"\x00" * rest) + raw.flush(zlib.Z_FINISH)
    adler = ((total % 65521) << 16) | 1
    return b"\x78\xda" + one * count + tail + struct.pack(">I", adler)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A decompression bomb: ``width * height`` grey pixels of zeros (900 MB for the
    default) compressed to under 1 MB, without ever holding the 900 MB."""
    return png_header_only(width, height, idat=zeros_zlib(height * (width + 1)))


def zip_payload() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.html", "<html><script>alert(document.cookie)</script></html>")
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('pwned');"),
        }
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("a"), writer._add_object(script)])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(tree)}
    )
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.launchURL('http://evil.example/');"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_open_action_js_only() -> bytes:
    """Only an /OpenAction with JavaScript (no document-level name tree)."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1);"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_embedded_file() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really a program")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_launch_annotation() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    stream = DecodedStreamObject()
    stream.set_data(b"BT ET")
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
    )
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject(),
            NameObject("/A"): writer._add_object(action),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hostile_refused() -> dict[str, tuple[str, bytes, str]]:
    """Files that must be refused: name -> (upload file name, bytes, expected code)."""
    html = b"<html><body><script>fetch('/my/cases/').then(r=>r.text())</script></body></html>"
    return {
        "png_30000x30000": (
            "id.png",
            png_header_only(30_000, 30_000, idat=b"x"),
            "upload_image_too_large",
        ),
        "png_bomb_900mb": ("id.png", png_bomb(), "upload_image_too_large"),
        "png_50_megapixels": ("id.png", png_bomb(10_000, 5_000), "upload_image_too_large"),
        "png_truncated": ("id.png", png_bytes()[:-30], "upload_image_invalid"),
        "jpeg_garbage_after_header": ("id.jpg", b"\xff\xd8\xff\xe0" + html, "upload_image_invalid"),
        "pdf_openaction_javascript": (
            "id.pdf",
            pdf_with_open_action_js_only(),
            "upload_pdf_active_content",
        ),
        "pdf_javascript_name_tree": ("id.pdf", pdf_with_javascript(), "upload_pdf_active_content"),
        "pdf_launch_action": ("id.pdf", pdf_with_launch_annotation(), "upload_pdf_active_content"),
        "pdf_embedded_file": ("id.pdf", pdf_with_embedded_file(), "upload_pdf_embedded_file"),
        "pdf_truncated": ("id.pdf", pdf_bytes()[:-80], "upload_pdf_invalid"),
        "pdf_header_then_html": (
            "id.pdf",
            b"%PDF-1.7\n" + html + b"\n%%EOF\n",
            "upload_pdf_invalid",
        ),
        "html_named_pdf": ("id.pdf", html, "upload_type_unsupported"),
        "empty": ("id.pdf", b"", "empty"),
    }


def hostile_neutralised() -> dict[str, tuple[str, bytes, bytes]]:
    """Files accepted only in a cleaned form: name -> (file name, bytes, what must not be
    in the stored copy)."""
    html = b"<html><script>alert(document.cookie)</script></html>"
    return {
        "jpeg_with_gps_exif": ("photo.jpg", jpeg_bytes(exif=gps_exif()), b"SpyCam"),
        "jpeg_zip_polyglot": ("photo.jpg", jpeg_bytes() + zip_payload(), b"PK\x03\x04"),
        "jpeg_html_polyglot": ("photo.jpg", jpeg_bytes() + html, b"<script"),
        "png_html_polyglot": ("scan.png", png_bytes() + html, b"<script"),
        "pdf_zip_polyglot": ("scan.pdf", pdf_bytes() + zip_payload(), b"PK\x03\x04"),
    }
