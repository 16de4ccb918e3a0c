from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from onestop.cases.models import Material
from onestop.portal.models import DraftMaterial
from onestop.portal.stored_files import encrypt_in_place, tighten_tree


class Command(BaseCommand):
    help = (
        "Encrypt in place upload files stored in plaintext by older versions (draft and "
        "case materials) and set their modes to 0600/0700. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        drafts = DraftMaterial.objects.exclude(file="").values_list("file", flat=True)
        materials = Material.objects.exclude(file="").exclude(file__isnull=True)
        unknown = 0
        for label, names in (
            ("draft materials", drafts.iterator()),
            ("case materials", materials.values_list("file", flat=True).iterator()),
        ):
            counts = encrypt_in_place(default_storage, names)
            self.stdout.write(f"{label}: {counts}")
            unknown += counts.unknown
        self.stdout.write(f"modes tightened: {tighten_tree(default_storage)}")
        if unknown:
            raise CommandError(f"{unknown} file(s) are neither encrypted nor a PDF/JPEG/PNG")
