"""Supervisors' time-limit pages: overdue and near-due items, and the efficiency report per
department and jurisdiction; and the staff message inbox (工作消息) for every staff role."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from onestop.accounts.models import Role, User, department_choices
from onestop.calendar.selectors import current_calendar
from onestop.common.names import department_label, item_label
from onestop.core.clock import BEIJING, to_beijing
from onestop.core.written import written
from onestop.supervision.models import StaffMessage
from onestop.supervision.selectors import (
    OPEN_STATES,
    deadline_items,
    efficiency_report,
    jurisdiction_label,
    jurisdiction_labels,
    supervised_prefix,
)
from onestop.supervision.services import staff_messages_mark_read
from onestop.workflow.domain.urgency import URGENCY_LABELS, Urgency
from onestop.workflow.models import CaseItem, ItemState

PAGE_SIZE = 30
WHICH = ("all", "overdue", "warning")


def _supervisor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Http404(_("页面不存在"))
    return user


def _department_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in department_choices()]


@login_required
def deadlines(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    now = timezone.now()
    which = request.GET.get("which", "all")
    which = which if which in WHICH else "all"
    department = request.GET.get("department", "")
    jurisdiction = request.GET.get("jurisdiction", "").strip()
    prefix = supervised_prefix(user) or ""
    found = deadline_items(
        user,
        now=now,
        calendar=current_calendar(),
        which=which,
        department=department,
        jurisdiction=jurisdiction,
    )
    places = list(
        CaseItem.objects.filter(state__in=OPEN_STATES, division__startswith=prefix)
        .order_by("jurisdiction_code")
        .values_list("jurisdiction_kind", "jurisdiction_code")
        .distinct()[:200]
    )
    # Every label in two queries (not one per row: 507 statements for a page of 500).
    labels = jurisdiction_labels(
        [(r.item.jurisdiction_kind, r.item.jurisdiction_code) for r in found] + places
    )
    # Everything a row prints is worked out here, once per distinct value, and the template
    # only places it (issue 10, part 4: like the officer queue, 500 rows each translating
    # the column labels, reversing the case URL and including the due-time template were
    # most of the page's time).
    language = get_language() or "zh-hans"
    case_url = reverse("supervision:case", args=["0"])[: -len("0/")]
    states = {value: str(label) for value, label in ItemState.choices}
    names: dict[str, str] = {}
    departments: dict[str, str] = {}
    rows = []
    for r in found:
        item = r.item
        if item.item not in names:
            names[item.item] = item_label(item.item)
        if item.department not in departments:
            departments[item.department] = department_label(item.department)
        number = item.case.number
        rows.append(
            {
                "pk": item.pk,
                "light": r.light,
                "light_name": _(URGENCY_LABELS[Urgency(r.light)]),
                "state": item.state,
                "provisional": item.due_provisional,
                "late": r.overdue_days,
                "urges": r.urges,
                "url": f"{case_url}{quote(number)}/",
                "number": number,
                "name": names[item.item],
                "state_label": states.get(item.state, item.state),
                "department": departments[item.department],
                "jurisdiction": labels[(item.jurisdiction_kind, item.jurisdiction_code)],
                "due": written(item.due_at, language=language) if item.due_at else "",
            }
        )
    return render(
        request,
        "supervision/deadlines.html",
        {
            "rows": rows,
            "which": which,
            "department": department,
            "jurisdiction": jurisdiction,
            "departments": _department_choices(),
            "places": [(code, labels[(kind, code)]) for kind, code in places],
            "overdue": sum(1 for r in found if r.light == "overdue"),
            "warning": sum(1 for r in found if r.light == "warning"),
        },
    )


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return default


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


@login_required
def efficiency(request: HttpRequest) -> HttpResponse:
    """The period is [from, to) in Beijing dates; by default this month up to today."""
    user = _supervisor(request)
    now = timezone.now()
    today = to_beijing(now).date()
    start = _day(request.GET.get("from"), today.replace(day=1))
    end = _day(request.GET.get("to"), today + timedelta(days=1))
    error = ""
    if end <= start:
        error = _("结束日期必须晚于开始日期")
        end = start + timedelta(days=1)
    department = request.GET.get("department", "")
    report = efficiency_report(
        user,
        start=_midnight(start),
        end=_midnight(end),
        now=now,
        calendar=current_calendar(),
        department=department,
    )
    rows = [
        {
            "row": r,
            "department": department_label(r.department),
            "jurisdiction": jurisdiction_label(r.jurisdiction_kind, r.jurisdiction_code),
            "rate": f"{r.on_time_rate * 100:.1f}%" if r.on_time_rate is not None else "—",
        }
        for r in report
    ]
    finished = sum(r.finished for r in report)
    with_limit = sum(r.with_limit for r in report)
    on_time = sum(r.on_time for r in report)
    return render(
        request,
        "supervision/efficiency.html",
        {
            "rows": rows,
            "start": start,
            "end": end,
            "error": error,
            "department": department,
            "departments": _department_choices(),
            "totals": {
                "finished": finished,
                "automatic": sum(r.automatic for r in report),
                "rate": f"{on_time / with_limit * 100:.1f}%" if with_limit else "—",
                "open_overdue": sum(r.open_overdue for r in report),
                "provisional": sum(r.provisional for r in report),
            },
        },
    )


@login_required
def staff_messages(request: HttpRequest) -> HttpResponse:
    """Work messages (deadline warnings, overdue notices, escalations, urges), newest
    first; shown ones are marked read."""
    user = request.user
    if not isinstance(user, User) or not user.is_staff_role:
        raise Http404(_("页面不存在"))
    qs = StaffMessage.objects.filter(user=user).select_related("case", "item")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    shown: list[StaffMessage] = list(page.object_list)
    rows = [{"message": m, "new": m.read_at is None} for m in shown]
    staff_messages_mark_read(user=user, ids=[m.pk for m in shown])
    return render(request, "supervision/staff_messages.html", {"page": page, "rows": rows})
