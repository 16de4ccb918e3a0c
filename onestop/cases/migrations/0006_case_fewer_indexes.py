"""Session 23 (ADR 0025 amendment): one index per column a query reads on ``cases_case``,
whose every status change (never a HOT update: the status is indexed) wrote 28 index
entries. The blind indexes and the counter keep a plain index without its ``LIKE`` twin;
the division keeps its ``LIKE`` index (a supervisor's cases are matched by prefix; it
serves equality too) without the plain one; the region (first column of the
``(region, status, -submitted_at)`` index) and the status (no query reads it across
regions but by the completion time, ``case_completed_at``) have none of their own.

How the indexes are dropped and renamed in the database: `onestop.common.index_migrations`."""

from django.conf import settings
from django.db import migrations, models

from onestop.common.index_migrations import field_indexes_replaced

# (table, column, index, whether PostgreSQL has its ``_like`` twin)
DROPPED: list[tuple[str, str, str, bool]] = [
    ("cases_case", "region", "cases_case_region_f07025b7", True),
    ("cases_case", "status", "cases_case_status_95787cb3", True),
]
# (table, column, index, its new name): the index stays, its ``_like`` twin goes
RENAMED: list[tuple[str, str, str, str]] = [
    (
        "cases_case",
        "applicant_phone_index",
        "cases_case_applicant_phone_index_d8e78938",
        "case_applicant_phone_index",
    ),
    (
        "cases_case",
        "mother_phone_index",
        "cases_case_mother_phone_index_2db36850",
        "case_mother_phone_index",
    ),
    (
        "cases_case",
        "father_phone_index",
        "cases_case_father_phone_index_66dcea26",
        "case_father_phone_index",
    ),
    (
        "cases_case",
        "mother_id_index",
        "cases_case_mother_id_index_06593a49",
        "case_mother_id_index",
    ),
    (
        "cases_case",
        "father_id_index",
        "cases_case_father_id_index_f48aae2d",
        "case_father_id_index",
    ),
    ("cases_case", "counter_code", "cases_case_counter_code_a881dc19", "case_counter_code"),
]
# (table, column, index, its new name): the ``_like`` twin stays (renamed), the index goes
LIKE_KEPT: list[tuple[str, str, str, str]] = [
    ("cases_case", "division", "cases_case_division_e27e974c", "case_division")
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_dashboard_day_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[field_indexes_replaced(DROPPED, RENAMED, LIKE_KEPT)],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="applicant_phone_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="counter_code",
                    field=models.CharField(
                        blank=True, default="", max_length=32, verbose_name="受理窗口"
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="division",
                    field=models.CharField(
                        blank=True, default="", max_length=6, verbose_name="所属区划"
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="father_id_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="father_phone_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="mother_id_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="mother_phone_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="region",
                    field=models.CharField(max_length=32, verbose_name="地区"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("supplement", "待补正"),
                            ("rejected", "不予受理"),
                            ("in_progress", "办理中"),
                            ("completed", "已办结"),
                            ("withdrawn", "已撤回"),
                        ],
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(
                        fields=["applicant_phone_index"], name="case_applicant_phone_index"
                    ),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(
                        fields=["mother_phone_index"], name="case_mother_phone_index"
                    ),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(
                        fields=["father_phone_index"], name="case_father_phone_index"
                    ),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(fields=["mother_id_index"], name="case_mother_id_index"),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(fields=["father_id_index"], name="case_father_id_index"),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(fields=["counter_code"], name="case_counter_code"),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(
                        fields=["division"], name="case_division", opclasses=["varchar_pattern_ops"]
                    ),
                ),
            ],
        ),
    ]
