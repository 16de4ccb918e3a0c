"""Uploaded files on S3-compatible object storage (issue 10 item 5, ADR 0027): through the
storage API, encrypted by the product before they leave (ADR 0014) — the test reads each
object straight from the store (moto's server over real HTTP) and finds only ciphertext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from onestop.cases.models import Case, Material
from onestop.common.fields import cipher
from onestop.config.deployment import storage_from_url
from onestop.portal.models import DraftMaterial
from onestop.portal.tests.support import PDF, fill_qinbei, freeze, mother_client, post, step
from onestop.testing.disk import shares_a_window
from onestop.testing.factories import officer
from onestop.testing.object_store import ObjectStore, moto_store
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def test_storage_url_parsing():
    local = storage_from_url("", Path("/srv/media"))
    assert local["BACKEND"].endswith("FileSystemStorage")
    s3 = storage_from_url(
        "s3://files/onestop/media?endpoint_url=https://oss.example:9000&region_name=cn-1",
        Path("/unused"),
    )
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"] | {} == {
        "bucket_name": "files",
        "location": "onestop/media",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
        "signature_version": "s3v4",
        "endpoint_url": "https://oss.example:9000",
        "region_name": "cn-1",
    }
    for bad in ("http://files", "s3://", "s3://files?acl=public-read"):
        with pytest.raises(ImproperlyConfigured):
            storage_from_url(bad, Path("/unused"))


@pytest.fixture
def object_store(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[ObjectStore]:
    with moto_store(log=tmp_path / "moto.log") as store:
        for name, value in store.env.items():
            monkeypatch.setenv(name, value)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": storage_from_url(store.env["ONESTOP_STORAGE_URL"], tmp_path / "unused"),
        }
        settings.SMS_LOG = tmp_path / "sms.log"
        yield store


def test_uploads_live_encrypted_in_the_object_store_and_come_back_through_the_views(
    monkeypatch, object_store, django_capture_on_commit_callbacks
):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client)  # every material as a PDF, uploaded through the online application
    drafts = {m.file.name for m in DraftMaterial.objects.all()}
    stored = object_store.objects()
    assert {f"media/{name}" for name in drafts} == set(stored) and len(stored) == 5
    for blob in stored.values():
        assert b"%PDF" not in blob and not shares_a_window(PDF, blob)
        assert cipher().decrypt_bytes(blob) == PDF  # Fernet ciphertext of the upload

    with django_capture_on_commit_callbacks(execute=True):
        post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    materials = list(Material.objects.filter(case=case))
    stored = object_store.objects()
    # The draft's objects are gone with the draft; the case's materials are in the store.
    assert set(stored) == {f"media/{m.file.name}" for m in materials}
    for blob in stored.values():
        assert not shares_a_window(PDF, blob)
        assert cipher().decrypt_bytes(blob) == PDF
    record = next(m for m in materials if m.code == "delivery_record_page")
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    from django.test import Client

    staff = Client()
    staff.force_login(officer("hospital", "hospital", "qinbei-mch"))
    got = staff.get(f"/work/tasks/{bmc.pk}/materials/{record.token}/")
    assert got.status_code == 200 and got.content == PDF
    # Nothing in the store is readable without credentials (private bucket, no public ACL).
    import urllib.error
    import urllib.request

    key = next(iter(stored))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{object_store.endpoint}/{object_store.bucket}/{key}", timeout=5)
