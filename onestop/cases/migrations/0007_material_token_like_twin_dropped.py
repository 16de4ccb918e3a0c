"""Session 27 (ADR 0025 amendment): the ``LIKE`` twin of the material's unique ``token``
goes — every material written wrote to it, no query matches a token by prefix
(`onestop.common.index_migrations.like_twins_dropped`)."""

from django.db import migrations

from onestop.common.index_migrations import like_twins_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_fewer_indexes"),
    ]

    operations = [
        like_twins_dropped([("cases_material", "token", "cases_material_token_48d28a7a_like")]),
    ]
