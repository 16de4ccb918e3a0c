"""Session 29 (ADR 0025 amendment): the item's indexes on ``finished_at`` and its claimer
hold the finished and the claimed items only (``WHERE … IS NOT NULL``). An item is
inserted and readied and claimed before it finishes, and none of these UPDATEs is HOT
(each moves ``state``, which the open items' partial indexes read): each wrote an entry
with a NULL ``finished_at`` into ``(department, finished_at)`` and ``caseitem_finished_at``
and, before the claim, a NULL claimer into the foreign key's index. No query reads them:
the efficiency report and the roll-ups ask for a range of ``finished_at`` or its least
value (PostgreSQL reads ``min`` with ``IS NOT NULL``), a user's delete asks for the items
``claimed_by_id = …`` — each implies ``IS NOT NULL``, so the partial indexes serve them.

The claimer's field loses ``db_index`` in the models' state; in the database its index is
dropped by name, not by ``AlterField`` (on SQLite that rebuilds the table, which would lose
its trigger, ``workflow_caseitem_due_moved``; `field_indexes_replaced`)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from onestop.common.index_migrations import IndexAdded, IndexRemoved, field_indexes_replaced

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED = [
    ("workflow_caseitem", "claimed_by_id", "workflow_caseitem_claimed_by_id_91edd6f4", False),
]


class Migration(migrations.Migration):
    # The indexes built and dropped CONCURRENTLY on PostgreSQL: the item and case writers
    # go on during an upgrade (`common.index_migrations.IndexAdded`).
    atomic = False

    dependencies = [
        ("cases", "0007_material_token_like_twin_dropped"),
        ("workflow", "0015_caseitem_fewer_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        IndexRemoved(model_name="caseitem", name="workflow_ca_departm_2d2523_idx"),
        IndexRemoved(model_name="caseitem", name="caseitem_finished_at"),
        migrations.SeparateDatabaseAndState(
            database_operations=[field_indexes_replaced(DROPPED)],
            state_operations=[
                migrations.AlterField(
                    model_name="caseitem",
                    name="claimed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        IndexAdded(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(("finished_at__isnull", False)),
                fields=["department", "finished_at"],
                name="caseitem_department_finished",
            ),
        ),
        IndexAdded(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(("finished_at__isnull", False)),
                fields=["finished_at"],
                name="caseitem_finished_at",
            ),
        ),
        IndexAdded(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(("claimed_by__isnull", False)),
                fields=["claimed_by"],
                name="caseitem_claimed_by",
            ),
        ),
    ]
