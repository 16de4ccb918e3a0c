"""The public verification of e-licences (no login) and the licence PDFs (owners only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onestop.accounts.models import User
from onestop.accounts.permissions import parent_page_refuse
from onestop.audit.services import access_record
from onestop.certificates.kept import framed_page, kept_answer, with_token
from onestop.certificates.models import ELicence
from onestop.certificates.printing import elicence_pdf
from onestop.certificates.seal import keys_document
from onestop.certificates.selectors import elicence_for_officer, elicence_for_parent
from onestop.certificates.services import (
    Verification,
    elicence_verify,
    published_keys,
)
from onestop.common.client_ip import client_ip
from onestop.common.http import pdf_response
from onestop.common.ratelimit import rate_check

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
    framed = framed_page(request, answer, json_url)  # the kept frame and this answer's card
    if framed is not None:
        page = HttpResponse(with_token(request, framed), status=status)
        return _public(page)
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


def _verify_serial(request: HttpRequest, serial: str, *, json: bool) -> HttpResponse:
    _limit(request)  # every request counts, kept answer or not
    return kept_answer(
        request,
        serial,
        json=json,
        answer=lambda verification: _answer(request, verification, json=json),
        public=_public,
    )


@require_GET
def verify_serial(request: HttpRequest, serial: str) -> HttpResponse:
    return _verify_serial(request, serial, json=_wants_json(request))


@require_GET
def verify_serial_json(request: HttpRequest, serial: str) -> HttpResponse:
    return _verify_serial(request, serial, json=True)


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
    pdf = elicence_pdf(licence)
    if pdf is None:
        raise Http404(_("该证照的电子印章校验未通过，不能出具"))
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
