"""The guidance reads: the published articles for an age, a parent's registered babies with
their visit calendar, and the editors' lists (ADR 0040)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import cases_visible_to
from onestop.cases.models import Case, CaseStatus
from onestop.core.clock import to_beijing
from onestop.eligibility.guide_book import GuideContact, service_guide
from onestop.guidance import domain
from onestop.guidance.models import Article, ArticleVersion, GuidanceRegistration, Section
from onestop.guidance.services import ITEM, born_on_of, discharged_on_of
from onestop.policy.loader import default_packs
from onestop.workflow.models import ItemState


def today_in_beijing() -> date:
    return to_beijing(timezone.now()).date()


def age_range(version: ArticleVersion) -> domain.AgeRange:
    return domain.AgeRange(version.age_unit, version.age_start, version.age_end)  # type: ignore[arg-type]


def published_versions(region: str | None = None) -> QuerySet[ArticleVersion]:
    """What parents may read: only the published version of each article; for ``region``
    the national articles and that region's own (ADR 0040 amendment)."""
    versions = ArticleVersion.objects.filter(state=ArticleVersion.State.PUBLISHED).select_related(
        "article"
    )
    if region is not None:
        versions = versions.filter(article__region__in=["", region])
    return versions


@dataclass
class SectionView:
    code: str
    name: str
    articles: list[ArticleVersion] = field(default_factory=list)


def published_pieces(region: str | None = None) -> list[domain.Piece]:
    """Every published article (of ``region``: national and its own) as the selection needs
    it (one query; a few dozen rows)."""
    return [domain.Piece(v, v.article.section, age_range(v)) for v in published_versions(region)]


def articles_for_age(
    age: domain.Age, pieces: list[domain.Piece] | None = None
) -> list[SectionView]:
    """The published articles for ``age``, by section (sections without one left out)."""
    if pieces is None:
        pieces = published_pieces()
    sections: dict[str, SectionView] = {}
    labels = dict(Section.choices)
    for piece in domain.for_age(pieces, age):
        version = piece.key
        assert isinstance(version, ArticleVersion)
        view = sections.setdefault(
            piece.section, SectionView(piece.section, str(labels.get(piece.section, "")))
        )
        view.articles.append(version)
    return list(sections.values())


@dataclass
class BabyGuidance:
    """One case's baby (or babies) as the parents see them on /my/guidance/: registered by
    the guidance item, or, in a region that gives guidance without an item (Fuzhou,
    Yuanling; the pack's ``guidance_without_item``), from the accepted case itself."""

    case: Case
    registration: GuidanceRegistration | None
    born_on: date | None
    age: domain.Age | None
    visits: list[tuple[domain.Visit, str]]  # with its state today: past / now / coming
    next_visit: domain.Visit | None
    sections: list[SectionView]
    newborns: int = 1
    visit_arranged: str = ""
    contacts: list[GuideContact] = field(default_factory=list)
    # The home visit is counted from the discharge date when the case gives one.
    discharged_on: date | None = None

    @property
    def twins(self) -> bool:
        return self.newborns > 1


@dataclass
class ParentGuidance:
    babies: list[BabyGuidance]
    pending: list[Case]  # guidance item offered, not yet done
    today: date


def parent_cases(user: User) -> QuerySet[Case]:
    """The signed-in parent's own cases (staff get none: parents' pages are theirs)."""
    if user.role != Role.PARENT:
        return Case.objects.none()
    return cases_visible_to(user, Case.objects.all())


def regions_without_item() -> list[str]:
    """The regions whose parents get guidance without a registration item."""
    packs = default_packs()
    return [
        region
        for region in packs.regions
        if (pack := packs.current(region)) is not None and pack.guidance == "content"
    ]


ACCEPTED = (CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED)


def guidance_contacts(region: str) -> list[GuideContact]:
    """The numbers the region's parents ring about guidance: the pack's contacts for the
    guidance item or the whole service, and 12345 (the service guide's, one definition)."""
    pack = default_packs().current(region)
    if pack is None:
        return []
    return [c for c in service_guide(pack).contacts if not c.items or ITEM in c.items]


def _baby(
    case: Case,
    registration: GuidanceRegistration | None,
    born_on: date | None,
    newborns: int,
    today: date,
    pieces: dict[str, list[domain.Piece]],
) -> BabyGuidance:
    arranged = registration.visit_arranged if registration is not None else ""
    contacts = guidance_contacts(case.region)
    if born_on is None:
        return BabyGuidance(
            case, registration, None, None, [], None, [], newborns, arranged, contacts
        )
    age = domain.age_on(born_on, today)
    discharged_on = discharged_on_of(case, born_on)
    visits = domain.visit_schedule(born_on, discharged_on=discharged_on)
    if age.born and age.months < 12 and case.region not in pieces:
        pieces[case.region] = published_pieces(case.region)
    return BabyGuidance(
        case=case,
        registration=registration,
        born_on=born_on,
        age=age,
        visits=[(v, v.state_on(today)) for v in visits],
        next_visit=domain.next_visit(visits, today),
        sections=articles_for_age(age, pieces[case.region]) if age.born and age.months < 12 else [],
        newborns=newborns,
        visit_arranged=arranged,
        contacts=contacts,
        discharged_on=discharged_on,
    )


def parent_guidance(user: User, *, today: date | None = None) -> ParentGuidance:
    today = today or today_in_beijing()
    cases = parent_cases(user).defer("decision", "signature")
    registrations = list(
        GuidanceRegistration.objects.filter(case__in=cases)
        .select_related("case")
        .order_by("-registered_at")
    )
    pieces: dict[str, list[domain.Piece]] = {}
    babies = []
    for registration in registrations:
        born_on = date.fromisoformat(registration.born_on) if registration.born_on else None
        babies.append(
            _baby(registration.case, registration, born_on, registration.newborns, today, pieces)
        )
    registered = [r.case_id for r in registrations]
    # Fuzhou and Yuanling: no item to wait for; the accepted case is enough.
    without_item = regions_without_item()
    if without_item:
        for case in (
            cases.filter(region__in=without_item, status__in=ACCEPTED)
            .exclude(pk__in=registered)
            .order_by("-submitted_at")
        ):
            born_on, count = born_on_of(case)
            babies.append(_baby(case, None, born_on, count, today, pieces))
    open_states = [ItemState.WAITING, ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED]
    pending = list(
        cases.filter(status=CaseStatus.IN_PROGRESS, items__item=ITEM, items__state__in=open_states)
        .exclude(pk__in=registered)
        .distinct()
    )
    return ParentGuidance(babies=babies, pending=pending, today=today)


# --- the editors' lists -----------------------------------------------------------------


@dataclass
class ArticleRow:
    article: Article
    published: ArticleVersion | None
    open: ArticleVersion | None

    @property
    def shown(self) -> ArticleVersion | None:
        return self.open or self.published


def article_rows(regions: list[str]) -> list[ArticleRow]:
    """The national articles and those of ``regions`` (the reader's), with their versions."""
    articles = list(
        Article.objects.filter(region__in=["", *regions])
        .select_related("published")
        .order_by("section", "pk")
    )
    open_versions = {
        v.article_id: v
        for v in ArticleVersion.objects.filter(
            state__in=ArticleVersion.OPEN_STATES, article__region__in=["", *regions]
        ).select_related("author")
    }
    order = {code: n for n, code in enumerate(domain.SECTIONS)}
    rows = [ArticleRow(a, a.published, open_versions.get(a.pk)) for a in articles]

    def key(row: ArticleRow) -> Any:
        shown = row.shown
        ages = age_range(shown).sort_key() if shown is not None else (0, 0)
        return (order.get(row.article.section, 99), ages, row.article.pk)

    return sorted(rows, key=key)


def pending_versions(regions: list[str]) -> QuerySet[ArticleVersion]:
    """The versions 待审核 of national articles and of ``regions``' own."""
    return (
        ArticleVersion.objects.filter(
            state=ArticleVersion.State.PENDING, article__region__in=["", *regions]
        )
        .select_related("article", "author")
        .order_by("submitted_at")
    )
