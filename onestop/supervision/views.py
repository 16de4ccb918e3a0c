from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import Role, User
from onestop.audit.services import access_record
from onestop.cases.models import TimelineEntry
from onestop.portal.selectors import item_views
from onestop.supervision.selectors import find_cases, masked_people
from onestop.workflow.selectors import with_outcome


def _supervisor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Http404(_("页面不存在"))
    return user


@login_required
def cases(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    query = request.GET.get("q", "")
    found = with_outcome(find_cases(user, query))[:100]
    return render(request, "supervision/cases.html", {"cases": found, "q": query})


@login_required
def case(request: HttpRequest, number: str) -> HttpResponse:
    user = _supervisor(request)
    found = find_cases(user).filter(number=number).first()
    if found is None:
        raise Http404(_("办件不存在或不在您的监管范围"))
    access_record(
        actor=user,
        case_number=found.number,
        what="supervision_case",
        at=timezone.now(),
        granted=True,
    )
    return render(
        request,
        "supervision/case.html",
        {
            "case": found,
            "people": masked_people(found),
            "items": item_views(found),
            "timeline": TimelineEntry.objects.filter(case=found).order_by("at", "pk"),
        },
    )
