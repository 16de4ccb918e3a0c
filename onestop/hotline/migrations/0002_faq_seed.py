"""The FAQ the hotline starts with (data/faq.yaml): one answer per pre-review reason code
and the questions callers ask most. Entries already there (by key) are left as edited."""

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from onestop.hotline.services import faq_seed

    faq_seed(timezone.now(), model=apps.get_model("hotline", "FaqEntry"))


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
