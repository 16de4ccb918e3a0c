"""Parenting guidance through HTTP with the database checked (ADR 0040): registration when
the item is done, the parents' page by their baby's age, and the review step (the author
cannot publish her own draft; parents never see a draft)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.core.written import written
from onestop.guidance import domain
from onestop.guidance.models import Article, ArticleVersion, GuidanceRegistration
from onestop.guidance.services import (
    Draft,
    GuidanceConflict,
    GuidanceRefused,
    article_approve,
    article_edit,
    article_return,
    article_submit,
)
from onestop.guidance.tests.support import born_days_ago, case_with_baby, guidance_row, today
from onestop.testing.factories import officer, parent, staff
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import ItemState
from onestop.workflow.tests.test_payment import accepted

pytestmark = pytest.mark.django_db


def _phone(case) -> str:
    return str(case.typed_document().applicant.phone)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _health(name: str = ""):
    return officer("health", "division", "6201", name)


# --- registration -----------------------------------------------------------------------


def test_the_guidance_item_done_registers_the_family(example):
    case = case_with_baby(example("lanzhou-accept"), 10, arranged="2026-11-28 上门访视")
    registration = GuidanceRegistration.objects.get(case=case)
    assert registration.item == guidance_row(case)
    assert registration.region == "lanzhou" and not registration.automatic
    assert registration.born_on == (today() - timedelta(days=10)).isoformat()
    assert registration.visit_arranged == "2026-11-28 上门访视"
    assert AuditRecord.objects.filter(
        action="guidance_registered", object_id=str(registration.pk)
    ).exists()


def test_the_completion_reads_the_newborns_once_for_licence_and_registration(example):
    """The e-licence and the registration of one completion name the same newborns: read
    once, in the completion's transaction (session 23, h-tidyapi: were read twice)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.workflow.services import item_complete

    document = another_newborn(example("lanzhou-accept"), 1)
    document["newborns"].append(
        dict(document["newborns"][0], name="马小苗", record_number="LZ-2026-8814")
    )
    case = case_with_baby(document, 12, register=False)
    row = guidance_row(case)
    health = officer("health", row.jurisdiction_kind, row.jurisdiction_code)
    with CaptureQueriesContext(connection) as queries:
        item_complete(item_id=row.pk, actor=health, result={})
    own = f'FROM "cases_newborn" WHERE "cases_newborn"."case_id" = {case.pk}'
    reads = [q["sql"] for q in queries if own in q["sql"]]
    assert len(reads) == 1, reads
    registration = GuidanceRegistration.objects.get(case=case)
    assert registration.newborns == 2
    assert registration.born_on == (today() - timedelta(days=12)).isoformat()


def test_jilin_registers_by_itself(example):
    """Jilin (seed 004): 科学育儿指导服务登记可在新生儿出生“一件事”专区查看 — automatic."""
    document = example("jilin-accept-counter")
    document["items"].append("parenting_guidance")
    born_days_ago(document, 20)
    case = accepted(document)  # filed by the counter's clerk
    assert guidance_row(case).state == ItemState.DONE
    assert GuidanceRegistration.objects.get(case=case).automatic


def test_no_registration_before_the_item_is_done(example):
    case = case_with_baby(example("lanzhou-accept"), 10, register=False)
    assert not GuidanceRegistration.objects.filter(case=case).exists()
    page = _signed_in(parent(_phone(case))).get("/my/guidance/")
    assert page.status_code == 200
    assert page.content.decode().count(f'class="card guidance-pending" data-case="{case.number}"')


# --- the parents' page ------------------------------------------------------------------


def test_a_parent_sees_the_guidance_for_her_babys_age_and_the_next_checkup(example):
    case = case_with_baby(example("lanzhou-accept"), 65)
    born = today() - timedelta(days=65)
    age = domain.age_on(born, today())
    assert age.months == 2
    page = _signed_in(parent(_phone(case))).get("/my/guidance/")
    assert page.status_code == 200
    html = page.content.decode()
    assert age.words() in html
    # The next check-up: 3 months of age, as people write the date.
    three = domain.add_months(born, 3)
    assert 'data-visit="checkup_3m"' in html.split('id="next-visit-')[1][:200]
    assert written(three) in html
    assert written(born) in html
    # 1–3 months' articles are there; the newborn's and the 6-month ones are not.
    assert 'data-article="development_1_3"' in html
    assert 'data-article="breastfeeding_0_6"' in html
    assert 'data-article="jaundice"' not in html
    assert 'data-article="complementary_rules"' not in html
    assert 'data-article="development_9_12"' not in html


def test_a_newborn_sees_the_home_visit_first(example):
    case = case_with_baby(example("lanzhou-accept"), 3)
    html = _signed_in(parent(_phone(case))).get("/my/guidance/").content.decode()
    assert 'data-visit="home_visit"' in html.split('id="next-visit-')[1][:200]
    assert 'data-article="jaundice"' in html and 'data-article="breastfeeding_start"' in html


def test_twins_share_the_birth_date(example):
    document = another_newborn(example("lanzhou-accept"), 1)
    document["newborns"].append(
        dict(document["newborns"][0], name="马小苗", record_number="LZ-2026-8813")
    )
    case = case_with_baby(document, 40)
    registration = GuidanceRegistration.objects.get(case=case)
    assert registration.newborns == 2
    html = _signed_in(parent(_phone(case))).get("/my/guidance/").content.decode()
    assert (
        "2个宝宝" in html and domain.age_on(today() - timedelta(days=40), today()).words() in html
    )


def test_only_the_cases_parents_see_it_and_staff_are_refused(example):
    case = case_with_baby(example("lanzhou-accept"), 65)
    other = _signed_in(parent("13912345678")).get("/my/guidance/")
    assert other.status_code == 200 and case.number not in other.content.decode()
    health = _health()
    before = AccessRecord.objects.filter(actor=health, granted=False).count()
    assert _signed_in(health).get("/my/guidance/").status_code == 404
    assert AccessRecord.objects.filter(actor=health, granted=False).count() == before + 1


def test_the_case_page_links_to_the_guidance(example):
    case = case_with_baby(example("lanzhou-accept"), 65)
    html = _signed_in(parent(_phone(case))).get(f"/my/cases/{case.number}/").content.decode()
    assert 'id="guidance-link"' in html and "/my/guidance/" in html


# --- the review step --------------------------------------------------------------------


def _article(code: str = "development_1_3") -> Article:
    return Article.objects.select_related("published").get(code=code)


def _published(code: str = "development_1_3") -> ArticleVersion:
    version = _article(code).published
    assert version is not None
    return version


def _form(title: str, body: str = "新的正文第一段。\n第二段。", unit="month", start=1, end=3):
    return {"title": title, "body": body, "age_unit": unit, "age_start": start, "age_end": end}


def test_the_shipped_content_is_published(example):
    assert Article.objects.count() >= 20
    assert not Article.objects.filter(published__isnull=True).exists()
    assert set(ArticleVersion.objects.values_list("state", flat=True)) == {"published"}


def test_a_draft_is_published_only_after_another_health_officer_approves(example):
    case = case_with_baby(example("lanzhou-accept"), 65)
    mother = _signed_in(parent(_phone(case)))
    author, reviewer = _health("王医生"), _health("李主任")
    article = _article()
    first = _published()
    writer = _signed_in(author)

    # The author edits: a new version (draft); the published one unchanged.
    answer = writer.post(
        f"/work/guidance/{article.pk}/edit/", _form("1～3月龄：逗笑和抬头（新版）")
    )
    assert answer.status_code == 302
    draft = ArticleVersion.objects.get(article=article, state="draft")
    assert draft.number == first.number + 1 and draft.author == author
    first.refresh_from_db()
    assert first.state == "published" and first.title == "1～3月龄：会笑、会抬头"
    assert "逗笑和抬头（新版）" not in mother.get("/my/guidance/").content.decode()

    # Submitted (待审核): parents still see the published version only.
    assert writer.post(f"/work/guidance/versions/{draft.pk}/submit/").status_code == 302
    draft.refresh_from_db()
    assert draft.state == "pending"
    html = mother.get("/my/guidance/").content.decode()
    assert "逗笑和抬头（新版）" not in html and "1～3月龄：会笑、会抬头" in html

    # The author cannot approve her own version: refused, nothing changes.
    page = writer.get(f"/work/guidance/versions/{draft.pk}/").content.decode()
    assert "审核通过并发布" not in page and 'id="own-pending"' in page
    answer = writer.post(f"/work/guidance/versions/{draft.pk}/approve/", {"note": ""})
    assert answer.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "pending" and draft.reviewer is None
    assert _article().published_id == first.pk
    assert not AuditRecord.objects.filter(action="guidance_published").exists()

    # Another health officer approves: published; the old version kept as superseded.
    other = _signed_in(reviewer)
    assert "审核通过并发布" in other.get(f"/work/guidance/versions/{draft.pk}/").content.decode()
    other.post(f"/work/guidance/versions/{draft.pk}/approve/", {"note": "内容准确"})
    draft.refresh_from_db()
    first.refresh_from_db()
    assert draft.state == "published" and draft.reviewer == reviewer
    assert first.state == "superseded"
    assert _article().published_id == draft.pk
    html = mother.get("/my/guidance/").content.decode()
    assert "逗笑和抬头（新版）" in html and "1～3月龄：会笑、会抬头" not in html

    # Every step in the article's audit stream, in order.
    actions = list(
        AuditRecord.objects.filter(stream=f"guidance-article-{article.pk}")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["guidance_draft_created", "guidance_submitted", "guidance_published"]
    # The history keeps both versions.
    history = writer.get(f"/work/guidance/{article.pk}/").content.decode()
    assert history.count('data-state="superseded"') == 1
    assert history.count('data-state="published"') == 1


def test_a_supervisor_may_approve_and_a_return_needs_a_note(example, settings):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    author = _health()
    article = _article("safe_sleep")
    version = article_edit(
        actor=author,
        article_id=article.pk,
        draft=Draft(**_form("安全睡眠（修订）", start=0, end=12)),
    )
    article_submit(actor=author, version_id=version.pk)
    supervisor = staff("supervisor", kind="division", code="62", name="卫健委监管员")
    with pytest.raises(GuidanceRefused):
        article_return(actor=supervisor, version_id=version.pk, note="  ")
    client = _signed_in(supervisor)
    client.post(f"/work/guidance/versions/{version.pk}/return/", {"note": "请补充仰卧睡的理由"})
    version.refresh_from_db()
    assert version.state == "returned" and version.review_note == "请补充仰卧睡的理由"
    assert _published("safe_sleep").title == "安全睡眠"
    # The author revises the same version, submits again; the supervisor publishes.
    again = article_edit(
        actor=author,
        article_id=article.pk,
        draft=Draft(**_form("安全睡眠（修订2）", start=0, end=12)),
    )
    assert again.number == version.number + 1 and again.state == "draft"
    version.refresh_from_db()
    assert version.state == "revised" and version.title == "安全睡眠（修订）"
    assert version.review_note == "请补充仰卧睡的理由"
    # Her draft is edited in place until she submits it.
    same = article_edit(
        actor=author,
        article_id=article.pk,
        draft=Draft(**_form("安全睡眠（修订2）", body="仰卧睡。\n不用枕头。", start=0, end=12)),
    )
    assert same.pk == again.pk and same.body == "仰卧睡。\n不用枕头。"
    article_submit(actor=author, version_id=again.pk)
    client.post(f"/work/guidance/versions/{again.pk}/approve/")
    assert _published("safe_sleep").title == "安全睡眠（修订2）"


def test_editing_rules(example):
    author, other = _health(), _health()
    article = _article("fever")
    version = article_edit(
        actor=author, article_id=article.pk, draft=Draft(**_form("发热", start=0, end=12))
    )
    # Another officer cannot edit someone else's draft …
    with pytest.raises(GuidanceConflict):
        article_edit(
            actor=other, article_id=article.pk, draft=Draft(**_form("发热2", start=0, end=12))
        )
    article_submit(actor=author, version_id=version.pk)
    # … nor may anyone edit while it is 待审核, nor submit another's version.
    with pytest.raises(GuidanceConflict):
        article_edit(
            actor=author, article_id=article.pk, draft=Draft(**_form("发热3", start=0, end=12))
        )
    with pytest.raises(GuidanceRefused):
        article_approve(actor=author, version_id=version.pk)
    # Bad age ranges and empty text are refused before anything is written.
    for bad in (
        _form("x", unit="month", start=3, end=2),
        _form("x", unit="month", start=0, end=13),
        _form(" ", start=0, end=1),
    ):
        with pytest.raises(GuidanceRefused):
            article_edit(actor=other, article_id=_article("eczema").pk, draft=Draft(**bad))
    assert not ArticleVersion.objects.filter(article__code="eczema", state="draft").exists()


def test_only_health_staff_and_supervisors_reach_the_editing_screens(example, settings):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    article = _article()
    police = officer("police", "police_station", "lanzhou-chengguan")
    for user in (police, parent("13900000001")):
        client = _signed_in(user)
        assert client.get("/work/guidance/").status_code == 404
        assert client.post(f"/work/guidance/{article.pk}/edit/", _form("偷改")).status_code == 404
    assert not ArticleVersion.objects.filter(title="偷改").exists()
    assert AccessRecord.objects.filter(actor=police, granted=False).count() == 2
    supervisor = staff("supervisor", kind="division", code="62")
    client = _signed_in(supervisor)
    assert client.get("/work/guidance/").status_code == 200
    # Supervisors review; they do not write.
    assert client.post(f"/work/guidance/{article.pk}/edit/", _form("监管改")).status_code == 404
    listing = _signed_in(_health()).get("/work/guidance/").content.decode()
    assert "喂养" in listing and "1～3月龄：会笑、会抬头" in listing


def test_a_new_article_is_invisible_until_approved(example):
    case = case_with_baby(example("lanzhou-accept"), 65)
    mother = _signed_in(parent(_phone(case)))
    author, reviewer = _signed_in(_health()), _health()
    answer = author.post(
        "/work/guidance/new/",
        {"section": "development", **_form("2月龄亲子阅读", start=2, end=3)},
    )
    assert answer.status_code == 302
    version = ArticleVersion.objects.get(title="2月龄亲子阅读")
    assert version.article.published is None
    author.post(f"/work/guidance/versions/{version.pk}/submit/")
    assert "2月龄亲子阅读" not in mother.get("/my/guidance/").content.decode()
    article_approve(actor=reviewer, version_id=version.pk)
    assert "2月龄亲子阅读" in mother.get("/my/guidance/").content.decode()


def test_age_selection_uses_the_birth_date(example):
    """Four ages, the articles that must and must not show."""
    expectations = {
        5: ({"breastfeeding_start", "home_visit", "jaundice"}, {"complementary_when"}),
        100: ({"development_3_6", "falls_and_burns"}, {"jaundice", "development_1_3"}),
        200: ({"complementary_rules", "breastfeeding_6_12"}, {"breastfeeding_0_6"}),
        300: ({"complementary_9_12", "development_9_12"}, {"complementary_rules"}),
    }
    for n, (days, (shown, hidden)) in enumerate(expectations.items()):
        document = example("lanzhou-accept")
        document["mother"]["phone"] = f"1370000{n:04d}"
        document["newborns"][0]["record_number"] = f"LZ-2026-90{n}"
        case = case_with_baby(document, days)
        html = _signed_in(parent(f"1370000{n:04d}")).get("/my/guidance/").content.decode()
        section = html.split(f'data-case="{case.number}"')[1]
        for code in shown:
            assert f'data-article="{code}"' in section, (days, code)
        for code in hidden:
            assert f'data-article="{code}"' not in section, (days, code)


def test_the_parents_page_reads_a_fixed_number_of_statements(example):
    """A second registered baby adds no statement (the articles are read once)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.testing.newborns import another_newborn

    first = case_with_baby(example("lanzhou-accept"), 65)
    client = _signed_in(parent(_phone(first)))
    client.get("/my/guidance/")  # sessions and caches warmed

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/my/guidance/").status_code == 200
        return len(queries)

    one = statements()
    second = case_with_baby(another_newborn(example("lanzhou-accept"), 1), 200)
    html = client.get("/my/guidance/").content.decode()
    assert f'data-case="{second.number}"' in html and f'data-case="{first.number}"' in html
    assert statements() == one
