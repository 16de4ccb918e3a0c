"""Cases submitted through the API before the one idempotency service (issue 9) kept their
key and body digest on the case only: store their answers, so a resent submission is still
answered with its case."""

from django.db import migrations

PREFIX = "api:"


def forwards(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    ApiClient = apps.get_model("integration", "ApiClient")
    IdempotentResponse = apps.get_model("integration", "IdempotentResponse")
    clients = dict(ApiClient.objects.values_list("key_id", "pk"))
    cases = Case.objects.filter(idempotency_key__startswith=PREFIX).values_list(
        "number", "idempotency_key", "body_digest", "submitted_at"
    )
    answers = []
    for number, case_key, digest, submitted_at in cases.iterator():
        key_id, sep, key = case_key[len(PREFIX) :].partition(":")
        if not sep or key_id not in clients or not key:
            continue
        if IdempotentResponse.objects.filter(client_id=clients[key_id], key=key).exists():
            continue
        answers.append(
            IdempotentResponse(
                client_id=clients[key_id],
                key=key,
                request_digest=digest,
                status_code=201,
                body={"number": number},
                created_at=submitted_at,
            )
        )
    IdempotentResponse.objects.bulk_create(answers, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0001_initial"),
        ("cases", "0003_backfill_newborn_claims"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
