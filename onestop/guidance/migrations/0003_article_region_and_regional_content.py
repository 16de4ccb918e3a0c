"""Articles for one region (``Article.region``, blank = national) and each region's own
articles (onestop/guidance/data/regional_articles.yaml) as their first published version
(ADR 0040, amendment 2026-11-26). Articles already present are left alone, so the health
staff's edits are never overwritten; reversing removes only untouched ones."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.db import migrations, models
from django.utils import timezone

DATA = Path(__file__).resolve().parent.parent / "data" / "regional_articles.yaml"


def _body(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())


def load(apps, schema_editor):
    Article = apps.get_model("guidance", "Article")
    ArticleVersion = apps.get_model("guidance", "ArticleVersion")
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    now = timezone.now()
    for entry in data["articles"]:
        if Article.objects.filter(code=entry["code"]).exists():
            continue
        article = Article.objects.create(
            code=entry["code"], section=entry["section"], region=entry["region"], created_at=now
        )
        ages = entry["ages"]
        version = ArticleVersion.objects.create(
            article=article,
            number=1,
            title=entry["title"],
            body=_body(entry["body"]),
            age_unit=ages["unit"],
            age_start=ages["start"],
            age_end=ages["end"],
            state="published",
            author=None,
            created_at=now,
            updated_at=now,
            reviewed_at=now,
            source=f"seed {entry['seed']}: " + "；".join(entry["quotes"])[:190],
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
    dependencies = [("guidance", "0002_seed_articles")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="region",
            field=models.CharField(blank=True, default="", max_length=32, verbose_name="适用地区"),
        ),
        migrations.AlterField(
            model_name="article",
            name="section",
            field=models.CharField(
                choices=[
                    ("feeding", "喂养"),
                    ("complementary_food", "辅食"),
                    ("development", "生长发育"),
                    ("injury_prevention", "伤害预防"),
                    ("common_illness", "常见病"),
                    ("visits", "家庭访视与体检"),
                    ("local", "本地服务"),
                ],
                max_length=24,
                verbose_name="栏目",
            ),
        ),
        migrations.RunPython(load, unload),
    ]
