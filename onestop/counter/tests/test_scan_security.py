"""The counter's scans, attacked through HTTP (issue 8): whole-file checks, encryption at
rest, the malware scan. Issue 8: "Uploads: check the whole file, not its first bytes";
"uploaded files on disk never equal the uploaded bytes"."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case, Material
from onestop.cases.uploads import material_bytes
from onestop.counter.tests.test_counter import JILIN, jilin_clerk, post_case
from onestop.testing.disk import assert_sealed, files_under
from onestop.testing.fake_clamd import FakeClamd
from onestop.testing.files import EICAR, gps_exif, hostile_refused, jpeg_bytes, pdf_bytes
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.django_db


def scan(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def clerk_client() -> Client:
    client = Client()
    client.force_login(jilin_clerk())
    return client


def test_hostile_scans_at_the_counter_are_refused_and_nothing_is_stored(media_root):
    client = clerk_client()
    hostile = hostile_refused()
    accepted = 0
    for name, (filename, data, _code) in hostile.items():
        response = post_case(client, JILIN, scan__birth_certificate=scan(filename, data))
        page = response.content.decode()
        assert response.status_code == 200, name
        assert 'class="error">《出生医学证明》：' in page, name
        assert "王一鸣" in page, name  # the clerk's entries are still in the form
        accepted += Material.objects.exclude(file="").count()
    assert Case.objects.count() == 0
    assert accepted == 0 and files_under(media_root) == []
    reliability_record("uploads", "hostile uploads tried (counter scan)", len(hostile))
    reliability_record("uploads", "hostile uploads accepted (counter scan)", accepted)


def test_a_counter_scan_is_reencoded_encrypted_and_0600(media_root):
    client = clerk_client()
    photo = jpeg_bytes(exif=gps_exif())
    response = post_case(client, JILIN, scan__birth_certificate=scan("bmc.jpg", photo))
    assert response.status_code == 302, response.content.decode()[:2000]
    material = Material.objects.get(code="birth_certificate")
    assert material.content_type == "image/jpeg"
    assert_sealed(media_root / material.file.name, photo)
    content = material_bytes(material)
    assert content != photo and b"SpyCam" not in content
    assert not Image.open(io.BytesIO(content)).getexif()
    record = AuditRecord.objects.get(action="material_stored")
    assert record.detail["reencoded"] is True and record.detail["scan"] == "off"


def test_the_counter_refuses_the_eicar_scan_and_fails_closed(media_root, settings, tmp_path):
    server = FakeClamd(tcp=True)
    settings.MALWARE_SCAN = "clamav"
    settings.CLAMD_SOCKET = server.address
    try:
        client = clerk_client()
        infected = pdf_bytes().replace(b"\n", b"\n%" + EICAR + b"\n", 1)
        response = post_case(client, JILIN, scan__birth_certificate=scan("bmc.pdf", infected))
        assert response.status_code == 200
        assert "《出生医学证明》：文件未通过病毒检查" in response.content.decode()
        assert Case.objects.count() == 0 and files_under(media_root) == []
        ok = post_case(client, JILIN, scan__birth_certificate=scan("bmc.pdf", pdf_bytes()))
        assert ok.status_code == 302
        assert AuditRecord.objects.get(action="material_stored").detail["scan"] == "clamav: OK"
    finally:
        server.close()
    settings.CLAMD_SOCKET = str(tmp_path / "gone.sock")
    down = post_case(clerk_client(), JILIN, scan__birth_certificate=scan("b.pdf", pdf_bytes()))
    assert down.status_code == 200 and "暂时无法完成病毒检查" in down.content.decode()
    assert Case.objects.count() == 1
