from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("name", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("bucket", models.BigIntegerField()),
                ("hits", models.IntegerField()),
            ],
            options={"db_table": "onestop_rate_counter"},
        ),
    ]
