"""Session 29 (ADR 0025 amendment): the ``LIKE`` twins (``varchar_pattern_ops``) of the
case's unique ``number`` and ``idempotency_key`` and of the blind indexes ``id_index``
(persons) and ``key_index`` (newborn claims, social security card applications) go.
Every case inserts into these tables; no query matches these columns by prefix (a
number, an HMAC, an idempotency key are read whole: ``=`` or ``IN``, served by the unique
or plain index that stays; the API's "submitted by this client" is a prefix test in Python
of the case it read, and data migration ``integration 0002`` ran once before this one,
`onestop.common.index_migrations.like_twins_dropped`). And ``case_completed_at`` holds
the completed cases only (``WHERE completed_at IS NOT NULL``): the dashboards ask for a
range of ``completed_at``, the roll-ups for its least value (read with ``IS NOT NULL``),
and a case's INSERT and its UPDATEs before completion (none HOT) wrote a NULL entry."""

from django.db import migrations, models

from onestop.common.index_migrations import IndexAdded, IndexRemoved, like_twins_dropped


class Migration(migrations.Migration):
    # The indexes built and dropped CONCURRENTLY on PostgreSQL: the item and case writers
    # go on during an upgrade (`common.index_migrations.IndexAdded`).
    atomic = False

    dependencies = [
        ("cases", "0007_material_token_like_twin_dropped"),
        ("integration", "0002_case_submission_answers"),
    ]

    operations = [
        like_twins_dropped(
            [
                ("cases_case", "number", "cases_case_number_980c9551_like"),
                ("cases_case", "idempotency_key", "cases_case_idempotency_key_44e58801_like"),
                ("cases_person", "id_index", "cases_person_id_index_e3584164_like"),
                ("cases_newbornclaim", "key_index", "cases_newbornclaim_key_index_9b31dd16_like"),
                (
                    "cases_sscapplication",
                    "key_index",
                    "cases_sscapplication_key_index_069c3555_like",
                ),
            ]
        ),
        IndexRemoved(model_name="case", name="case_completed_at"),
        IndexAdded(
            model_name="case",
            index=models.Index(
                condition=models.Q(("completed_at__isnull", False)),
                fields=["completed_at"],
                name="case_completed_at",
            ),
        ),
    ]
