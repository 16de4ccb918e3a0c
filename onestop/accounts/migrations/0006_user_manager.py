"""The user manager whose ``get_by_natural_key`` is compiled once per process (session 25:
the password sign-in's read of the user; no change to the database)."""

from django.db import migrations

import onestop.accounts.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_sessions"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", onestop.accounts.models.UserManager()),
            ],
        ),
    ]
