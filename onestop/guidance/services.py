"""The guidance writes (ADR 0040): a family registered when the case's guidance item is
done; health staff write a version of an article, submit it, and another health officer
(or a supervisor) publishes or returns it. Each is one transaction holding the change and
its audit record."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User, actor_label
from onestop.audit.services import audit_record
from onestop.cases.models import Case, Newborn
from onestop.certificates.services import newborns_read_with
from onestop.common.compiled import CompiledInsert, CompiledValues
from onestop.core.clock import parse_time, to_beijing
from onestop.core.errors import OnestopError
from onestop.guidance import domain
from onestop.guidance.models import (
    AgeUnit,
    Article,
    ArticleVersion,
    GuidanceRegistration,
    Section,
)
from onestop.policy.loader import default_packs
from onestop.reference.selectors import current_reference
from onestop.unified_form.model import region_divisions
from onestop.workflow.models import CaseItem, ItemState

ITEM = "parenting_guidance"
# The registration's INSERT (the guidance item's completion), built once per process
# (issue 10); ``save_new`` writes what ``objects.create`` wrote.
_REGISTRATION_INSERT: CompiledInsert[GuidanceRegistration] = CompiledInsert(GuidanceRegistration)
TITLE_MAX = 80
BODY_MAX = 4000
NOTE_MAX = 500


class GuidanceRefused(OnestopError):
    code = "guidance_refused"


class GuidanceConflict(OnestopError):
    code = "guidance_conflict"


OUTSIDE_REGION = "guidance_outside_region"
OUTSIDE_REGION_MESSAGE = "该文章属于其他地区，只能由该地区的工作人员编辑和审核"


# --- who may do what --------------------------------------------------------------------


def is_health_officer(user: Any) -> bool:
    """Health staff write the content (seed 002: 卫生健康局…负责…科学育儿指导服务登记事项)."""
    return bool(
        isinstance(user, User)
        and user.is_active
        and user.role == Role.OFFICER
        and user.department == "health"
    )


def is_guidance_staff(user: Any) -> bool:
    """Who sees the editing screens: health officers and supervisors."""
    return is_health_officer(user) or bool(
        isinstance(user, User) and user.is_active and user.role == Role.SUPERVISOR
    )


def staff_regions(user: Any) -> frozenset[str]:
    """The regions a staff member's jurisdiction lies in: a division prefix overlapping the
    divisions a region's pack covers (6201 → lanzhou; 45 → qinbei), or an institution
    (hospital, police station, service centre) located in one of them."""
    if not isinstance(user, User) or not user.jurisdiction_code:
        return frozenset()
    packs = default_packs()
    covered = {
        region: region_divisions(pack)
        for region in packs.regions
        if (pack := packs.current(region)) is not None
    }
    code = user.jurisdiction_code
    if user.jurisdiction_kind == JurisdictionKind.DIVISION:
        return frozenset(
            region
            for region, divisions in covered.items()
            if any(d.startswith(code) or code.startswith(d) for d in divisions)
        )
    place = current_reference().institution(user.jurisdiction_kind, code)  # type: ignore[arg-type]
    if place is None:
        return frozenset()
    return frozenset(
        region
        for region, divisions in covered.items()
        if any(place.division.startswith(d) for d in divisions)
    )


def in_article_region(user: Any, region: str) -> bool:
    """National content (blank region) is every health officer's and supervisor's to work
    on, as before; a region's own articles only its own staff's (ADR 0040 amendment)."""
    return region == "" or region in staff_regions(user)


def may_edit(user: Any, article: Article) -> bool:
    return is_health_officer(user) and in_article_region(user, article.region)


def may_review(user: Any, version: ArticleVersion) -> bool:
    """A reviewer is another health officer than the author, or a supervisor, of the
    article's region (any, for national content)."""
    if not isinstance(user, User) or not user.is_active:
        return False
    if not in_article_region(user, version.article.region):
        return False
    if user.role == Role.SUPERVISOR:
        return True
    return is_health_officer(user) and version.author_id != user.pk


def _refuse_outside(user: User, region: str) -> None:
    if not in_article_region(user, region):
        raise GuidanceRefused(
            "该文章属于其他地区，只能由该地区的工作人员编辑和审核", code=OUTSIDE_REGION
        )


# --- registration -----------------------------------------------------------------------


# The case's newborns' birth times in order, compiled once per process (issue 10: the
# guidance item's completion read them through Django's compiler every time).
_BORN_AT = CompiledValues(
    Newborn,
    lambda case_id: (
        Newborn.objects.filter(case_id=case_id).order_by("position").values_list("born_at")
    ),
    -7_340_029_311,
)


def born_on_of(case: Case, births: Sequence[str | None] | None = None) -> tuple[date | None, int]:
    """The newborns' birth date (twins share it: the first one given) and how many, from
    the case's newborn rows (small encrypted columns, not the whole document). ``births``:
    the rows' birth times in order where the caller has them (a completion: read once)."""
    times = list(births) if births is not None else [b for (b,) in _BORN_AT.rows(case.pk)]
    if not times:  # a case stored before the rows existed: the document says it
        newborns = case.typed_document().newborns
        born = next((b.born_at for b in newborns if b.born_at is not None), None)
        return (to_beijing(born).date() if born is not None else None), max(len(newborns), 1)
    for text in times:
        if text:
            try:
                return to_beijing(parse_time(text)).date(), len(times)
            except ValueError:
                continue
    return None, len(times)


def discharged_on_of(case: Case, born_on: date | None) -> date | None:
    """The day the baby left hospital, if the case document gives it (``newborns[].
    discharged_on``, optional; twins: the latest given) and it is not before the birth."""
    days = [b.discharged_on for b in case.typed_document().newborns if b.discharged_on]
    if not days:
        return None
    day = max(days)
    return day if born_on is None or day >= born_on else None


def guidance_register(
    *,
    case: Case,
    row: CaseItem,
    now: datetime,
    automatic: bool = False,
    completed_now: bool = False,
) -> GuidanceRegistration | None:
    """Register the family for guidance when the guidance item is done (inside the
    transaction of the completion; a replayed event registers nothing twice).

    ``completed_now``: the caller is the completion that just made the case's only
    guidance item done (done is final, and a registration is only made for a done
    item), so there is no registration yet and that is not asked (issue 10 part 2: one
    statement of the completion; were there one, the one-to-one link to the case
    refuses a second)."""
    if row.item != ITEM or row.state != ItemState.DONE:
        return None
    if not completed_now:
        existing = GuidanceRegistration.objects.filter(case=case).first()
        if existing is not None:
            return existing
    # The birth times the completion's e-licence read in this transaction (its effect runs
    # first), else read here (session 23, h-tidyapi: were read twice).
    named = newborns_read_with(row, case)
    born_on, count = born_on_of(case, None if named is None else [r[2] for r in named])
    result = row.result if isinstance(row.result, dict) else {}
    arranged = " ".join(str(result.get("visit_arranged") or "").split())[:100]
    # The workflow service holds the case's lock: no one registers it meanwhile (and a
    # second row would break the one-to-one constraint, never pass silently).
    registration = GuidanceRegistration(
        case=case,
        item=row,
        region=case.region,
        division=row.division or case.division,
        born_on=born_on.isoformat() if born_on else None,
        newborns=count,
        visit_arranged=arranged,
        automatic=automatic,
        registered_at=now,
    )
    _REGISTRATION_INSERT.save_new(registration)
    audit_record(
        stream=f"case-{case.number}",
        at=now,
        actor=None,
        actor_label="系统",
        action="guidance_registered",
        object_type="guidance_registration",
        object_id=str(registration.pk),
        detail={"case": case.number, "newborns": count, "automatic": automatic},
        # Its own stream, only ever written here, once per case (one-to-one): the new
        # registration starts it (one statement, session 26).
        new=completed_now,
    )
    return registration


# --- articles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What an author types (validated by ``clean``)."""

    title: str
    body: str
    age_unit: str
    age_start: int
    age_end: int

    def clean(self) -> Draft:
        title = " ".join(self.title.split())
        body = "\n".join(line.strip() for line in self.body.strip().splitlines() if line.strip())
        if not title:
            raise GuidanceRefused("请填写标题")
        if len(title) > TITLE_MAX:
            raise GuidanceRefused(f"标题不能超过{TITLE_MAX}个字")
        if not body:
            raise GuidanceRefused("请填写正文")
        if len(body) > BODY_MAX:
            raise GuidanceRefused(f"正文不能超过{BODY_MAX}个字")
        if self.age_unit not in AgeUnit.values:
            raise GuidanceRefused("适用年龄单位无效")
        try:
            domain.AgeRange(self.age_unit, self.age_start, self.age_end)  # type: ignore[arg-type]
        except ValueError:
            limit = "12个月" if self.age_unit == AgeUnit.MONTH else "366天"
            raise GuidanceRefused(f"适用年龄须为0～{limit}之间的有效范围（起 < 止）") from None
        return Draft(title, body, self.age_unit, self.age_start, self.age_end)


def _audit(
    version: ArticleVersion, action: str, actor: User | None, now: datetime, **more: Any
) -> None:
    audit_record(
        stream=f"guidance-article-{version.article_id}",
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type="guidance_article_version",
        object_id=str(version.pk),
        detail={
            "article": version.article.code,
            "region": version.article.region,
            "version": version.number,
            "state": version.state,
            "title": version.title,
            "ages": [version.age_unit, version.age_start, version.age_end],
            "body_sha256": hashlib.sha256(version.body.encode("utf-8")).hexdigest(),
            **more,
        },
    )


def _lock_version(version_id: int) -> ArticleVersion:
    try:
        version = ArticleVersion.objects.select_for_update().get(pk=version_id)
    except ArticleVersion.DoesNotExist:
        raise GuidanceRefused("文章版本不存在") from None
    Article.objects.select_for_update().filter(pk=version.article_id).first()
    return version


@transaction.atomic
def article_create(
    *,
    actor: User,
    section: str,
    draft: Draft,
    region: str = "",
    now: datetime | None = None,
) -> ArticleVersion:
    """A new article: its first version, a draft (parents see nothing until approved);
    national (``region`` blank) or for one region, the author's own."""
    now = now or timezone.now()
    if not is_health_officer(actor):
        raise GuidanceRefused("只有卫生健康部门工作人员可以编写育儿指导内容")
    if section not in Section.values:
        raise GuidanceRefused("栏目无效")
    _refuse_outside(actor, region)
    clean = draft.clean()
    article = Article.objects.create(
        code=f"new-{now:%Y%m%d%H%M%S%f}", section=section, region=region, created_at=now
    )
    article.code = f"article-{article.pk}"
    article.save(update_fields=["code"])
    version = ArticleVersion.objects.create(
        article=article,
        number=1,
        state=ArticleVersion.State.DRAFT,
        author=actor,
        created_at=now,
        updated_at=now,
        **_fields(clean),
    )
    _audit(version, "guidance_draft_created", actor, now)
    return version


def _fields(draft: Draft) -> dict[str, Any]:
    return {
        "title": draft.title,
        "body": draft.body,
        "age_unit": draft.age_unit,
        "age_start": draft.age_start,
        "age_end": draft.age_end,
    }


@transaction.atomic
def article_edit(
    *, actor: User, article_id: int, draft: Draft, now: datetime | None = None
) -> ArticleVersion:
    """Edit an article. A published version is never changed: the edit is a new version
    (a draft). The author's own draft is updated in place until it is submitted; revising
    a returned version makes the next version (the returned one kept with its note); a
    version 待审核 or another author's draft cannot be edited."""
    now = now or timezone.now()
    if not is_health_officer(actor):
        raise GuidanceRefused("只有卫生健康部门工作人员可以编写育儿指导内容")
    article = Article.objects.select_for_update().filter(pk=article_id).first()
    if article is None:
        raise GuidanceRefused("文章不存在")
    _refuse_outside(actor, article.region)
    clean = draft.clean()
    open_version = (
        ArticleVersion.objects.select_for_update()
        .filter(article=article, state__in=ArticleVersion.OPEN_STATES)
        .first()
    )
    if open_version is not None:
        if open_version.state == ArticleVersion.State.PENDING:
            raise GuidanceConflict("该文章有版本正在审核，审核完成前不能修改")
        if open_version.author_id != actor.pk:
            who = open_version.author.label() if open_version.author else "系统"
            raise GuidanceConflict(f"{who}正在修改该文章（第{open_version.number}版草稿）")
        if open_version.state == ArticleVersion.State.RETURNED:
            # The returned text stays as it was, with the reviewer's note; the revision
            # is the next version.
            open_version.state = ArticleVersion.State.REVISED
            open_version.updated_at = now
            open_version.save(update_fields=["state", "updated_at"])
            _audit(open_version, "guidance_revised", actor, now)
            return _new_version(article, actor, clean, now)
        for name, value in _fields(clean).items():
            setattr(open_version, name, value)
        open_version.state = ArticleVersion.State.DRAFT
        open_version.updated_at = now
        open_version.save()
        _audit(open_version, "guidance_draft_updated", actor, now)
        return open_version
    return _new_version(article, actor, clean, now)


def _new_version(article: Article, actor: User, clean: Draft, now: datetime) -> ArticleVersion:
    last = article.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = ArticleVersion.objects.create(
        article=article,
        number=last + 1,
        state=ArticleVersion.State.DRAFT,
        author=actor,
        created_at=now,
        updated_at=now,
        **_fields(clean),
    )
    _audit(version, "guidance_draft_created", actor, now)
    return version


@transaction.atomic
def article_submit(*, actor: User, version_id: int, now: datetime | None = None) -> ArticleVersion:
    """The author sends the draft for review (待审核)."""
    now = now or timezone.now()
    version = _lock_version(version_id)
    _refuse_outside(actor, version.article.region)
    if not is_health_officer(actor) or version.author_id != actor.pk:
        raise GuidanceRefused("只有该版本的编写人可以提交审核")
    if version.state not in (ArticleVersion.State.DRAFT, ArticleVersion.State.RETURNED):
        raise GuidanceConflict("该版本不是草稿，不能提交审核")
    version.state = ArticleVersion.State.PENDING
    version.submitted_at = now
    version.updated_at = now
    version.save()
    _audit(version, "guidance_submitted", actor, now)
    return version


@transaction.atomic
def article_approve(
    *, actor: User, version_id: int, note: str = "", now: datetime | None = None
) -> ArticleVersion:
    """Another health officer (or a supervisor) publishes the version: parents see it from
    now on, and the version they saw before is kept as superseded."""
    now = now or timezone.now()
    version = _lock_version(version_id)
    _refuse_outside(actor, version.article.region)
    if not may_review(actor, version):
        raise GuidanceRefused("审核人须为编写人以外的卫生健康部门工作人员或监督管理人员")
    if version.state != ArticleVersion.State.PENDING:
        raise GuidanceConflict("该版本不在待审核状态")
    note = " ".join(note.split())[:NOTE_MAX]
    article = version.article
    previous = article.published
    if previous is not None:
        previous.state = ArticleVersion.State.SUPERSEDED
        previous.updated_at = now
        previous.save(update_fields=["state", "updated_at"])
    version.state = ArticleVersion.State.PUBLISHED
    version.reviewer, version.reviewed_at, version.review_note = actor, now, note
    version.updated_at = now
    version.save()
    article.published = version
    article.save(update_fields=["published"])
    _audit(
        version,
        "guidance_published",
        actor,
        now,
        superseded=previous.number if previous is not None else None,
    )
    return version


@transaction.atomic
def article_return(
    *, actor: User, version_id: int, note: str, now: datetime | None = None
) -> ArticleVersion:
    """The reviewer sends the version back to its author with what to change."""
    now = now or timezone.now()
    version = _lock_version(version_id)
    _refuse_outside(actor, version.article.region)
    if not may_review(actor, version):
        raise GuidanceRefused("审核人须为编写人以外的卫生健康部门工作人员或监督管理人员")
    if version.state != ArticleVersion.State.PENDING:
        raise GuidanceConflict("该版本不在待审核状态")
    note = " ".join(note.split())
    if not note:
        raise GuidanceRefused("退回修改须填写审核意见")
    if len(note) > NOTE_MAX:
        raise GuidanceRefused(f"审核意见不能超过{NOTE_MAX}个字")
    version.state = ArticleVersion.State.RETURNED
    version.reviewer, version.reviewed_at, version.review_note = actor, now, note
    version.updated_at = now
    version.save()
    _audit(version, "guidance_returned", actor, now, note=note)
    return version
