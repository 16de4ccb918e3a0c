"""Session 23 (ADR 0025 amendment): the single-column indexes of ``workflow_caseitem`` that
no query needs. Every state change of an item writes one entry into every index of the
table (the UPDATE changes an indexed column, so it is never HOT), and the open items'
partial indexes and the composites serve every read: ``case_id`` is the first column of
``case_item_unique``; department, jurisdiction and division are read with the state
through ``caseitem_open_desk_due``, ``caseitem_open_division`` and the
``(department, jurisdiction_code, state, due_at)`` and ``(department, finished_at)``
indexes; the open states and due times through the open items' partial indexes (the
division's now with the returned items and the columns the efficiency report and the
deadlines page read); the returned items still lit and the provisional due times through
the small partial indexes added here.

The fields' ``db_index`` goes in the models' state; in the database the indexes are
dropped by name (``DROP INDEX``), not by ``AlterField``: on SQLite that rebuilds the table,
and the rebuilt table would lose its trigger (``workflow_caseitem_due_moved``, 0014). On
PostgreSQL a text column's index has a ``LIKE`` twin (``varchar_pattern_ops``), dropped too.
The names are Django's for these columns (a migration does not compute them from code that
may change)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from onestop.common.index_migrations import field_indexes_replaced

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED = [
    ("workflow_caseitem", "case_id", "workflow_caseitem_case_id_7737fd17", False),
    ("workflow_caseitem", "department", "workflow_caseitem_department_d02156ff", True),
    (
        "workflow_caseitem",
        "jurisdiction_code",
        "workflow_caseitem_jurisdiction_code_149b364d",
        True,
    ),
    ("workflow_caseitem", "division", "workflow_caseitem_division_4c6f5b2d", True),
    ("workflow_caseitem", "state", "workflow_caseitem_state_34817cad", True),
    ("workflow_caseitem", "due_at", "workflow_caseitem_due_at_2da50b2b", False),
    ("workflow_caseitem", "due_provisional", "workflow_caseitem_due_provisional_43684e06", False),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_dashboard_day_indexes"),
        ("workflow", "0014_caseitem_deadline_marks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[field_indexes_replaced(DROPPED)],
            state_operations=[
                migrations.AlterField(
                    model_name="caseitem",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="cases.case",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseitem",
                    name="department",
                    field=models.CharField(max_length=24, verbose_name="部门"),
                ),
                migrations.AlterField(
                    model_name="caseitem",
                    name="division",
                    field=models.CharField(default="", max_length=6, verbose_name="所属区划"),
                ),
                migrations.AlterField(
                    model_name="caseitem",
                    name="due_at",
                    field=models.DateTimeField(blank=True, null=True, verbose_name="办理期限"),
                ),
                migrations.AlterField(
                    model_name="caseitem",
                    name="due_provisional",
                    field=models.BooleanField(default=False, verbose_name="期限暂按双休日计算"),
                ),
                migrations.AlterField(
                    model_name="caseitem",
                    name="jurisdiction_code",
                    field=models.CharField(max_length=32, verbose_name="辖区"),
                ),
                migrations.AlterField(
                    model_name="caseitem",
                    name="state",
                    field=models.CharField(
                        choices=[
                            ("waiting", "等待前置事项"),
                            ("ready", "待办理"),
                            ("in_progress", "办理中"),
                            ("done", "已办结"),
                            ("returned", "待补正"),
                            ("refused", "不予办理"),
                            ("cancelled", "已取消"),
                        ],
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(("due_provisional", True)),
                fields=["due_at"],
                name="caseitem_due_provisional",
            ),
        ),
        # The open items of a division, with the returned ones and the columns the efficiency
        # report and the deadlines page read of them (index-only, as the dashboards' were).
        migrations.RemoveIndex(model_name="caseitem", name="caseitem_open_division"),
        migrations.AddIndex(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(("state__in", ["ready", "in_progress", "returned"])),
                fields=["division"],
                include=(
                    *("department", "item", "jurisdiction_kind", "jurisdiction_code"),
                    *("state", "due_at", "due_provisional", "id"),
                ),
                name="caseitem_open_division",
                opclasses=["varchar_pattern_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(
                    ("state", "returned"), models.Q(("urgency", "normal"), _negated=True)
                ),
                fields=["id"],
                name="caseitem_returned_lit",
            ),
        ),
    ]
