"""The guidance screens (ADR 0040): the parents' /my/guidance/ (their baby's age, the visit
calendar and the published articles for that age, phone first) and the health staff's
/work/guidance/ (articles, versions, the review step). Thin: reads from the selectors,
writes through the services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from onestop.accounts.models import User
from onestop.accounts.permissions import parent_page_refuse
from onestop.audit.services import access_record
from onestop.guidance import services
from onestop.guidance.models import AgeUnit, Article, ArticleVersion, Section
from onestop.guidance.selectors import (
    age_range,
    article_rows,
    parent_guidance,
    pending_versions,
)
from onestop.guidance.services import (
    Draft,
    GuidanceConflict,
    GuidanceRefused,
    in_article_region,
    is_guidance_staff,
    is_health_officer,
    may_edit,
    may_review,
    staff_regions,
)
from onestop.policy.loader import default_packs

# --- parents ----------------------------------------------------------------------------


@login_required(login_url="accounts:parent_login")
def my_guidance(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if user.role != "parent":
        parent_page_refuse(user, what="guidance:my")
    return render(request, "guidance/my.html", {"guidance": parent_guidance(user)})


# --- health staff -----------------------------------------------------------------------


def _staff(request: HttpRequest, what: str = "guidance:work") -> User:
    """Health officers and supervisors; any other signed-in user gets 404 (staff's
    attempts kept as refused access records)."""
    user = request.user
    if not is_guidance_staff(user):
        if isinstance(user, User) and user.is_staff_role:
            access_record(actor=user, case_number="-", what=what, at=timezone.now(), granted=False)
        raise Http404(_("页面不存在"))
    assert isinstance(user, User)
    return user


class ArticleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("标题"), max_length=services.TITLE_MAX)
    body = forms.CharField(
        label=gettext_lazy("正文"),
        max_length=services.BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy(
            "每段一行；请使用通俗易懂的语言，内容应符合国家儿童健康管理服务规范"
        ),
    )
    age_unit = forms.ChoiceField(label=gettext_lazy("适用年龄单位"), choices=AgeUnit.choices)
    age_start = forms.IntegerField(
        label=gettext_lazy("适用年龄起（含）"), min_value=0, max_value=366
    )
    age_end = forms.IntegerField(
        label=gettext_lazy("适用年龄止（不含）"), min_value=1, max_value=366
    )

    def draft(self) -> Draft:
        data = self.cleaned_data
        return Draft(
            title=data["title"],
            body=data["body"],
            age_unit=data["age_unit"],
            age_start=data["age_start"],
            age_end=data["age_end"],
        )


class NewArticleForm(ArticleForm):
    region = forms.ChoiceField(
        label=gettext_lazy("适用地区"),
        required=False,
        help_text=gettext_lazy(
            "全国通用的内容所有地区的家长都能看到；本地区内容只有本地区的家长能看到"
        ),
    )
    section = forms.ChoiceField(label=gettext_lazy("栏目"), choices=Section.choices)
    field_order = ["region", "section", "title", "body", "age_unit", "age_start", "age_end"]

    def __init__(self, *args: Any, regions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["region"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("全国通用")), *regions]


def _region_choices(user: User) -> list[tuple[str, str]]:
    packs = default_packs()
    return [
        (region, pack.name if (pack := packs.current(region)) is not None else region)
        for region in sorted(staff_regions(user))
    ]


@login_required
def work_list(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    regions = sorted(staff_regions(user))
    pending = list(pending_versions(regions))
    return render(
        request,
        "guidance/work_list.html",
        {
            "rows": article_rows(regions),
            "pending": [(v, may_review(user, v)) for v in pending],
            "can_edit": is_health_officer(user),
        },
    )


def _outside(user: User, region: str, what: str) -> None:
    """Another region's article: 403, and the attempt kept as a refused access record."""
    if not in_article_region(user, region):
        access_record(actor=user, case_number="-", what=what, at=timezone.now(), granted=False)
        raise PermissionDenied(services.OUTSIDE_REGION)


def _region_guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer another region's article with a 403 page that says why (and its code)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied:
            message = _("该文章属于其他地区，只能由该地区的工作人员编辑和审核")
            return render(
                request,
                "errors/status.html",
                {
                    "status": 403,
                    "title": _("无权操作"),
                    "message": f"{message}（{services.OUTSIDE_REGION}）",
                },
                status=403,
            )

    return guarded


def _article(article_id: int, user: User) -> Article:
    article = Article.objects.select_related("published").filter(pk=article_id).first()
    if article is None:
        raise Http404(_("文章不存在"))
    _outside(user, article.region, f"guidance:article:{article.pk}")
    return article


@_region_guarded
@login_required
def article_detail(request: HttpRequest, article_id: int) -> HttpResponse:
    user = _staff(request)
    article = _article(article_id, user)
    versions = list(article.versions.select_related("author", "reviewer").order_by("-number"))
    return render(
        request,
        "guidance/article.html",
        {
            "article": article,
            "versions": [(v, age_range(v).words()) for v in versions],
            "can_edit": may_edit(user, article),
        },
    )


def _form_initial(version: ArticleVersion | None) -> dict[str, Any]:
    if version is None:
        return {"age_unit": AgeUnit.MONTH, "age_start": 0, "age_end": 12}
    return {
        "title": version.title,
        "body": version.body,
        "age_unit": version.age_unit,
        "age_start": version.age_start,
        "age_end": version.age_end,
    }


@_region_guarded
@login_required
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    user = _staff(request)
    article = _article(article_id, user)
    if not is_health_officer(user):
        raise Http404(_("页面不存在"))
    open_version = article.versions.filter(state__in=ArticleVersion.OPEN_STATES).first()
    start_from = open_version or article.published
    form = ArticleForm(request.POST or None, initial=_form_initial(start_from))
    if request.method == "POST" and form.is_valid():
        try:
            version = services.article_edit(actor=user, article_id=article.pk, draft=form.draft())
        except (GuidanceRefused, GuidanceConflict) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("已保存为第%(n)s版草稿，提交审核并通过后家长才能看到") % {"n": version.number},
            )
            return redirect("guidance:version", version_id=version.pk)
    return render(
        request,
        "guidance/edit.html",
        {"article": article, "form": form, "open_version": open_version},
    )


@login_required
def article_new(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    if not is_health_officer(user):
        raise Http404(_("页面不存在"))
    regions = _region_choices(user)
    initial = _form_initial(None)
    if len(regions) == 1:
        initial["region"] = regions[0][0]
    form = NewArticleForm(request.POST or None, initial=initial, regions=regions)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.article_create(
                actor=user,
                section=form.cleaned_data["section"],
                region=form.cleaned_data["region"] or "",
                draft=form.draft(),
            )
        except (GuidanceRefused, GuidanceConflict) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已保存为草稿，提交审核并通过后家长才能看到"))
            return redirect("guidance:version", version_id=version.pk)
    return render(request, "guidance/edit.html", {"article": None, "form": form})


def _version(version_id: int, user: User) -> ArticleVersion:
    version = (
        ArticleVersion.objects.select_related("article", "author", "reviewer")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise Http404(_("文章版本不存在"))
    _outside(user, version.article.region, f"guidance:version:{version.pk}")
    return version


@_region_guarded
@login_required
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _staff(request)
    version = _version(version_id, user)
    pending = version.state == ArticleVersion.State.PENDING
    published = version.article.published
    return render(
        request,
        "guidance/version.html",
        {
            "version": version,
            "ages": age_range(version).words(),
            "paragraphs": version.body.splitlines(),
            "published": published if published and published.pk != version.pk else None,
            "can_submit": version.author_id == user.pk
            and version.state in (ArticleVersion.State.DRAFT, ArticleVersion.State.RETURNED),
            "can_review": pending and may_review(user, version),
            "own_pending": pending and version.author_id == user.pk,
            "can_edit": may_edit(user, version.article)
            and (not version.is_open or version.author_id == user.pk)
            and not pending,
        },
    )


def _act(request: HttpRequest, version_id: int, run: Any, done: str) -> HttpResponse:
    try:
        run()
    except (GuidanceRefused, GuidanceConflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("guidance:version", version_id=version_id)


@_region_guarded
@require_POST
@login_required
def version_submit(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _staff(request)
    _version(version_id, user)
    return _act(
        request,
        version_id,
        lambda: services.article_submit(actor=user, version_id=version_id),
        _("已提交审核，须由另一位卫生健康部门工作人员审核通过后发布"),
    )


@_region_guarded
@require_POST
@login_required
def version_approve(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _staff(request)
    _version(version_id, user)
    note = request.POST.get("note", "")
    return _act(
        request,
        version_id,
        lambda: services.article_approve(actor=user, version_id=version_id, note=note),
        _("审核通过，已发布，家长现在可以看到这一版本"),
    )


@_region_guarded
@require_POST
@login_required
def version_return(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _staff(request)
    _version(version_id, user)
    note = request.POST.get("note", "")
    return _act(
        request,
        version_id,
        lambda: services.article_return(actor=user, version_id=version_id, note=note),
        _("已退回编写人修改"),
    )
