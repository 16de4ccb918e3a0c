"""Through a real browser: parenting guidance (科学育儿指导, issue 12 part 3; seed 002 六:
"实施儿童健康管理新生儿访视和体检时，对0-1岁婴儿的养育者提供喂养、辅食添加、心理行为发育、
意外伤害预防、常见疾病防治等科学育儿指导"). A mother of a 2-month-old sees the guidance for
that age and the next check-up's date on her phone; a health officer's edit stays invisible
to her until another health officer approves it."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.test import Client

from onestop.core.written import written
from onestop.guidance import domain
from onestop.guidance.models import Article, ArticleVersion
from onestop.guidance.tests.support import case_with_baby, today
from onestop.testing.factories import officer, parent
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

NEW_TITLE = "1～3月龄：多和宝宝面对面说话"


@pytest.fixture(autouse=True)
def shipped_content() -> None:
    """The shipped articles come with a data migration; an earlier browser test's flush
    (transactional tests empty every table) removes them, so they are loaded again."""
    if not Article.objects.exists():
        seed = import_module("onestop.guidance.migrations.0002_seed_articles")
        seed.load(django_apps, None)
    if not Article.objects.exclude(region="").exists():
        regional = "onestop.guidance.migrations.0003_article_region_and_regional_content"
        import_module(regional).load(django_apps, None)


def _signed_in(page: Any, phone: str, base: str) -> None:
    """The parent's session (her SMS sign-in is tested elsewhere), given to the browser."""
    client = Client()
    client.force_login(parent(phone))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def test_a_parent_sees_her_babys_guidance_and_a_draft_only_after_review(
    new_page, live_server, example
):
    case = case_with_baby(example("lanzhou-accept"), 65)
    born = today() - timedelta(days=65)
    age = domain.age_on(born, today())
    assert age.months == 2
    phone = str(case.typed_document().applicant.phone)

    # The mother, on her phone: from the case page to the guidance.
    mother = new_page(phone=True)
    _signed_in(mother, phone, live_server.url)
    mother.goto(f"/my/cases/{case.number}/")
    mother.click("#guidance-link a")
    mother.wait_for_url("**/my/guidance/")
    baby = mother.locator(f"section.guidance-baby[data-case='{case.number}']")
    assert baby.locator(".baby-age").inner_text() == age.words()  # 2个月…天
    nxt = baby.locator(".next-visit")
    assert nxt.get_attribute("data-visit") == "checkup_3m"
    assert "3月龄健康检查" in nxt.inner_text()
    assert written(domain.add_months(born, 3)) in nxt.inner_text()
    assert "～" not in nxt.inner_text()  # a check-up is a day, not a window
    # The 2-month guidance: 1–3 months' development, 0–6 months' feeding; not the
    # newborn's jaundice, not the 6-month complementary food.
    shown = baby.locator("details.guidance-article")
    codes = {shown.nth(i).get_attribute("data-article") for i in range(shown.count())}
    assert {"development_1_3", "breastfeeding_0_6", "safe_sleep", "infant_checkups"} <= codes
    assert not codes & {"jaundice", "complementary_rules", "development_9_12"}
    article = baby.locator("details[data-article='development_1_3']")
    article.locator("summary").click()
    assert "俯卧时不会抬头" in article.inner_text()
    # The visit calendar, opened: the past ones marked, dates as people write them.
    baby.locator("details.visits summary").click()
    assert baby.locator("tr[data-visit='home_visit']").get_attribute("data-when") == "past"
    assert baby.locator("tr[data-visit='checkup_6m']").get_attribute("data-when") == "coming"
    assert (
        written(domain.add_months(born, 6))
        in baby.locator("tr[data-visit='checkup_6m']").inner_text()
    )
    # Phone-friendly: nothing wider than the screen.
    assert mother.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # A health officer edits the article: saved as a draft, submitted for review.
    author = officer("health", "division", "6201", "王医生")
    reviewer = officer("health", "division", "6201", "李主任")
    staff = new_page()
    staff_login(staff, author.username)
    staff.click("nav >> text=育儿指导内容")
    staff.wait_for_url("**/work/guidance/")
    staff.click("tr[data-article='development_1_3'] td a")
    staff.click("a:has-text('修改')")
    staff.fill("#id_title", NEW_TITLE)
    staff.fill(
        "#id_body",
        "每天多和宝宝面对面说话、唱歌，回应宝宝的声音。\n3月龄时仍不会笑、不会抬头，请咨询医生。",
    )
    staff.click("button:has-text('保存草稿')")
    staff.wait_for_url("**/work/guidance/versions/*/")
    assert staff.get_attribute("#version-state", "data-state") == "draft"
    staff.click("button:has-text('提交审核')")
    assert staff.get_attribute("#version-state", "data-state") == "pending"
    # Her own version: no approve button for her.
    assert staff.locator("button:has-text('审核通过并发布')").count() == 0
    assert staff.locator("#own-pending").is_visible()
    version = ArticleVersion.objects.get(title=NEW_TITLE)
    assert version.state == "pending"

    # The mother still sees the published version only.
    mother.reload()
    text = mother.locator(f"section.guidance-baby[data-case='{case.number}']").inner_text()
    assert NEW_TITLE not in text and "1～3月龄：会笑、会抬头" in text

    # Another health officer approves it.
    second = new_page()
    staff_login(second, reviewer.username)
    second.goto("/work/guidance/")
    second.click(f"#pending tr[data-version='{version.pk}'] a:has-text('审核')")
    second.fill("#id_note", "内容准确，同意发布")
    second.click("button:has-text('审核通过并发布')")
    second.wait_for_selector("#version-state[data-state='published']")
    version.refresh_from_db()
    assert version.state == "published" and version.reviewer_id == reviewer.pk
    published = Article.objects.get(code="development_1_3").published
    assert published is not None and published.pk == version.pk

    # Now the mother sees the new version, and the old one is kept in the history.
    mother.reload()
    text = mother.locator(f"section.guidance-baby[data-case='{case.number}']").inner_text()
    assert NEW_TITLE in text and "1～3月龄：会笑、会抬头" not in text
    assert ArticleVersion.objects.filter(
        article__code="development_1_3", state="superseded", title="1～3月龄：会笑、会抬头"
    ).exists()


def test_a_yuanling_mother_sees_guidance_without_a_registration_item(
    new_page, live_server, example
):
    """Yuanling's seed (001) names no guidance item (ADR 0040 amendment): the accepted case
    is enough. She sees her 20-day-old's visits, the national articles for that age and
    Yuanling's own (the 90-day insurance payment), not another region's."""
    from onestop.guidance.tests.test_regions import _accepted

    case = _accepted(example("yuanling-accept-trustee"), 20)
    applicant = case.typed_document().applicant
    assert applicant is not None
    mother = new_page(phone=True)
    _signed_in(mother, str(applicant.phone), live_server.url)
    mother.goto(f"/my/cases/{case.number}/")
    mother.click("#guidance-link a")
    mother.wait_for_url("**/my/guidance/")
    baby = mother.locator(f"section.guidance-baby[data-case='{case.number}']")
    assert baby.get_attribute("data-registered") == "no"
    assert "不需要另行登记" in baby.inner_text()
    born = today() - timedelta(days=20)
    assert baby.locator(".baby-age").inner_text() == domain.age_on(born, today()).words()
    assert baby.locator(".next-visit").get_attribute("data-visit") == "full_month"
    shown = baby.locator("details.guidance-article")
    codes = {shown.nth(i).get_attribute("data-article") for i in range(shown.count())}
    assert {"jaundice", "yuanling_insurance_within_90_days"} <= codes
    assert not codes & {"fuzhou_vaccination_certificate", "lanzhou_guidance_services"}
    own = baby.locator("details[data-article='yuanling_insurance_within_90_days']")
    own.locator("summary").click()
    assert "90天内" in own.inner_text()
    baby.locator("details.guidance-contacts summary").click()
    assert "12345" in baby.locator("details.guidance-contacts").inner_text()
    assert mother.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
