"""The whole-file checks and the clamd client, without Django (issue 8, ADR 0014).

Issue 8: "a 30000×30000 PNG and a 900 MB bomb were accepted"; "PDFs are parsed and rejected
if they carry JavaScript or embedded files; a pluggable malware scan (ClamAV where
installed) with a clear verdict". The HTTP tests are in onestop/portal/tests and
onestop/counter/tests; these pin each rule down on its own.
"""

from __future__ import annotations

import io
import socket

import pytest
from PIL import Image

from onestop.core import clamd
from onestop.core.filecheck import FileRefused, inspect_file
from onestop.testing.fake_clamd import FakeClamd
from onestop.testing.files import (
    EICAR,
    gps_exif,
    hostile_neutralised,
    hostile_refused,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
)

LIMITS = {"max_pixels": 40_000_000, "max_pdf_pages": 100}


@pytest.mark.parametrize("name", sorted(hostile_refused()))
def test_every_hostile_file_is_refused_with_its_code(name):
    _filename, data, code = hostile_refused()[name]
    with pytest.raises(FileRefused) as refused:
        inspect_file(data, **LIMITS)
    assert refused.value.code == ("upload_empty" if code == "empty" else code)


@pytest.mark.parametrize("name", sorted(hostile_neutralised()))
def test_polyglots_and_exif_are_dropped_by_the_stored_copy(name):
    _filename, data, forbidden = hostile_neutralised()[name]
    clean = inspect_file(data, **LIMITS)
    assert clean.data != data and forbidden not in clean.data


def test_the_stored_jpeg_has_no_exif_and_keeps_the_picture():
    original = jpeg_bytes(exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825) is not None
    clean = inspect_file(original, **LIMITS)
    stored = Image.open(io.BytesIO(clean.data))
    assert stored.format == "JPEG" and stored.size == (64, 48)
    assert not stored.getexif() and b"Exif" not in clean.data and b"GPS" not in clean.data


def test_the_pixel_cap_is_a_setting_and_valid_files_pass():
    assert inspect_file(png_bytes(64, 48), **LIMITS).checks["reencoded"] is True
    with pytest.raises(FileRefused) as refused:
        inspect_file(png_bytes(64, 48), max_pixels=64 * 48 - 1, max_pdf_pages=100)
    assert refused.value.code == "upload_image_too_large"
    assert inspect_file(pdf_bytes(3), **LIMITS).checks["pages"] == 3
    with pytest.raises(FileRefused) as pages:
        inspect_file(pdf_bytes(3), max_pixels=40_000_000, max_pdf_pages=2)
    assert pages.value.code == "upload_pdf_too_many_pages"


@pytest.mark.parametrize("tcp", [False, True], ids=["unix-socket", "host-port"])
def test_clamd_instream_gives_a_clear_verdict(tcp):
    server = FakeClamd(tcp=tcp)
    try:
        assert clamd.instream(pdf_bytes(), address=server.address).clean
        found = clamd.instream(EICAR, address=server.address)
        assert not found.clean and found.signature == "Eicar-Test-Signature"
        big = b"x" * (3 * clamd.CHUNK + 5)  # several chunks
        assert clamd.instream(big, address=server.address).clean
        assert server.scanned == [len(pdf_bytes()), len(EICAR), len(big)]
    finally:
        server.close()


def test_clamd_unreachable_or_unclear_is_an_error_never_a_pass(tmp_path):
    with pytest.raises(clamd.ScannerUnavailable):
        clamd.instream(b"data", address=str(tmp_path / "no-such.sock"), timeout=1)
    with socket.socket() as probe:  # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(clamd.ScannerUnavailable):
        clamd.instream(b"data", address=f"127.0.0.1:{port}", timeout=1)
    with pytest.raises(clamd.ScannerUnavailable):
        clamd.instream(b"data", address="not-an-address", timeout=1)
    server = FakeClamd(reply=b"INSTREAM size limit exceeded. ERROR\0")
    try:
        with pytest.raises(clamd.ScannerUnavailable):
            clamd.instream(b"data", address=server.address, timeout=1)
    finally:
        server.close()
