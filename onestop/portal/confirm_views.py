"""The other parent's confirmation page, opened from the SMS link (ADR 0029).

No personal data and no case number in the URL: the path holds only the random token.
Before sign-in the page shows nothing but the masked phone the code goes to; the visitor
cannot choose the phone (the code goes to the number the case gives for that parent).
Signed in as that parent, they read what they are asked to confirm (masked names, the
newborn's name, the choice) and confirm or refuse with a reason. Anyone else — the
applicant on their own phone included — gets a clear refusal and nothing changes.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from onestop.accounts.models import User
from onestop.accounts.services import OtpError, OtpThrottled, otp_request, otp_verify
from onestop.common.client_ip import client_ip
from onestop.eligibility.confirmations import SIDE_NAMES
from onestop.eligibility.reasons import ITEM_NAMES
from onestop.reference.idnumber import mask_name, mask_phone
from onestop.workflow.confirmations import (
    ConfirmationError,
    confirmation_decide,
    confirmation_for_token,
    is_the_parent,
    link_problem,
)
from onestop.workflow.models import ConfirmationRequest

_INVALID = gettext_lazy(
    "该确认链接无效。请核对短信中的链接是否完整；如收到了更新的提醒短信，请使用最新短信中的链接。"
)
_USED = gettext_lazy("该确认链接已使用过，不能再次确认。如需了解办理进度，请登录查看。")
_EXPIRED = gettext_lazy("该确认链接已过期，相关事项已不予办理。可通过原渠道办理，或重新提交申请。")
PROBLEM_PAGES = {
    "link_invalid": (gettext_lazy("链接无效"), _INVALID, 404),
    "link_used": (gettext_lazy("链接已使用"), _USED, 410),
    "link_expired": (gettext_lazy("链接已过期"), _EXPIRED, 410),
}


def _problem_page(request: HttpRequest, problem: str) -> HttpResponse:
    title, text, status = PROBLEM_PAGES[problem]
    return render(
        request, "portal/confirm_problem.html", {"title": title, "text": text}, status=status
    )


def _user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _phone(confirmation: ConfirmationRequest) -> str:
    parent = confirmation.case.typed_document().parent(confirmation.parent)
    return (parent.phone if parent is not None else None) or ""


def _details(confirmation: ConfirmationRequest) -> dict[str, object]:
    form = confirmation.case.typed_document()
    applicant = form.applicant
    return {
        "applicant": mask_name(applicant.name if applicant else None),
        "applicant_role": SIDE_NAMES.get(applicant.role or "", "") if applicant else "",
        "newborns": [baby.name for baby in form.newborns if baby.name],
        "statements": [str(s.get("text", "")) for s in confirmation.statements],
        "items": [ITEM_NAMES.get(code, code) for code in confirmation.items],
    }


@require_http_methods(["GET", "POST"])
def confirm_link(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    confirmation = confirmation_for_token(token)
    problem = link_problem(confirmation, now)
    if problem is not None:
        return _problem_page(request, problem)
    assert confirmation is not None
    phone = _phone(confirmation)
    who = SIDE_NAMES.get(confirmation.parent, "")
    status = 200
    action = request.POST.get("action", "") if request.method == "POST" else ""
    sent = False
    retry_after: int | None = None
    if action in ("send_code", "sign_in"):
        try:
            if action == "sign_in":
                user = otp_verify(phone=phone, code=request.POST.get("code", ""))
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(request.path)
            otp_request(phone=phone, ip=client_ip(request))
            messages.success(request, _("验证码已发送，请查收短信"))
            sent = True
        except OtpThrottled as exc:
            sent, retry_after, status = action == "sign_in", exc.retry_after, 429
            messages.error(request, exc.message)
        except OtpError as exc:
            sent, status = action == "sign_in", 400
            messages.error(request, exc.message)
    elif action in ("confirm", "refuse"):
        try:
            decided = confirmation_decide(
                token=token,
                user=_user(request),
                confirm=action == "confirm",
                reason=request.POST.get("reason", ""),
            )
        except ConfirmationError as exc:
            if exc.code in PROBLEM_PAGES:
                return _problem_page(request, exc.code)
            messages.error(request, exc.message)
            status = 403 if exc.code == "not_this_parent" else 400
        else:
            return render(
                request,
                "portal/confirm_done.html",
                {"outcome": decided.outcome, "who": who, **_details(decided.request)},
            )
    signed_in = is_the_parent(confirmation, _user(request))
    context: dict[str, object] = {
        "who": who,
        "phone": mask_phone(phone),
        "signed_in": signed_in,
        "other_user": _user(request) is not None and not signed_in,
        "sent": sent,
        "expires_at": confirmation.expires_at,
    }
    if signed_in:
        context.update(_details(confirmation))
    response = render(request, "portal/confirm.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
