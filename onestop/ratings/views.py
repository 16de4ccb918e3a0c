"""The pages of ratings (好差评):

- ``/my/cases/<number>/rate/`` — the parents rate the whole service and each step (phone
  first), see their ratings, the follow-ups' replies, and confirm or complain again;
- ``/counter/cases/<number>/rate/`` — a clerk records the parents' counter rating
  (一次一评) for a case the counter accepted;
- ``/work/ratings/`` — the responsible officers' follow-ups, and their reply;
- ``/supervise/ratings/`` — supervisors track follow-ups to closure, overdue ones first,
  and answer the whole-service ones.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case as DbCase
from django.db.models import Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import cases_visible_to
from onestop.audit.services import access_record
from onestop.cases.models import Case
from onestop.common.names import department_label
from onestop.core.clock import BEIJING, to_beijing
from onestop.hotline.services import locked_out, normalise_case_number, operator_prefix
from onestop.hotline.verified import verified_for
from onestop.portal.views import parent_case_or_404
from onestop.ratings.models import (
    WHOLE_SERVICE,
    Channel,
    FollowUp,
    FollowUpStatus,
    Grade,
    Rating,
)
from onestop.ratings.selectors import (
    can_answer,
    case_rateable,
    follow_ups_to_answer,
    follow_ups_visible_to,
    overdue_q,
    rateable_keys,
    rateable_steps,
    summary,
)
from onestop.ratings.services import (
    Given,
    RatingRefused,
    case_rate,
    follow_up_confirm,
    follow_up_recomplain,
    follow_up_reply,
)
from onestop.workflow.selectors import key_name, multiple_birth, row_name, twin_case_ids

SERVICE_SLUG = "service"  # the form's name for the whole service ("" as a step)
PAGE_SIZE = 30
STATUS_FILTERS = ("all", "open", "overdue", "replied", "closed")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _slug(step: str) -> str:
    return step or SERVICE_SLUG


def _step_label(step: str, multiple: bool = False) -> str:
    return _("整体服务") if step == WHOLE_SERVICE else key_name(step, multiple)


def _grades() -> list[tuple[int, str]]:
    return [(int(value), str(label)) for value, label in Grade.choices]


def _rate_form(case: Case) -> list[dict[str, Any]]:
    """The rows of the rating form: the whole service, then each step; each rated or not."""
    given = {r.step: r for r in Rating.objects.filter(case=case).select_related("follow_up")}
    rows: list[dict[str, Any]] = [{"step": WHOLE_SERVICE, "name": _("整体服务"), "department": ""}]
    steps = list(rateable_steps(case))
    multiple = multiple_birth(case, steps)  # twins: one step per baby, named with the baby
    rows += [
        {
            "step": row.key,
            "name": row_name(row, multiple),
            "department": department_label(row.department),
        }
        for row in steps
    ]
    for row in rows:
        row["slug"] = _slug(row["step"])
        row["rating"] = given.get(row["step"])
    return rows


def _given(request: HttpRequest, case: Case) -> list[Given]:
    """The grades chosen in the form (a step left without a grade is not rated now)."""
    steps = [WHOLE_SERVICE, *rateable_keys(case)]
    found: list[Given] = []
    for step in steps:
        raw = request.POST.get(f"grade-{_slug(step)}", "").strip()
        if not raw:
            continue
        try:
            grade = int(raw)
        except ValueError:
            grade = 0
        comment = request.POST.get(f"comment-{_slug(step)}", "")
        found.append(Given(step, grade, comment))
    return found


def _entries(follow_up: FollowUp) -> list[Any]:
    return list(follow_up.entries.order_by("pk"))


def _follow_up_views(case: Case) -> list[dict[str, Any]]:
    rows = []
    multiple = multiple_birth(case)
    for follow_up in (
        FollowUp.objects.filter(case=case).select_related("rating").order_by("opened_at", "pk")
    ):
        rows.append(
            {
                "follow_up": follow_up,
                "step": _step_label(follow_up.rating.step, multiple),
                "entries": _entries(follow_up),
            }
        )
    return rows


# --- the parents ---------------------------------------------------------------------------


@login_required(login_url="accounts:parent_login")
def rate(request: HttpRequest, number: str) -> HttpResponse:
    case = parent_case_or_404(request, number, "ratings:rate")
    user = _user(request)
    if request.method == "POST":
        given = _given(request, case)
        try:
            case_rate(case=case, actor=user, given=given, channel=Channel.ONLINE)
        except RatingRefused as exc:
            messages.error(request, exc.message)
        else:
            if any(g.grade in (Grade.DISSATISFIED, Grade.VERY_DISSATISFIED) for g in given):
                messages.success(
                    request, _("感谢您的评价。差评已转责任单位整改，答复后将短信通知您。")
                )
            else:
                messages.success(request, _("感谢您的评价。"))
        return redirect("ratings:rate", number=case.number)
    return render(
        request,
        "ratings/rate.html",
        {
            "case": case,
            "open": case_rateable(case),
            "rows": (rows := _rate_form(case)),
            "pending": any(r["rating"] is None for r in rows),
            "grades": _grades(),
            "follow_ups": _follow_up_views(case),
        },
    )


@login_required(login_url="accounts:parent_login")
@require_POST
def follow_up_answer(request: HttpRequest, number: str, follow_up_id: int) -> HttpResponse:
    """The parent's answer to a reply: ``answer`` = confirm (满意) or recomplain."""
    case = parent_case_or_404(request, number, "ratings:follow_up_answer")
    user = _user(request)
    try:
        if request.POST.get("answer") == "confirm":
            follow_up_confirm(follow_up_id=follow_up_id, parent=user, case=case)
            messages.success(request, _("感谢您的确认，整改已办结。"))
        else:
            follow_up_recomplain(
                follow_up_id=follow_up_id,
                parent=user,
                case=case,
                text=request.POST.get("text", ""),
            )
            messages.success(request, _("已再次转责任单位处理，答复后将短信通知您。"))
    except RatingRefused as exc:
        messages.error(request, exc.message)
    return redirect("ratings:rate", number=case.number)


# --- the counter (一次一评) -----------------------------------------------------------------


def _clerk_case(request: HttpRequest, number: str) -> tuple[User, Case]:
    user = _user(request)
    if user.role != Role.CLERK or not user.jurisdiction_code:
        raise Http404(_("页面不存在"))
    case = cases_visible_to(user, Case.objects.all()).filter(number=number).first()
    if case is None:
        raise Http404(_("办件不存在或不是本窗口受理的"))
    access_record(
        actor=user, case_number=case.number, what="counter_rating", at=timezone.now(), granted=True
    )
    return user, case


def _staff_rate(
    request: HttpRequest,
    user: Any,
    case: Any,
    channel: str,
    done: str,
    url_name: str,
    flag: str,
) -> HttpResponse:
    """The rating form a member of staff fills in for the applicant or caller (the
    counter's 一次一评, the 12345 operator's): POST records it on ``channel``; GET shows
    the form with ``flag`` telling the template which channel it is."""
    if request.method == "POST":
        try:
            case_rate(case=case, actor=user, given=_given(request, case), channel=channel)
        except RatingRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect(f"ratings:{url_name}", number=case.number)
    return render(
        request,
        "ratings/rate.html",
        {
            "case": case,
            "open": case_rateable(case),
            "rows": (rows := _rate_form(case)),
            "pending": any(r["rating"] is None for r in rows),
            "grades": _grades(),
            "follow_ups": [],
            flag: True,
        },
    )


@login_required
def counter_rate(request: HttpRequest, number: str) -> HttpResponse:
    user, case = _clerk_case(request, number)
    return _staff_rate(
        request,
        user,
        case,
        Channel.COUNTER,
        _("已记录申请人的窗口评价。"),
        "counter_rate",
        "counter",
    )


# --- the 12345 hotline (国办发〔2019〕51号: hotlines are rated too) ----------------------------


def _hotline_refused(
    request: HttpRequest, user: User, number: str, code: str, message: str
) -> HttpResponse:
    access_record(
        actor=user,
        case_number=number or "-",
        what=f"hotline_rating:{code}",
        at=timezone.now(),
        granted=False,
    )
    return render(request, "ratings/refused.html", {"code": code, "message": message}, status=403)


@login_required
def hotline_rate(request: HttpRequest, number: str) -> HttpResponse:
    """The operator records the caller's rating (channel 12345热线), only for a case a
    lookup in this session verified the caller for (within the window), not while the
    case number or the operator is locked out, and only in the operator's division."""
    user = _user(request)
    now = timezone.now()
    number = normalise_case_number(number)
    prefix = operator_prefix(user)
    if prefix is None:
        return _hotline_refused(
            request, user, number, "hotline_operator_only", _("只有12345话务员可以记录热线评价")
        )
    if locked_out(user, number, now):
        return _hotline_refused(
            request, user, number, "hotline_locked", _("核验未通过的次数过多，暂不能记录评价")
        )
    case = Case.objects.filter(number=number, division__startswith=prefix).first()
    if case is None or not verified_for(request, number, now):
        return _hotline_refused(
            request,
            user,
            number,
            "hotline_not_verified",
            _("请先在办件查询中核验来电人身份，核验通过后才能记录评价"),
        )
    access_record(actor=user, case_number=case.number, what="hotline_rating", at=now, granted=True)
    return _staff_rate(
        request,
        user,
        case,
        Channel.HOTLINE,
        _("已记录来电人的热线评价。"),
        "hotline_rate",
        "hotline",
    )


# --- officers and supervisors ---------------------------------------------------------------


def _staff(request: HttpRequest, roles: tuple[str, ...]) -> User:
    user = request.user
    if not isinstance(user, User) or user.role not in roles:
        raise Http404(_("页面不存在"))
    return user


def _rows(follow_ups: list[FollowUp], now: datetime) -> list[dict[str, Any]]:
    twins = twin_case_ids(f.case_id for f in follow_ups)
    return [
        {
            "follow_up": f,
            "step": _step_label(f.rating.step, f.case_id in twins),
            "department": department_label(f.department) if f.department else _("监督管理部门"),
            "grade": Grade(f.rating.grade).label,
            "overdue": f.status == FollowUpStatus.OPEN and f.due_at < now,
        }
        for f in follow_ups
    ]


@login_required
def work_list(request: HttpRequest) -> HttpResponse:
    user = _staff(request, (Role.OFFICER,))
    now = timezone.now()
    open_ones = list(follow_ups_to_answer(user).select_related("rating", "case")[:200])
    answered = list(
        follow_ups_visible_to(user)
        .exclude(status=FollowUpStatus.OPEN)
        .select_related("rating", "case")
        .order_by("-opened_at")[:50]
    )
    return render(
        request,
        "ratings/work_list.html",
        {"open": _rows(open_ones, now), "answered": _rows(answered, now)},
    )


def _detail(request: HttpRequest, user: User, follow_up_id: int, back: str) -> HttpResponse:
    follow_up = (
        follow_ups_visible_to(user).select_related("rating", "case").filter(pk=follow_up_id).first()
    )
    if follow_up is None:
        raise Http404(_("整改记录不存在或无权查看"))
    if request.method == "POST":
        try:
            follow_up_reply(
                follow_up_id=follow_up.pk, actor=user, text=request.POST.get("text", "")
            )
        except RatingRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已答复申请人，等待申请人确认。"))
            return redirect(back)
        return redirect(request.path)
    # The rating's comment and the replies are the parent's words: the read is recorded.
    access_record(
        actor=user,
        case_number=follow_up.case.number,
        what="rating_follow_up",
        at=timezone.now(),
        granted=True,
    )
    row = _rows([follow_up], timezone.now())[0]
    return render(
        request,
        "ratings/follow_up.html",
        {
            "row": row,
            "follow_up": follow_up,
            "rating": follow_up.rating,
            "entries": _entries(follow_up),
            "can_reply": can_answer(user, follow_up) and follow_up.status == FollowUpStatus.OPEN,
            "back": back,
        },
    )


@login_required
def work_detail(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    user = _staff(request, (Role.OFFICER,))
    return _detail(request, user, follow_up_id, "ratings:work_list")


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return default


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


@login_required
def supervise_list(request: HttpRequest) -> HttpResponse:
    """Follow-ups of the ratings given in the period [from, to) in the supervisor's
    division, by status (overdue: open past the due time); and the summary."""
    user = _staff(request, (Role.SUPERVISOR, Role.ADMIN))
    now = timezone.now()
    today = to_beijing(now).date()
    start = _day(request.GET.get("from"), today.replace(day=1))
    end = _day(request.GET.get("to"), today + timedelta(days=1))
    error = ""
    if end <= start:
        error = _("结束日期必须晚于开始日期")
        end = start + timedelta(days=1)
    status = request.GET.get("status", "all")
    status = status if status in STATUS_FILTERS else "all"
    qs = follow_ups_visible_to(user).filter(
        rating__at__gte=_midnight(start), rating__at__lt=_midnight(end)
    )
    if status == "overdue":
        qs = qs.filter(overdue_q(now))
    elif status != "all":
        qs = qs.filter(status=status)
    # Open ones first (the most overdue on top), then those waiting for the parent, then closed.
    rank = DbCase(
        When(status=FollowUpStatus.OPEN, then=Value(0)),
        When(status=FollowUpStatus.REPLIED, then=Value(1)),
        default=Value(2),
    )
    page = Paginator(
        qs.select_related("rating", "case").order_by(rank, "due_at", "pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    prefix = "" if user.role == Role.ADMIN or user.is_superuser else user.jurisdiction_code
    totals = summary(prefix, _midnight(start), _midnight(end), now=now)
    grades = [(str(label), totals.grades.get(int(value), 0)) for value, label in Grade.choices]
    departments = [
        {
            "name": department_label(code),
            "counts": [counts.get(int(value), 0) for value in Grade.values],
        }
        for code, counts in sorted(totals.departments.items())
    ]
    return render(
        request,
        "ratings/supervise_list.html",
        {
            "rows": _rows(list(page.object_list), now),
            "page": page,
            "start": start,
            "end": end,
            "status": status,
            "error": error,
            "totals": totals,
            "grades": grades,
            "grade_names": [str(label) for _value, label in Grade.choices],
            "departments": departments,
            "whole_service": [totals.whole_service.get(int(v), 0) for v in Grade.values],
            "satisfaction": (
                f"{totals.satisfaction * 100:.1f}%" if totals.satisfaction is not None else "—"
            ),
        },
    )


@login_required
def supervise_detail(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    user = _staff(request, (Role.SUPERVISOR, Role.ADMIN))
    return _detail(request, user, follow_up_id, "ratings:supervise_list")
