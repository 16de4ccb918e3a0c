from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from onestop.accounts.models import User
from onestop.portal.selectors import item_views, parent_cases, parent_timeline


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required(login_url="accounts:parent_login")
def my_cases(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/cases.html", {"cases": parent_cases(_user(request))})


@login_required(login_url="accounts:parent_login")
def case_progress(request: HttpRequest, number: str) -> HttpResponse:
    case = parent_cases(_user(request)).filter(number=number).first()
    if case is None:
        raise Http404("办件不存在或无权查看")
    return render(
        request,
        "portal/case.html",
        {
            "case": case,
            "items": item_views(case),
            "timeline": parent_timeline(case),
            "reasons": case.decision.get("reasons", []),
            "channels": case.decision.get("ordinary_channels", []),
        },
    )
