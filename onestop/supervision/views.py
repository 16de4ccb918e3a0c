from __future__ import annotations

import re
import secrets
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onestop.accounts.models import Role, User
from onestop.audit.services import access_record
from onestop.common.fields import cipher
from onestop.portal.selectors import item_views, outcome_from_items
from onestop.reference.idnumber import mask_id_number
from onestop.supervision.selectors import (
    case_timeline_lines,
    masked_people,
    staff_unread_known,
    supervised_case,
    supervised_cases,
)

ID_SHAPED = re.compile(r"\d{15}|\d{17}[\dXx]")


def _supervisor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Http404(_("页面不存在"))
    return user


# Issue 8 (defect 11): an ID number typed into the search must not reach a URL (access
# logs, browser history, Referer). The search is a POST; the results page is addressed by a
# short-lived opaque token whose query is kept, encrypted, in the session (PRG).
SEARCHES = "supervision_searches"
SEARCH_LIFETIME = 30 * 60
SEARCHES_KEPT = 10


def _remember(request: HttpRequest, query: str) -> str:
    now = int(time.time())
    kept = {
        token: entry
        for token, entry in dict(request.session.get(SEARCHES, {})).items()
        if isinstance(entry, dict) and now - int(entry.get("at", 0)) < SEARCH_LIFETIME
    }
    token = secrets.token_urlsafe(12)
    kept[token] = {"q": cipher().encrypt(query), "at": now}
    newest = sorted(kept.items(), key=lambda pair: pair[1]["at"])[-SEARCHES_KEPT:]
    request.session[SEARCHES] = dict(newest)
    return token


def _recall(request: HttpRequest, token: str) -> str | None:
    entry = dict(request.session.get(SEARCHES, {})).get(token)
    if not isinstance(entry, dict) or time.time() - int(entry.get("at", 0)) >= SEARCH_LIFETIME:
        return None
    return cipher().decrypt(str(entry["q"]))


def _shown(query: str) -> str:
    """What the results page repeats of the query: an ID number masked."""
    return mask_id_number(query) if ID_SHAPED.fullmatch(query) else query


@login_required
@require_http_methods(["GET", "POST"])
def cases(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    # The form's POST is answered at once with its results (issue 10, part 4: the redirect
    # to a token page made a search two requests): the query travels in the POST body only,
    # never in a URL, and is not kept. An old-style ?q= link is still turned into a token.
    typed = request.POST.get("q") if request.method == "POST" else request.GET.get("q")
    query = ""
    if typed is not None:
        query = "".join(typed.split())[:64]
        if not query:
            return redirect("supervision:cases")
        if request.method != "POST":
            return redirect(reverse("supervision:cases") + "?s=" + _remember(request, query))
    token = "" if query else request.GET.get("s", "")
    if token:
        recalled = _recall(request, token)
        if recalled is None:
            messages.warning(request, _("查询已过期，请重新输入查询条件"))
            return redirect("supervision:cases")
        query = recalled
    found = supervised_cases(user, query)
    response = render(
        request, "supervision/cases.html", {"cases": found, "q": _shown(query), "searched": query}
    )
    if request.method == "POST":
        # the answer to an ID number is not kept by the browser (back/forward re-asks)
        add_never_cache_headers(response)  # no-store, private
    return response


@login_required
def case(request: HttpRequest, number: str) -> HttpResponse:
    user = _supervisor(request)
    found = supervised_case(user, number)
    if found is None:
        raise Http404(_("办件不存在或不在您的监管范围"))
    staff_unread_known(request, user, found.staff_unread)  # type: ignore[attr-defined]
    access_record(
        actor=user,
        case_number=found.number,
        what="supervision_case",
        at=timezone.now(),
        granted=True,
    )
    items = item_views(found, names=False)
    outcome_from_items(found, items)  # the status tag's outcome: every item is read
    return render(
        request,
        "supervision/case.html",
        {
            "case": found,
            "people": masked_people(found),
            "items": items,
            "timeline": case_timeline_lines(found),
        },
    )
