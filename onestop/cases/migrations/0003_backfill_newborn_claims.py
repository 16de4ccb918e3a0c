"""Claims for the cases filed before newborn claims existed (issue 8, defect 3).

The oldest active case of a newborn gets the active claim; a later active case of the same
newborn (a duplicate filed before the fix) gets its claim recorded but inactive, so the
issuing service still recognises the newborn and never issues its result twice. Staff see
such pairs as possible duplicates on the task page.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

ACTIVE = ("supplement", "in_progress", "completed")


def backfill(apps: Any, schema_editor: Any) -> None:
    from onestop.cases.domain.newborns import newborn_keys
    from onestop.common.fields import index_of

    Case = apps.get_model("cases", "Case")
    NewbornClaim = apps.get_model("cases", "NewbornClaim")
    now = timezone.now()
    taken: set[str] = set(
        NewbornClaim.objects.filter(active=True).values_list("key_index", flat=True)
    )
    rows = []
    for case in Case.objects.filter(status__in=ACTIVE).order_by("submitted_at", "pk").iterator():
        if NewbornClaim.objects.filter(case_id=case.pk).exists():
            continue
        document = case.document if isinstance(case.document, dict) else {}
        for key in newborn_keys(document):
            index = index_of(key.text, purpose="newborn")
            first = index not in taken
            taken.add(index)
            rows.append(
                NewbornClaim(
                    case_id=case.pk,
                    position=key.position,
                    kind=key.kind,
                    key_index=index,
                    active=first,
                    claimed_at=now,
                    released_at=None if first else now,
                )
            )
    NewbornClaim.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_newborn_claims")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
