"""Uploads of the online application and of supplements, attacked through HTTP (issue 8).

Issue 8, defect 2: "Uploads of the online application are stored in plaintext
(`draft_attach`: `media/drafts/<id>/<token>`, mode 0644, kept up to 30 days) although the
README promises encryption at rest." Hardening: "Uploads: check the whole file, not its
first bytes. Images are decoded with a pixel cap and re-encoded (drops EXIF, polyglots and
decompression bombs: a 30000×30000 PNG and a 900 MB bomb were accepted); PDFs are parsed
and rejected if they carry JavaScript or embedded files; a pluggable malware scan (ClamAV
where installed) with a clear verdict."
"""

from __future__ import annotations

import hashlib
import importlib
import io
import stat
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from onestop.audit.models import AuditRecord
from onestop.cases.models import Case, Material
from onestop.cases.uploads import material_bytes
from onestop.common.fields import cipher
from onestop.portal.models import Draft, DraftMaterial
from onestop.portal.services import draft_material_bytes
from onestop.portal.tests.support import (
    PDF,
    fill_qinbei,
    freeze,
    mother_client,
    pdf,
    post,
    step,
)
from onestop.testing.disk import assert_sealed, files_under
from onestop.testing.factories import officer
from onestop.testing.fake_clamd import FakeClamd
from onestop.testing.files import (
    EICAR,
    gps_exif,
    hostile_neutralised,
    hostile_refused,
    jpeg_bytes,
    pdf_bytes,
)
from onestop.testing.reliability import reliability_record
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

MATERIALS = step("qinbei", "materials")


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def field_codes(response, field: str) -> list[str]:
    errors = response.context["form"].errors.as_data().get(field, [])
    return [error.code for error in errors]


def on_disk(media_root: Path, name: str | None) -> Path:
    assert name
    return media_root / name


def test_draft_uploads_are_encrypted_0600_and_only_the_owner_reads_them_back(
    monkeypatch, media_root
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    photo = jpeg_bytes(exif=gps_exif())
    post(
        client,
        MATERIALS,
        {
            "file_mother_id_card": upload("id.jpg", photo),
            "file_father_id_card": pdf("father.pdf", PDF),
            "action": "upload",
        },
    )
    stored = {m.code: m for m in DraftMaterial.objects.all()}
    assert set(stored) == {"mother_id_card", "father_id_card"}
    for code, sent in (("mother_id_card", photo), ("father_id_card", PDF)):
        material = stored[code]
        blob = assert_sealed(on_disk(media_root, material.file.name), sent)
        assert cipher().decrypt_bytes(blob) == draft_material_bytes(material)
        assert material.checks["scan"] == "off"
    # The parent sees their own upload: the re-encoded photo (no EXIF), the PDF as sent.
    token = stored["mother_id_card"].token
    got = client.get(f"/my/apply/qinbei/files/{token}/")
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert "private" in got["Cache-Control"] and "no-store" in got["Cache-Control"]
    image = Image.open(io.BytesIO(got.content))
    assert image.size == (64, 48) and not image.getexif() and b"SpyCam" not in got.content
    pdf_token = stored["father_id_card"].token
    assert client.get(f"/my/apply/qinbei/files/{pdf_token}/").content == PDF
    # Nobody else: another parent, and staff, get a 404.
    assert mother_client("13700000000").get(f"/my/apply/qinbei/files/{token}/").status_code == 404
    assert officer_client().get(f"/my/apply/qinbei/files/{token}/").status_code == 404


def officer_client():
    from django.test import Client

    client = Client()
    client.force_login(officer("hospital", "hospital", "qinbei-mch"))
    return client


def test_the_submitted_case_keeps_the_files_encrypted_and_the_officer_gets_them(
    monkeypatch, media_root, django_capture_on_commit_callbacks
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client)  # every material as a PDF
    drafts = {m.code: (m.file.name, m.sha256) for m in DraftMaterial.objects.all()}
    with django_capture_on_commit_callbacks(execute=True):
        post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert not Draft.objects.exists()
    for name, _sha in drafts.values():  # the draft's files are gone with the draft
        assert not on_disk(media_root, name).exists()
    record = Material.objects.get(case=case, code="delivery_record_page")
    assert record.sha256 == drafts["delivery_record_page"][1]
    assert_sealed(on_disk(media_root, record.file.name), PDF)
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    got = officer_client().get(f"/work/tasks/{bmc.pk}/materials/{record.token}/")
    assert got.status_code == 200 and got.content == PDF
    # The verdict of the checks is in the case's audit chain (no personal data).
    checked = AuditRecord.objects.filter(stream=case.number, action="material_stored")
    assert checked.count() == 5
    assert {r.detail["scan"] for r in checked} == {"off"}
    assert {r.detail["kind"] for r in checked} == {"pdf"}


def test_hostile_uploads_to_the_online_application_are_refused_and_nothing_is_stored(
    monkeypatch, media_root
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    hostile = hostile_refused()
    accepted = 0
    for name, (filename, data, code) in hostile.items():
        response = post(
            client,
            MATERIALS,
            {"file_mother_id_card": upload(filename, data), "action": "next"},
            expect=200,
        )
        codes = field_codes(response, "file_mother_id_card")
        assert codes == [code], (name, codes)
        page = response.content.decode()
        assert "有文件未能上传" in page, name
        accepted += DraftMaterial.objects.count()
    # Nothing hostile on disk or in the database; the draft's other data stays.
    assert accepted == 0
    assert files_under(media_root) == []
    draft = Draft.objects.get()
    assert draft.document["father"]["name"] == "覃军"
    reliability_record("uploads", "hostile uploads tried (online application)", len(hostile))
    reliability_record("uploads", "hostile uploads accepted (online application)", accepted)


def test_cleaned_uploads_keep_only_the_reencoded_content(
    monkeypatch, media_root, django_capture_on_commit_callbacks
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    neutralised = hostile_neutralised()
    equal = 0
    for name, (filename, data, forbidden) in neutralised.items():
        with django_capture_on_commit_callbacks(execute=True):
            post(
                client,
                MATERIALS,
                {"file_mother_id_card": upload(filename, data), "action": "upload"},
            )
        material = DraftMaterial.objects.get(code="mother_id_card")
        blob = assert_sealed(on_disk(media_root, material.file.name), data)
        content = draft_material_bytes(material)
        equal += int(content == data) + int(blob == data)
        assert forbidden not in content, name
        assert material.sha256 == hashlib.sha256(content).hexdigest()
    assert len(files_under(media_root)) == 1  # each upload replaced the one before
    assert equal == 0
    reliability_record(
        "uploads", "polyglot/EXIF uploads tried (cleaned, not refused)", len(neutralised)
    )
    reliability_record("uploads", "stored files equal to the uploaded bytes", equal)


def test_a_hostile_supplement_is_refused_and_a_good_one_is_stored_encrypted(
    monkeypatch, media_root
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=("mother_id_card", "father_id_card", "marriage_certificate"))
    post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    url = f"/my/cases/{case.number}/supplement/"
    before = set(files_under(media_root))
    hostile = hostile_refused()
    for name, (filename, data, _code) in hostile.items():
        response = client.post(
            url,
            {
                "file_household_register": upload(filename, data),
                "file_delivery_record_page": pdf(),
            },
        )
        assert response.status_code == 200, name
        assert Material.objects.filter(case=case, code="household_register").count() == 0, name
    assert set(files_under(media_root)) == before
    case.refresh_from_db()
    assert case.status == "supplement"
    reliability_record("uploads", "hostile uploads tried (supplement)", len(hostile))
    reliability_record(
        "uploads",
        "hostile uploads accepted (supplement)",
        Material.objects.filter(case=case, code="household_register").count(),
    )
    photo = jpeg_bytes(exif=gps_exif())
    post(
        client,
        url,
        {"file_household_register": upload("hukou.jpg", photo), "file_delivery_record_page": pdf()},
    )
    hukou = Material.objects.get(case=case, code="household_register")
    assert_sealed(on_disk(media_root, hukou.file.name), photo)
    assert not Image.open(io.BytesIO(material_bytes(hukou))).getexif()


@pytest.fixture
def clamav(settings):
    server = FakeClamd()
    settings.MALWARE_SCAN = "clamav"
    settings.CLAMD_SOCKET = server.address
    settings.CLAMD_TIMEOUT = 2
    yield server
    server.close()


def test_with_clamav_on_the_eicar_file_is_refused_and_clean_files_carry_the_verdict(
    monkeypatch, media_root, clamav
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    tried = 0
    for filename, data in (
        ("eicar.pdf", EICAR),
        ("scan.pdf", pdf_bytes().replace(b"\n", b"\n%" + EICAR + b"\n", 1)),  # in a PDF
    ):
        tried += 1
        response = post(
            client,
            MATERIALS,
            {"file_mother_id_card": upload(filename, data), "action": "next"},
            expect=200,
        )
        assert field_codes(response, "file_mother_id_card") == ["upload_malware"]
        assert "未通过病毒检查" in response.content.decode()
    accepted = DraftMaterial.objects.count()
    assert accepted == 0 and files_under(media_root) == []
    post(client, MATERIALS, {"file_mother_id_card": pdf(), "action": "upload"})
    assert DraftMaterial.objects.get().checks["scan"] == "clamav: OK"
    assert len(clamav.scanned) == 3  # each upload scanned once (form and service share it)
    reliability_record("uploads", "malware test files tried (ClamAV on)", tried)
    reliability_record("uploads", "malware test files accepted (ClamAV on)", accepted)


def test_with_clamav_configured_but_down_uploads_are_refused_fail_closed(
    monkeypatch, media_root, settings, tmp_path
):
    freeze(monkeypatch)
    settings.MALWARE_SCAN = "clamav"
    settings.CLAMD_SOCKET = str(tmp_path / "missing.sock")
    client = mother_client()
    fill_qinbei(client, materials=())
    response = post(client, MATERIALS, {"file_mother_id_card": pdf(), "action": "next"}, expect=200)
    assert field_codes(response, "file_mother_id_card") == ["upload_scan_unavailable"]
    assert "暂时无法完成病毒检查" in response.content.decode()
    assert not DraftMaterial.objects.exists() and files_under(media_root) == []
    assert Draft.objects.get().document["father"]["name"] == "覃军"


def test_plaintext_draft_files_of_older_versions_are_encrypted_in_place(monkeypatch, media_root):
    """A draft attached before the fix: its file is plaintext (what the outside test saw).
    The data migration / `manage.py uploads_encrypt` encrypts it in place, idempotently;
    the draft still submits, its old material checked as a whole file on the way."""
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client)
    draft = Draft.objects.get()
    legacy = {}
    for material in draft.materials.all():  # turn them back into what version 0.x stored
        default_storage.delete(str(material.file.name))
        default_storage.save(str(material.file.name), ContentFile(PDF))
        material.checks = {}
        material.save(update_fields=["checks"])
        legacy[material.code] = on_disk(media_root, material.file.name)
        assert legacy[material.code].read_bytes() == PDF
    migration = importlib.import_module(
        "onestop.portal.migrations.0003_encrypt_plaintext_draft_files"
    )
    migration.encrypt_draft_files(django_apps, None)
    for path in legacy.values():
        assert cipher().decrypt_bytes(assert_sealed(path, PDF)) == PDF
    media_root.chmod(0o755)  # as older versions left the folders and files
    some = next(iter(legacy.values()))
    some.chmod(0o644)
    out = io.StringIO()
    call_command("uploads_encrypt", stdout=out)  # again: nothing left to encrypt
    assert "draft materials: encrypted 0, already encrypted 5" in out.getvalue()
    assert stat.S_IMODE(media_root.stat().st_mode) == 0o700
    assert stat.S_IMODE(some.stat().st_mode) == 0o600
    # Something that is neither ciphertext nor a known type is left alone and reported.
    odd = DraftMaterial.objects.get(code="household_register")
    default_storage.delete(str(odd.file.name))
    default_storage.save(str(odd.file.name), ContentFile(b"who knows"))
    with pytest.raises(CommandError):
        call_command("uploads_encrypt", stdout=io.StringIO())
    assert on_disk(media_root, odd.file.name).read_bytes() == b"who knows"
    default_storage.delete(str(odd.file.name))
    default_storage.save(str(odd.file.name), ContentFile(cipher().encrypt_bytes(PDF)))
    post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert Material.objects.filter(case=case).exclude(file="").count() == 5


def test_a_legacy_draft_material_that_fails_the_checks_is_not_carried_into_the_case(
    monkeypatch, media_root
):
    """Attached by an older version (only its first bytes were sniffed): when the draft is
    submitted it is checked as a whole file; a bomb stops the submission with a clear
    message, and the draft (with everything entered) stays."""
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client)
    material = DraftMaterial.objects.get(code="household_register")
    bomb = hostile_refused()["png_bomb_900mb"][1]
    default_storage.delete(str(material.file.name))
    default_storage.save(str(material.file.name), ContentFile(cipher().encrypt_bytes(bomb)))
    DraftMaterial.objects.filter(pk=material.pk).update(checks={}, content_type="image/png")
    response = client.post(
        step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"}, follow=True
    )
    page = response.content.decode()
    assert "图片尺寸过大" in page and "重新上传该材料" in page
    assert not Case.objects.exists() and not Material.objects.exists()
    assert Draft.objects.get().document["father"]["name"] == "覃军"
