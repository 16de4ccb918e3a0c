"""Session 31 (ADR 22 amendment, h-seal): the e-licence's keyed seal check — a licence
sealed by this product is trusted by any process without a second SM2 verification of its
signature. Existing licences keep an empty check and are verified in full as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0004_serial_like_twin_dropped"),
    ]

    operations = [
        migrations.AddField(
            model_name="elicence",
            name="seal_check",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
