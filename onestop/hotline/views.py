"""The hotline's pages: the public service guide and FAQ, and the operators' desk."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onestop.accounts.models import User
from onestop.audit.services import access_record
from onestop.eligibility.guide_book import STARTS_NAMES
from onestop.hotline.forms import FaqForm, LookupForm
from onestop.hotline.models import FaqEntry, LookupAttempt
from onestop.hotline.selectors import (
    case_answer,
    faq_for_reason,
    faq_search,
    reason_message,
    region_guide,
    region_guides,
)
from onestop.hotline.services import (
    FaqInput,
    faq_save,
    lookup_case,
    may_edit_faq,
    operator_prefix,
)
from onestop.hotline.verified import verified_remember


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def guide_index(request: HttpRequest) -> HttpResponse:
    return render(request, "hotline/guide_index.html", {"guides": region_guides()})


def guide(request: HttpRequest, region: str) -> HttpResponse:
    found = region_guide(region)
    if found is None:
        raise Http404(_("没有这个地区的办事指南"))
    names = {i.code: i.name for i in found.items}
    flow = [[names.get(code, code) for code in step] for step in found.flow]
    items = sorted(found.items, key=lambda i: i.step)
    return render(
        request,
        "hotline/guide.html",
        {"guide": found, "flow": flow, "items": items, "on_ready": STARTS_NAMES["on_ready"]},
    )


def faq(request: HttpRequest) -> HttpResponse:
    question = request.GET.get("q", "")[:100]
    hits = faq_search(question) if question.strip() else []
    entries = [] if question.strip() else list(FaqEntry.objects.filter(reason=""))
    can_edit = may_edit_faq(request.user)
    return render(
        request,
        "hotline/faq.html",
        {"q": question, "hits": hits, "entries": entries, "can_edit": can_edit},
    )


def faq_entry(request: HttpRequest, key: str) -> HttpResponse:
    entry = get_object_or_404(FaqEntry, key=key)
    return render(
        request, "hotline/faq_entry.html", {"entry": entry, "can_edit": may_edit_faq(request.user)}
    )


def faq_reason(request: HttpRequest, code: str) -> HttpResponse:
    """A pre-review reason code's answer (linked from notices and the guide)."""
    entry = faq_for_reason(code)
    if entry is not None:
        return redirect("hotline:faq_entry", key=entry.key)
    message = reason_message(code)
    if message is None:
        raise Http404(_("没有这个原因"))
    # A reason a pack added without an answer yet: search for its words instead.
    return redirect(f"{reverse('hotline:faq')}?{urlencode({'q': message[:100]})}")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if operator_prefix(user) is None and not may_edit_faq(user):
        raise PermissionDenied
    return render(
        request,
        "hotline/home.html",
        {"guides": region_guides(), "is_operator": operator_prefix(user) is not None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def faq_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    user = _user(request)
    if not may_edit_faq(user):
        raise PermissionDenied
    entry = get_object_or_404(FaqEntry, key=key) if key else None
    if request.method == "POST":
        form = FaqForm(request.POST)
        if form.is_valid():
            data = FaqInput(**form.cleaned_data)
            other = FaqEntry.objects.filter(reason=data.reason)
            if entry is not None:
                other = other.exclude(pk=entry.pk)
            if data.reason and other.exists():
                form.add_error("reason", _("这个预审原因已经有答复，请修改那一条"))
            else:
                saved = faq_save(
                    actor=user,
                    data=data,
                    now=timezone.now(),
                    entry_id=entry.pk if entry else None,
                )
                messages.success(request, _("已保存"))
                return redirect("hotline:faq_entry", key=saved.key)
    else:
        initial = (
            {
                "question": entry.question,
                "answer": entry.answer,
                "keywords": entry.keywords,
                "reason": entry.reason,
            }
            if entry
            else {}
        )
        form = FaqForm(initial=initial)
    return render(request, "hotline/faq_edit.html", {"form": form, "entry": entry})


@login_required
@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """办件查询: only for a caller who gives the case number and the last four digits of
    the applicant's phone or the mother's ID number. Refused: 403 (wrong) or 429 (locked)."""
    user = _user(request)
    if operator_prefix(user) is None:
        access_record(
            actor=user, case_number="-", what="hotline_lookup", at=timezone.now(), granted=False
        )
        raise PermissionDenied
    answer = None
    outcome = None
    status = 200
    if request.method == "POST":
        form = LookupForm(request.POST)
        if form.is_valid():
            result = lookup_case(
                operator=user,
                number=form.cleaned_data["number"],
                method=form.cleaned_data["method"],
                answer=form.cleaned_data["answer"],
                now=timezone.now(),
            )
            outcome = result.outcome
            if result.case is not None:
                answer = case_answer(result.case)
                verified_remember(request, result.case.number, timezone.now())
                form = LookupForm()  # the verifying answer is not shown again
            elif outcome == LookupAttempt.Outcome.LOCKED:
                status = 429
            else:
                status = 403
    else:
        form = LookupForm()
    return render(
        request,
        "hotline/lookup.html",
        {"form": form, "answer": answer, "outcome": outcome},
        status=status,
    )
