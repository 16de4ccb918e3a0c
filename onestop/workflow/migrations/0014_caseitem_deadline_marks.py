"""The deadline sweep's per-item marks (issue 10, part 4): which transitions are recorded
for the item's current due time, so that the sweep walks only what it has to record.

A trigger sets the marks back to 0 whenever ``due_at`` changes, whoever writes it (the
workflow's services, an administrator in psql): a due time that moved is warned about
again. Existing rows are filled from the ledger (``supervision_deadlineevent``)."""

from django.conf import settings
from django.db import migrations, models

# Keys: DeadlineEvent.Kind; bits: onestop.workflow.domain.urgency.DEADLINE_MARKS (copied:
# a migration does not import code that may change).
MARKS = {"warning": 1, "overdue": 2, "escalated_1": 4, "escalated_2": 8}
BITS = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in MARKS.items())
BACKFILL = f"""UPDATE workflow_caseitem SET deadline_marks = COALESCE((
    SELECT SUM(CASE e.kind {BITS} ELSE 0 END) FROM supervision_deadlineevent e
    WHERE e.item_id = workflow_caseitem.id AND e.due_at = workflow_caseitem.due_at), 0)
WHERE state IN ('ready', 'in_progress') AND due_at IS NOT NULL"""

PG_FORWARD = [
    """CREATE OR REPLACE FUNCTION workflow_caseitem_due_moved() RETURNS trigger AS $$
    BEGIN
        IF NEW.due_at IS DISTINCT FROM OLD.due_at THEN
            NEW.deadline_marks := 0;
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER workflow_caseitem_due_moved BEFORE UPDATE OF due_at ON workflow_caseitem "
    "FOR EACH ROW EXECUTE FUNCTION workflow_caseitem_due_moved()",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS workflow_caseitem_due_moved ON workflow_caseitem",
    "DROP FUNCTION IF EXISTS workflow_caseitem_due_moved()",
]
# SQLite cannot assign NEW in a BEFORE trigger: an AFTER trigger updates the row again
# (recursive triggers are off, so that update fires nothing).
SQLITE_FORWARD = [
    "CREATE TRIGGER workflow_caseitem_due_moved AFTER UPDATE OF due_at ON workflow_caseitem "
    "WHEN NEW.due_at IS NOT OLD.due_at BEGIN "
    "UPDATE workflow_caseitem SET deadline_marks = 0 WHERE id = NEW.id; END"
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS workflow_caseitem_due_moved"]


def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def forward(apps, schema_editor) -> None:
    _run(schema_editor, {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD})
    schema_editor.execute(BACKFILL)


def backward(apps, schema_editor) -> None:
    _run(schema_editor, {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_dashboard_day_indexes"),
        ("workflow", "0013_caseitem_open_desk_and_not_red"),
        ("supervision", "0005_dashboards"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="caseitem",
            name="deadline_marks",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(
                    ("state__in", ["ready", "in_progress"]), ("deadline_marks__lt", 8)
                ),
                fields=["due_at", "id"],
                name="caseitem_open_unescalated",
            ),
        ),
        migrations.AddIndex(
            model_name="caseitem",
            index=models.Index(
                condition=models.Q(
                    ("state__in", ["ready", "in_progress"]),
                    models.Q(("urgency", "normal"), _negated=True),
                ),
                fields=["due_at"],
                name="caseitem_open_lit",
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
