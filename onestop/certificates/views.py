"""The public verification of e-licences (no login) and the licence PDFs (owners only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onestop.accounts.models import User
from onestop.accounts.permissions import parent_page_refuse
from onestop.audit.services import access_record
from onestop.catalogue.names import elicence_title
from onestop.certificates.document import SEX_LABELS
from onestop.certificates.models import ELicence
from onestop.certificates.pdf import licence_rows, render_elicence
from onestop.certificates.seal import keys_document
from onestop.certificates.selectors import elicence_for_officer, elicence_for_parent
from onestop.certificates.services import (
    Verification,
    elicence_verify,
    published_keys,
    qr_content,
    stored_payload,
    verify_record,
)
from onestop.common.client_ip import client_ip
from onestop.common.http import pdf_response, public_url
from onestop.common.ratelimit import rate_check
from onestop.workflow.domain.results import RESULT_FIELDS

STATUS = {"malformed": 400, "not_found": 404}


def _public(response: HttpResponse) -> HttpResponse:
    # Anyone may ask (a verifier's web page too); nothing is cached or indexed, and the
    # page's address (which carries the QR content) is not sent on to other sites.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _answer(request: HttpRequest, answer: Verification | None, *, json: bool) -> HttpResponse:
    status = STATUS.get(answer.code, 200) if answer else 200
    if json:
        body: dict[str, Any] = answer.as_json() if answer else {"valid": False, "code": "malformed"}
        return _public(JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False}))
    full = request.get_full_path()
    json_url = full + ("&" if "?" in full else "?") + "format=json"
    return _public(
        render(
            request,
            "certificates/verify.html",
            {"answer": answer, "json_url": json_url},
            status=status,
        )
    )


def _limit(request: HttpRequest) -> None:
    # Issue 8: "/verify/" is rate limited per client IP (429 + Retry-After).
    rate_check("verify", client_ip(request), message=_("查验过于频繁，请稍后再试"))


def _wants_json(request: HttpRequest) -> bool:
    return request.GET.get("format") == "json"


@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    """``/verify/?c=<QR content>`` (what the QR code opens), ``?serial=`` from the form."""
    _limit(request)
    content = request.GET.get("c", "").strip()
    serial = request.GET.get("serial", "").strip()
    if content:
        answer: Verification | None = elicence_verify(content=content)
    elif serial:
        answer = elicence_verify(serial=serial)
    else:
        answer = None
    return _answer(request, answer, json=_wants_json(request))


@require_GET
def verify_serial(request: HttpRequest, serial: str) -> HttpResponse:
    _limit(request)
    return _answer(request, elicence_verify(serial=serial), json=_wants_json(request))


@require_GET
def verify_serial_json(request: HttpRequest, serial: str) -> HttpResponse:
    _limit(request)
    return _answer(request, elicence_verify(serial=serial), json=True)


@require_GET
def keys_json(request: HttpRequest) -> HttpResponse:
    """The published public keys of every issuing body (current and retired)."""
    response = JsonResponse(
        keys_document(published_keys().values()), json_dumps_params={"ensure_ascii": False}
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


# --- PDFs ----------------------------------------------------------------------------------


def _pdf(request: HttpRequest, licence: ELicence, user: User) -> HttpResponse:
    access_record(
        actor=user,
        case_number=licence.case.number,
        what=f"elicence:{licence.serial}",
        at=timezone.now(),
        granted=True,
    )
    verdict = verify_record(licence)
    if not verdict.valid:
        raise Http404(_("该证照的电子印章校验未通过，不能出具"))
    payload = stored_payload(licence)
    payload = payload if isinstance(payload, dict) else {}
    # The licence's title from the catalogue (出生医学证明, not the item's 《…》办理（首签）).
    item_name = elicence_title(licence.kind)
    labels = {f.name: f.label for f in RESULT_FIELDS.get(licence.kind, ())}
    # The configured public address, never the Host header (a forged Host ended up in the QR).
    url = public_url(reverse("certificates:verify")) + "?c=" + qr_content(licence)
    pdf = render_elicence(
        title=f"电子证照 · {item_name}",
        rows=licence_rows(
            payload,
            item_name=item_name,
            result_labels=labels | {"granted": "办理方式", "basis": "办理依据"},
            sex_labels=SEX_LABELS,
        ),
        issuer_name=licence.issuer_name,
        verify_url=url,
        seal_lines=[
            f"电子印章：{licence.issuer_name}（{licence.issuer_code}）",
            f"证照编号：{licence.serial}　签章算法：{licence.algorithm}　密钥：{licence.key_id}",
            f"内容摘要（SM3）：{(verdict.document or {}).get('payload_digest', '')}",
            "验证：扫描二维码，或在验证页输入证照编号；公钥公布于 /verify/keys.json，"
            "可用 onestop verify 离线验证。",
        ],
    )
    return pdf_response(pdf, f"{licence.serial}.pdf")


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404(_("证照不存在或无权查看"))
    return user


@login_required(login_url="accounts:parent_login")
def parent_pdf(request: HttpRequest, serial: str) -> HttpResponse:
    user = _user(request)
    licence = elicence_for_parent(user, serial)
    if licence is None:
        parent_page_refuse(
            user, what=f"portal:elicence:{serial[:40]}", message=_("证照不存在或无权查看")
        )
    return _pdf(request, licence, user)


@login_required
def officer_pdf(request: HttpRequest, serial: str) -> HttpResponse:
    user = _user(request)
    licence = elicence_for_officer(user, serial)
    if licence is None:
        access_record(
            actor=user,
            case_number="-",
            what=f"elicence:{serial[:64]}",
            at=timezone.now(),
            granted=False,
        )
        raise Http404(_("证照不存在或无权查看"))
    return _pdf(request, licence, user)
