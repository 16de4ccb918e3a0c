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


@login_required(login_url="accounts:parent_login")
def case_notice(request: HttpRequest, number: str) -> HttpResponse:
    """The decision notice (受理通知书 / 一次性告知书 / 不予受理通知书) as a PDF."""
    from onestop.cases.notices import render_notice
    from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
    from onestop.policy.loader import default_packs

    case = parent_cases(_user(request)).filter(number=number).first()
    if case is None:
        raise Http404("办件不存在或无权查看")
    pack = default_packs().version(case.region, case.pack_version)
    pdf = render_notice(
        case_number=case.number,
        region_name=pack.name if pack else case.region,
        decision=case.decision,
        decided_at=case.decided_at,
        item_names=dict(ITEM_NAMES),
        department_names=dict(DEPARTMENT_NAMES),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{case.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
