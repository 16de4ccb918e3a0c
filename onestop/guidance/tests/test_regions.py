"""Parenting guidance in every region (issue 12 part 3; ADR 0040, amendment 2026-11-26),
through HTTP with the database checked:

- Fuzhou (seed 003) and Yuanling (seed 001) name no guidance item: their parents see the
  visit calendar and the 0–1-year content from the accepted case, with no registration
  and no extra department step (pack ``guidance_without_item``);
- a region's own articles (``Article.region``) reach only that region's parents;
- a health officer (or supervisor) works only on the national articles and her own
  region's: another region's article answers 403 and nothing changes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.certificates.tests.test_preview import _with_record
from onestop.core.written import written
from onestop.guidance import domain
from onestop.guidance.models import Article, ArticleVersion, GuidanceRegistration
from onestop.guidance.services import (
    OUTSIDE_REGION,
    Draft,
    GuidanceRefused,
    article_approve,
    article_create,
    article_edit,
    article_submit,
    staff_regions,
)
from onestop.guidance.tests.support import born_days_ago, case_with_baby, today
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer, parent, staff
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _phone(case: Case) -> str:
    applicant = case.typed_document().applicant
    assert applicant is not None
    return str(applicant.phone)


def _accepted(document: dict[str, Any], days: int) -> Case:
    reference_seed()
    submitted = born_days_ago(document, days)
    if document["region"] == "fuzhou":
        _with_record(document)  # 自动调取产妇分娩信息进行核对
    case = case_submit(document=document, actor=None, now=submitted).case
    assert case.status == "in_progress", case.decision
    return case


def _codes(html: str, attribute: str = "data-article") -> set[str]:
    import re

    return set(re.findall(rf'{attribute}="([^"]+)"', html))


# --- Fuzhou and Yuanling: guidance without an item ---------------------------------------


@pytest.mark.parametrize(
    ("name", "own", "days"),
    [
        ("fuzhou-accept", "fuzhou_vaccination_certificate", 20),
        ("yuanling-accept-trustee", "yuanling_insurance_within_90_days", 20),
    ],
)
def test_parents_of_a_region_without_the_item_see_guidance_for_their_babys_age(
    example, settings, name, own, days
):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    case = _accepted(example(name), days)
    # No extra department step and no registration: the seed lists no such item.
    assert not CaseItem.objects.filter(case=case, item="parenting_guidance").exists()
    mother = _signed_in(parent(_phone(case)))
    page = mother.get("/my/guidance/")
    assert page.status_code == 200
    html = page.content.decode()
    section = html.split(f'data-case="{case.number}"')[1]
    assert section.startswith(' data-registered="no"')
    born = today() - timedelta(days=days)
    assert domain.age_on(born, today()).words() in section  # 出生第21天
    # The next visit is the 满月 one (the home visit counted from birth is past).
    assert 'data-visit="full_month"' in section.split('id="next-visit-')[1][:200]
    articles = _codes(section)
    assert "jaundice" in articles and "breastfeeding_0_6" in articles  # national, by age
    assert own in articles  # the region's own
    others = set(
        Article.objects.exclude(region__in=["", case.region]).values_list("code", flat=True)
    )
    assert others and not articles & others
    assert "不需要另行登记" in section and "12345" in section
    assert "您还没有登记科学育儿指导服务" not in html
    assert not GuidanceRegistration.objects.filter(case=case).exists()
    # The case page links to it.
    case_page = mother.get(f"/my/cases/{case.number}/")
    assert 'id="guidance-link"' in case_page.content.decode()


def test_a_refused_case_of_such_a_region_shows_no_baby(example, settings):
    """Only an accepted case: a refused application verified nothing about the baby."""
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    reference_seed()
    document = example("yuanling-reject-unnamed-divorced")
    submitted = born_days_ago(document, 10)
    case = case_submit(document=document, actor=None, now=submitted).case
    assert case.status == "rejected"
    html = _signed_in(parent(_phone(case))).get("/my/guidance/").content.decode()
    assert f'data-case="{case.number}"' not in html
    assert "您还没有登记科学育儿指导服务" in html


def test_a_region_with_the_item_sees_its_own_articles_not_the_others(example, settings):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    case = case_with_baby(example("lanzhou-accept"), 40)
    html = _signed_in(parent(_phone(case))).get("/my/guidance/").content.decode()
    section = html.split(f'data-case="{case.number}"')[1]
    assert section.startswith(' data-registered="yes"')
    articles = _codes(section)
    assert "lanzhou_guidance_services" in articles
    assert not articles & {
        "fuzhou_vaccination_certificate",
        "yuanling_insurance_within_90_days",
        "qinbei_visits_and_checkups",
        "jilin_zone_learning",
    }
    # Lanzhou's health commission number comes from the pack's contacts (seed 000).
    assert "0931-8408072" in section


# --- the editors' jurisdiction ------------------------------------------------------------


def _health(division: str, name: str = "") -> Any:
    return officer("health", "division", division, name)


def _form(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "body": "第一段。\n第二段。",
        "age_unit": "month",
        "age_start": 0,
        "age_end": 6,
    }


def test_staff_regions_follow_the_jurisdiction():
    reference_seed()
    assert staff_regions(_health("6201")) == {"lanzhou"}
    assert staff_regions(_health("350102")) == {"fuzhou"}
    assert staff_regions(_health("45")) == {"qinbei"}
    assert staff_regions(staff("supervisor", kind="division", code="22")) == {"jilin"}
    assert staff_regions(officer("health", "hospital", "lanzhou-mch")) == {"lanzhou"}
    assert staff_regions(officer("health", "hospital", "qinbei-xiaodong")) == {"qinbei"}
    assert staff_regions(officer("health", "hospital", "qinnan-demo")) == set()  # 450702
    assert staff_regions(officer("health", "division", "")) == set()


def test_an_officer_of_another_region_cannot_edit_or_publish_a_regions_article(settings):
    """403 through HTTP and the database unchanged; the attempt kept as refused access."""
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    reference_seed()
    article = Article.objects.get(code="fuzhou_vaccination_certificate")
    published = article.published
    assert published is not None
    lanzhou = _health("6201", "兰州卫健")
    outsider = _signed_in(lanzhou)
    # Not even listed for her.
    listing = outsider.get("/work/guidance/").content.decode()
    assert 'data-article="fuzhou_vaccination_certificate"' not in listing
    assert 'data-article="lanzhou_guidance_services"' in listing
    assert 'data-article="jaundice"' in listing  # national
    before = ArticleVersion.objects.count()
    assert outsider.get(f"/work/guidance/{article.pk}/").status_code == 403
    assert outsider.post(f"/work/guidance/{article.pk}/edit/", _form("外地改写")).status_code == 403
    assert ArticleVersion.objects.count() == before
    assert AccessRecord.objects.filter(actor=lanzhou, granted=False).count() == 2

    # Fuzhou's own officer drafts and submits; the Lanzhou officer cannot publish it.
    author = _health("350102", "福州卫健甲")
    draft = article_edit(actor=author, article_id=article.pk, draft=Draft(**_form("福州：新版")))
    article_submit(actor=author, version_id=draft.pk)
    assert (
        outsider.post(f"/work/guidance/versions/{draft.pk}/approve/", {"note": "好"}).status_code
        == 403
    )
    assert (
        outsider.post(f"/work/guidance/versions/{draft.pk}/return/", {"note": "改"}).status_code
        == 403
    )
    # Nor a supervisor of another region.
    supervisor = staff("supervisor", kind="division", code="62", name="兰州监管")
    assert (
        _signed_in(supervisor)
        .post(f"/work/guidance/versions/{draft.pk}/approve/", {"note": "好"})
        .status_code
        == 403
    )
    draft.refresh_from_db()
    article.refresh_from_db()
    assert draft.state == "pending" and draft.reviewer is None
    assert article.published_id == published.pk
    assert not AuditRecord.objects.filter(
        action__in=["guidance_published", "guidance_returned"], object_id=str(draft.pk)
    ).exists()
    # The service says the same (a stable code) to any other caller.
    with pytest.raises(GuidanceRefused) as refused:
        article_approve(actor=lanzhou, version_id=draft.pk)
    assert refused.value.code == OUTSIDE_REGION

    # Another Fuzhou health officer publishes it (the review step unchanged).
    reviewer = _signed_in(_health("350103", "福州卫健乙"))
    assert (
        reviewer.post(f"/work/guidance/versions/{draft.pk}/approve/", {"note": "好"}).status_code
        == 302
    )
    draft.refresh_from_db()
    assert draft.state == "published"


def test_a_new_article_is_national_or_for_the_authors_own_region(settings):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    reference_seed()
    yuanling = _health("431222", "沅陵卫健")
    client = _signed_in(yuanling)
    page = client.get("/work/guidance/new/").content.decode()
    assert 'value="yuanling"' in page and 'value="fuzhou"' not in page
    # Another region is not a choice: the form refuses, nothing is written.
    answer = client.post(
        "/work/guidance/new/", {"region": "fuzhou", "section": "local", **_form("外地")}
    )
    assert answer.status_code == 200
    assert not ArticleVersion.objects.filter(title="外地").exists()
    answer = client.post(
        "/work/guidance/new/", {"region": "yuanling", "section": "local", **_form("沅陵新内容")}
    )
    assert answer.status_code == 302
    version = ArticleVersion.objects.get(title="沅陵新内容")
    assert version.article.region == "yuanling" and version.state == "draft"
    with pytest.raises(GuidanceRefused) as refused:
        article_create(
            actor=yuanling, section="local", region="qinbei", draft=Draft(**_form("钦北"))
        )
    assert refused.value.code == OUTSIDE_REGION
    assert not Article.objects.filter(region="qinbei", versions__title="钦北").exists()


def test_the_403_says_why_in_chinese_with_its_code(settings):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    reference_seed()
    article = Article.objects.get(code="jilin_zone_learning")
    answer = _signed_in(_health("6201")).get(f"/work/guidance/{article.pk}/")
    assert answer.status_code == 403
    text = answer.content.decode()
    assert "只能由该地区的工作人员编辑和审核" in text and OUTSIDE_REGION in text


# --- the home visit from the discharge date -------------------------------------------------


def test_the_home_visit_counts_from_the_discharge_date_when_the_case_gives_it(example, settings):
    """国家基本公共卫生服务规范: 新生儿出院后1周内 家庭访视. The case document's optional
    ``newborns[].discharged_on`` moves the due date; without it the page says it counts
    from the birth date."""
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    document = example("yuanling-accept-trustee")
    born = today() - timedelta(days=3)
    discharged = today() - timedelta(days=1)
    document["newborns"][0]["discharged_on"] = discharged.isoformat()
    case = _accepted(document, 3)
    assert case.typed_document().newborns[0].discharged_on == discharged
    html = _signed_in(parent(_phone(case))).get("/my/guidance/").content.decode()
    section = html.split(f'data-case="{case.number}"')[1]
    nxt = section.split('id="next-visit-')[1][:600]
    assert 'data-visit="home_visit"' in nxt and 'data-counted-from="discharge"' in nxt
    assert written(discharged + timedelta(days=7)) in nxt
    assert written(born + timedelta(days=7)) not in nxt


def test_without_a_discharge_date_the_page_says_it_counts_from_birth(example, settings):
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    case = _accepted(example("yuanling-accept-trustee"), 3)
    born = today() - timedelta(days=3)
    html = _signed_in(parent(_phone(case))).get("/my/guidance/").content.decode()
    nxt = html.split('id="next-visit-')[1][:600]
    assert 'data-counted-from="birth"' in nxt and "按出生日期推算" in nxt
    assert written(born + timedelta(days=7)) in nxt


@pytest.mark.parametrize(("offset", "words"), [(-1, "不能早于出生日期"), (30, "不能晚于申请日期")])
def test_a_discharge_date_before_the_birth_or_after_the_application_is_refused(
    example, offset, words
):
    from django.utils import timezone

    from onestop.eligibility.check import check_case
    from onestop.policy.loader import default_packs
    from onestop.reference.domain import default_reference

    document = example("yuanling-accept-trustee")
    submitted = born_days_ago(document, 3)
    born = today() - timedelta(days=3)
    document["newborns"][0]["discharged_on"] = (born + timedelta(days=offset)).isoformat()
    decision = check_case(
        document, packs=default_packs(), reference=default_reference(), now=timezone.now()
    )
    assert submitted and decision.outcome != "accept"
    problems = [(r.code, r.detail, r.message) for r in decision.reasons]
    assert any(
        code == "field_invalid" and detail == "newborns[0].discharged_on" and words in message
        for code, detail, message in problems
    ), problems


@pytest.mark.parametrize(
    ("region", "offered"), [("fuzhou", "content"), ("yuanling", "content"), ("qinbei", "item")]
)
def test_the_public_service_guide_says_how_guidance_is_given(client, region, offered):
    """The same guide parents read at /guide/<region>/ (and 12345 operators use)."""
    html = client.get(f"/guide/{region}/").content.decode()
    assert f'id="guide-guidance" data-offered="{offered}"' in html
    if offered == "content":
        assert "无需另行登记" in html
