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
from onestop.guidance import domain
from onestop.guidance.models import Article, ArticleVersion, GuidanceRegistration, Section
from onestop.guidance.services import ITEM
from onestop.workflow.models import ItemState


def today_in_beijing() -> date:
    return to_beijing(timezone.now()).date()


def age_range(version: ArticleVersion) -> domain.AgeRange:
    return domain.AgeRange(version.age_unit, version.age_start, version.age_end)  # type: ignore[arg-type]


def published_versions() -> QuerySet[ArticleVersion]:
    """What parents may read: only the published version of each article."""
    return ArticleVersion.objects.filter(state=ArticleVersion.State.PUBLISHED).select_related(
        "article"
    )


@dataclass
class SectionView:
    code: str
    name: str
    articles: list[ArticleVersion] = field(default_factory=list)


def published_pieces() -> list[domain.Piece]:
    """Every published article as the selection needs it (one query; a few dozen rows)."""
    return [domain.Piece(v, v.article.section, age_range(v)) for v in published_versions()]


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
    """One registered case as its parents see it on /my/guidance/."""

    case: Case
    registration: GuidanceRegistration
    born_on: date | None
    age: domain.Age | None
    visits: list[tuple[domain.Visit, str]]  # with its state today: past / now / coming
    next_visit: domain.Visit | None
    sections: list[SectionView]

    @property
    def twins(self) -> bool:
        return self.registration.newborns > 1


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


def parent_guidance(user: User, *, today: date | None = None) -> ParentGuidance:
    today = today or today_in_beijing()
    cases = parent_cases(user).defer("document", "decision", "signature")
    registrations = list(
        GuidanceRegistration.objects.filter(case__in=cases)
        .select_related("case")
        .order_by("-registered_at")
    )
    babies = []
    pieces = published_pieces() if registrations else []
    for registration in registrations:
        born_on = date.fromisoformat(registration.born_on) if registration.born_on else None
        if born_on is None:
            babies.append(BabyGuidance(registration.case, registration, None, None, [], None, []))
            continue
        age = domain.age_on(born_on, today)
        visits = domain.visit_schedule(born_on)
        babies.append(
            BabyGuidance(
                case=registration.case,
                registration=registration,
                born_on=born_on,
                age=age,
                visits=[(v, v.state_on(today)) for v in visits],
                next_visit=domain.next_visit(visits, today),
                sections=articles_for_age(age, pieces) if age.born and age.months < 12 else [],
            )
        )
    registered = [r.case_id for r in registrations]
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


def article_rows() -> list[ArticleRow]:
    articles = list(Article.objects.select_related("published").order_by("section", "pk"))
    open_versions = {
        v.article_id: v
        for v in ArticleVersion.objects.filter(state__in=ArticleVersion.OPEN_STATES).select_related(
            "author"
        )
    }
    order = {code: n for n, code in enumerate(domain.SECTIONS)}
    rows = [ArticleRow(a, a.published, open_versions.get(a.pk)) for a in articles]

    def key(row: ArticleRow) -> Any:
        shown = row.shown
        ages = age_range(shown).sort_key() if shown is not None else (0, 0)
        return (order.get(row.article.section, 99), ages, row.article.pk)

    return sorted(rows, key=key)


def pending_versions() -> QuerySet[ArticleVersion]:
    return (
        ArticleVersion.objects.filter(state=ArticleVersion.State.PENDING)
        .select_related("article", "author")
        .order_by("submitted_at")
    )
