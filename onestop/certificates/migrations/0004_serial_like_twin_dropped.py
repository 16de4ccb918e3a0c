"""Session 27 (ADR 0025 amendment): the ``LIKE`` twin of the e-licence's unique
``serial`` goes — every e-licence issued wrote to it, no query matches a serial by prefix
(the public verification asks for the whole serial: the unique index)
(`onestop.common.index_migrations.like_twins_dropped`)."""

from django.db import migrations

from onestop.common.index_migrations import like_twins_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0003_elicence_superseded"),
    ]

    operations = [
        like_twins_dropped(
            [("certificates_elicence", "serial", "certificates_elicence_serial_e3c8bb42_like")]
        ),
    ]
