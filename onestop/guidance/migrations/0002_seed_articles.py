"""Load the shipped 0–1-year content (onestop/guidance/data/articles.yaml) as each
article's first published version (ADR 0040). Articles already present are left alone, so
the health staff's edits are never overwritten; reversing removes only untouched ones."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.db import migrations
from django.utils import timezone

DATA = Path(__file__).resolve().parent.parent / "data" / "articles.yaml"


def load(apps, schema_editor):
    Article = apps.get_model("guidance", "Article")
    ArticleVersion = apps.get_model("guidance", "ArticleVersion")
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    now = timezone.now()
    for entry in data["articles"]:
        if Article.objects.filter(code=entry["code"]).exists():
            continue
        article = Article.objects.create(code=entry["code"], section=entry["section"], created_at=now)
        ages = entry["ages"]
        version = ArticleVersion.objects.create(
            article=article,
            number=1,
            title=entry["title"],
            body="\n".join(line.strip() for line in entry["body"].strip().splitlines() if line.strip()),
            age_unit=ages["unit"],
            age_start=ages["start"],
            age_end=ages["end"],
            state="published",
            author=None,
            created_at=now,
            updated_at=now,
            reviewed_at=now,
            source=data["source"][:200],
        )
        article.published = version
        article.save(update_fields=["published"])


def unload(apps, schema_editor):
    Article = apps.get_model("guidance", "Article")
    ArticleVersion = apps.get_model("guidance", "ArticleVersion")
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    for code in [entry["code"] for entry in data["articles"]]:
        article = Article.objects.filter(code=code).first()
        if article is None or article.versions.count() != 1:
            continue
        article.published = None
        article.save(update_fields=["published"])
        ArticleVersion.objects.filter(article=article).delete()
        article.delete()


class Migration(migrations.Migration):
    dependencies = [("guidance", "0001_articles_and_registrations")]

    operations = [migrations.RunPython(load, unload)]
