"""Encrypt, in place, draft material files that older versions stored in plaintext
(issue 8, ADR 0014). Idempotent: files already encrypted are left alone."""

from django.core.files.storage import default_storage
from django.db import migrations


def encrypt_draft_files(apps, schema_editor):
    from onestop.portal.stored_files import encrypt_in_place

    DraftMaterial = apps.get_model("portal", "DraftMaterial")
    names = DraftMaterial.objects.exclude(file="").values_list("file", flat=True).iterator()
    encrypt_in_place(default_storage, names)


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_draftmaterial_checks")]

    operations = [migrations.RunPython(encrypt_draft_files, migrations.RunPython.noop)]
