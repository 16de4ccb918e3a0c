"""The applicant's preview page (预览确认签字, ADR 0035): /my/cases/<number>/preview/.

Fuzhou (seed 003): "生成《出生医学证明》，《出生医学证明首次签发登记表》和《常住人口登记表》
预览页面，一并推送给申请人确认签字（电子签名）。不符合要求的，通知申请人转线下办理。"

The case's parents may read it (their own case); only the applicant signs or asks for a
correction (`onestop.certificates.preview`). The page shows the three documents as
people read them, ID numbers masked; each opens as a watermarked PDF (预览 不作凭证). The
form carries the SM3 of what the page showed, so a signature never covers content the
applicant did not see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onestop.accounts.models import User
from onestop.accounts.services import OtpError, OtpThrottled, otp_request
from onestop.audit.services import access_record
from onestop.certificates.pdf import PREVIEW_MARK, render_preview
from onestop.certificates.preview import (
    METHOD_TEXT,
    PreviewError,
    documents_json,
    is_the_applicant,
    open_preview,
    preview_confirm,
    preview_correct,
    preview_digest,
    preview_documents,
)
from onestop.common.client_ip import client_ip
from onestop.common.http import pdf_response
from onestop.core.errors import OnestopError
from onestop.portal.views import parent_case_or_404
from onestop.reference.idnumber import mask_phone
from onestop.workflow.models import CaseItem, ItemState, PreviewConfirmation
from onestop.workflow.preview import HOLD


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _read(request: HttpRequest, number: str, what: str) -> None:
    access_record(
        actor=_user(request), case_number=number, what=what, at=timezone.now(), granted=True
    )


@login_required(login_url="accounts:parent_login")
@require_http_methods(["GET", "POST"])
def preview_page(request: HttpRequest, number: str) -> HttpResponse:
    case = parent_case_or_404(request, number, "portal:preview")
    preview = open_preview(case)
    if preview is None:
        raise Http404(_("该办件没有需要确认的预览"))
    user = _user(request)
    applicant = is_the_applicant(case, user)
    status = 200
    sent = False
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not applicant:
        messages.error(request, _("只能由申请人本人确认签字或提出更正"))
        status = 403
    elif action == "send_code":
        try:
            otp_request(phone=user.phone or "", ip=client_ip(request))
            messages.success(request, _("验证码已发送，请查收短信"))
            sent = True
        except OtpError as exc:  # OtpThrottled included
            messages.error(request, exc.message)
            status = 429 if isinstance(exc, OtpThrottled) else 400
    elif action in ("confirm", "correct"):
        try:
            if action == "confirm":
                preview_confirm(
                    case=case,
                    user=user,
                    digest=request.POST.get("digest", ""),
                    typed_name=request.POST.get("name", ""),
                    sms_code=request.POST.get("code", ""),
                )
                messages.success(request, _("已确认签字，平台已推送助产机构办理"))
            else:
                preview_correct(case=case, user=user, reason=request.POST.get("reason", ""))
                messages.info(request, _("已记录您指出的问题，请按短信提示转线下办理"))
            return redirect("portal:preview", number=case.number)
        except OtpError as exc:
            messages.error(request, exc.message)
            sent, status = True, 400
        except PreviewError as exc:
            messages.error(request, exc.message)
            sent, status = action == "confirm", 403 if exc.code == "not_applicant" else 400
        except OnestopError as exc:  # e.g. the newborn's BMC was issued in another case
            messages.error(request, exc.message)
            status = 409
    preview.refresh_from_db()
    pending = (
        preview.state == PreviewConfirmation.State.PENDING
        and CaseItem.objects.filter(
            case=case, item=preview.item, state=ItemState.WAITING, awaiting_confirmation=HOLD
        ).exists()
    )
    documents = preview_documents(case, preview.documents_kinds)
    _read(request, case.number, "portal:preview")
    return render(
        request,
        "portal/preview.html",
        {
            "case": case,
            "preview": preview,
            "pending": pending,
            "applicant": applicant,
            "documents": [
                {
                    "kind": d.kind,
                    "title": d.title,
                    "rows": d.shown_rows(),
                    # twins (ADR 0036): which baby's PDF (1-based in the link)
                    "baby": "" if d.newborn is None else d.newborn + 1,
                }
                for d in documents
            ],
            "digest": preview_digest(documents_json(documents)),
            "phone": mask_phone(user.phone),
            "sent": sent,
            "method": METHOD_TEXT,
            "mark": PREVIEW_MARK,
        },
        status=status,
    )


@login_required(login_url="accounts:parent_login")
def preview_pdf(request: HttpRequest, number: str, kind: str) -> HttpResponse:
    case = parent_case_or_404(request, number, "portal:preview_pdf")
    preview = open_preview(case)
    if preview is None or kind not in preview.documents_kinds:
        raise Http404(_("该办件没有这份预览"))
    documents = preview_documents(case, preview.documents_kinds)
    digest = preview_digest(documents_json(documents))
    # Twins or more (ADR 0036): ``?baby=2`` is the second baby's document.
    baby = request.GET.get("baby", "")
    newborn = int(baby) - 1 if baby.isdigit() and int(baby) > 0 else 0
    document = next((d for d in documents if d.kind == kind and (d.newborn or 0) == newborn), None)
    if document is None:
        raise Http404(_("该办件没有这份预览"))
    _read(request, case.number, f"portal:preview_pdf:{kind}")
    pdf = render_preview(
        title=document.title,
        rows=document.shown_rows(),
        lines=[
            f"办件编号：{case.number}",
            f"预览内容摘要（SM3，三份预览合计）：{digest}",
            "本页为预览，仅供申请人核对，不作为任何凭证；证件以助产机构签发的为准。",
        ],
    )
    return pdf_response(pdf, f"{case.number}-{kind}-preview.pdf")
