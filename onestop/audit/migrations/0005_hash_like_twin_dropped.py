"""Session 27 (ADR 0025 amendment): the ``LIKE`` twin of the unique ``hash`` goes — every
audit record wrote to it, no query matches a hash by prefix
(`onestop.common.index_migrations.like_twins_dropped`)."""

from django.db import migrations

from onestop.common.index_migrations import like_twins_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditrecord_stream_index"),
    ]

    operations = [
        like_twins_dropped([("audit_auditrecord", "hash", "audit_auditrecord_hash_87b6f64b_like")]),
    ]
