"""Corrections (更正, ADR 0042) on the parents' portal and the officers' workbench.

Parents ask on ``/my/cases/<number>/corrections/new/``; officers of the case's items ask
on ``/work/corrections/new/<item>/``; the issuing department's officers decide on
``/work/corrections/``. Views stay thin: the services check who may do what.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import can_view_case, parent_page_refuse
from onestop.audit.services import access_record
from onestop.cases.models import Case
from onestop.corrections.effects import field_label
from onestop.corrections.models import Correction
from onestop.corrections.selectors import (
    Correctable,
    correctables,
    correction_for_officer,
    corrections_for_officer,
)
from onestop.corrections.services import (
    CorrectionConflict,
    CorrectionInvalid,
    CorrectionNotPermitted,
    CorrectionSamePerson,
    correction_approve,
    correction_decision_refused,
    correction_notice_read,
    correction_refuse,
    correction_request,
)
from onestop.workflow.models import CaseItem

ERRORS = (CorrectionConflict, CorrectionInvalid, CorrectionNotPermitted)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404(_("页面不存在"))
    return user


def _officer(request: HttpRequest) -> User:
    user = _user(request)
    if user.role != Role.OFFICER:
        raise Http404(_("页面不存在"))
    return user


def _request_form(
    request: HttpRequest,
    user: User,
    case: Case,
    choices: list[Correctable],
    back: str,
) -> HttpResponse | None:
    """Handle the POST of a request form; None when the form is to be shown (again)."""
    if request.method != "POST":
        return None
    chosen = {c.key: c for c in choices}.get(request.POST.get("target", ""))
    if chosen is None:
        messages.error(request, _("请选择要更正的证照内容"))
        return None
    try:
        correction_request(
            item_id=chosen.item_id,
            actor=user,
            field=chosen.field,
            value=request.POST.get("value", ""),
            reason=request.POST.get("reason", ""),
        )
    except ERRORS as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, _("更正申请已提交，签发部门审核后会通知您"))
    return redirect(back)


@login_required(login_url="accounts:parent_login")
def parent_request(request: HttpRequest, number: str) -> HttpResponse:
    """A parent asks to correct a field of one of the case's issued results."""
    user = _user(request)
    case = Case.objects.filter(number=number).first() if user.role == Role.PARENT else None
    if case is None or not can_view_case(user, case):
        parent_page_refuse(
            user, what="portal:correction", case_number=number, message=_("办件不存在或无权查看")
        )
    choices = correctables(case)
    done = _request_form(request, user, case, choices, reverse("portal:case", args=[case.number]))
    if done is not None:
        return done
    return render(
        request,
        "corrections/request.html",
        {"case": case, "choices": choices, "posted": request.POST, "back": "portal"},
    )


# --- the workbench ---------------------------------------------------------------------


def _refused(user: User, what: str) -> Http404:
    access_record(actor=user, case_number="-", what=what, at=timezone.now(), granted=False)
    return Http404(_("更正申请不存在或不属于您的部门和辖区"))


@login_required
def officer_request(request: HttpRequest, item_id: int) -> HttpResponse:
    """An officer of one of the case's items asks to correct an issued result of it."""
    user = _officer(request)
    row = CaseItem.objects.select_related("case").filter(pk=item_id).first()
    if row is None or not can_view_case(user, row.case):
        raise _refused(user, f"correction:new:{item_id}")
    choices = correctables(row.case, only={row.pk})
    done = _request_form(
        request, user, row.case, choices, reverse("corrections:list") + "?state=all"
    )
    if done is not None:
        return done
    return render(
        request,
        "corrections/request.html",
        {"case": row.case, "choices": choices, "posted": request.POST, "back": "work"},
    )


@login_required
def officer_list(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    state = request.GET.get("state", "open")
    shown = None if state == "all" else Correction.State.OPEN
    rows = list(corrections_for_officer(user, state=shown)[:200])
    return render(
        request,
        "corrections/list.html",
        {
            "rows": [{"c": c, "field_label": field_label(c.item.item, c.field)} for c in rows],
            "state": "all" if shown is None else "open",
        },
    )


def _detail(
    request: HttpRequest, user: User, correction: Correction, status: int = 200
) -> HttpResponse:
    # The old and new values are personal data (a child's name): the read is recorded.
    access_record(
        actor=user,
        case_number=correction.case.number,
        what=f"correction:{correction.pk}",
        at=timezone.now(),
        granted=True,
    )
    return render(
        request,
        "corrections/detail.html",
        {
            "c": correction,
            "field_label": field_label(correction.item.item, correction.field),
            # Four eyes: whoever asked sees the request but not the decision forms.
            "own_request": correction.requested_by_id == user.pk,
        },
        status=status,
    )


@login_required
def officer_detail(request: HttpRequest, correction_id: int) -> HttpResponse:
    user = _officer(request)
    correction = correction_for_officer(user, correction_id)
    if correction is None:
        raise _refused(user, f"correction:{correction_id}")
    return _detail(request, user, correction)


@login_required
@require_POST
def officer_decide(request: HttpRequest, correction_id: int, action: str) -> HttpResponse:
    user = _officer(request)
    if correction_for_officer(user, correction_id) is None:
        raise _refused(user, f"correction:{correction_id}:{action[:16]}")
    try:
        if action == "approve":
            done = correction_approve(correction_id=correction_id, actor=user)
            serial = done.corrected_licence.serial if done.corrected_licence else ""
            messages.success(
                request, _("已更正，已签发更正后的电子证照 %(serial)s") % {"serial": serial}
            )
        elif action == "refuse":
            correction_refuse(
                correction_id=correction_id, actor=user, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("已不予更正，并告知申请人"))
        else:
            raise Http404(_("未知操作"))
    except CorrectionSamePerson as exc:
        # Refused (403), the database unchanged, the attempt kept in the audit log.
        correction_decision_refused(
            correction_id=correction_id, actor=user, action=action, code=exc.code
        )
        messages.error(request, exc.message, extra_tags=exc.code)
        found = correction_for_officer(user, correction_id)
        if found is None:  # pragma: no cover - checked above
            raise _refused(user, f"correction:{correction_id}") from None
        return _detail(request, user, found, status=403)
    except ERRORS as exc:
        messages.error(request, exc.message)
    return redirect("corrections:detail", correction_id=correction_id)


@login_required
@require_POST
def notice_read(request: HttpRequest, notice_id: int) -> HttpResponse:
    user = _officer(request)
    try:
        correction_notice_read(notice_id=notice_id, actor=user)
    except CorrectionNotPermitted:
        raise _refused(user, f"correction_notice:{notice_id}") from None
    back = request.POST.get("next", "")
    if back.startswith("/work/") and "//" not in back:
        return redirect(back)
    return redirect("departments:queue")
