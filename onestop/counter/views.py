"""一窗受理: a clerk at a hospital or service-center window enters a case for the parents,
scans the materials, and prints the filled form and the notices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import cases_visible_to
from onestop.audit.services import access_record
from onestop.cases.models import Case
from onestop.cases.printing import case_notice_pdf
from onestop.cases.services import case_submit
from onestop.cases.uploads import UploadRejected, checked_upload
from onestop.common.http import pdf_response
from onestop.common.names import material_label
from onestop.core.errors import OnestopError
from onestop.counter.forms import CounterEntry, channels_here, counter_regions, material_codes
from onestop.counter.printing import render_unified_form
from onestop.policy.loader import default_packs
from onestop.portal.selectors import item_views
from onestop.reference.selectors import current_reference, institution_name


def _clerk(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.role != Role.CLERK or not user.jurisdiction_code:
        raise Http404(_("页面不存在"))
    return user


def _case(user: User, number: str) -> Case:
    case = cases_visible_to(user, Case.objects.all()).filter(number=number).first()
    if case is None:
        raise Http404(_("办件不存在或不是本窗口受理的"))
    access_record(
        actor=user, case_number=case.number, what="counter_case", at=timezone.now(), granted=True
    )
    return case


def _counter_name(user: User) -> str:
    return institution_name(user.jurisdiction_kind, user.jurisdiction_code)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _clerk(request)
    cases = cases_visible_to(user, Case.objects.all()).order_by("-submitted_at")[:100]
    return render(request, "counter/home.html", {"cases": cases, "counter": _counter_name(user)})


@login_required
def new_case(request: HttpRequest) -> HttpResponse:
    user = _clerk(request)
    reference = current_reference()
    regions = counter_regions(user.jurisdiction_kind, user.jurisdiction_code, reference)
    if not regions:
        # 兰州, 福州: the pack takes applications online only; the clerk tells the parents.
        return render(
            request,
            "counter/new.html",
            {
                "counter": _counter_name(user),
                "elsewhere": channels_here(
                    user.jurisdiction_kind, user.jurisdiction_code, reference
                ),
            },
        )
    posted = request.method == "POST"
    refresh = posted and request.POST.get("action") == "refresh"
    entry = CounterEntry(request.POST if posted else None, regions=regions, refresh=refresh)
    if posted and entry.is_valid():
        codes = material_codes(entry.pack)
        names = {code: material_label(code) for code in codes}
        files: dict[str, UploadedFile[bytes]] = {}
        for code in codes:
            upload = request.FILES.get(f"scan__{code}")
            if upload is not None:
                files[code] = upload
        materials = sorted(set(entry.controls.cleaned_data["materials"]) | set(files))
        document = entry.document(materials=materials, now=timezone.now())
        try:
            # Every scan is checked as a whole file before the case is created (ADR 0014):
            # one refused scan stores nothing and names the material.
            for code, upload in files.items():
                try:
                    checked_upload(upload)
                except UploadRejected as exc:
                    name = _(names.get(code, code))
                    raise UploadRejected(f"{name}：{exc.message}", code=exc.code) from None
            submission = case_submit(
                document=document,
                actor=user,
                files=files,
                counter=(user.jurisdiction_kind, user.jurisdiction_code),
            )
        except (UploadRejected, OnestopError) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("已录入，办件编号 {number}").format(number=submission.case.number)
            )
            return redirect("counter:case", number=submission.case.number)
    return render(
        request,
        "counter/new.html",
        {
            "entry": entry,
            "controls": entry.controls,
            "blocks": entry.fields.blocks(),
            "errors": posted and not refresh,
            "scans": [(code, material_label(code)) for code in material_codes(entry.pack)],
            "counter": _counter_name(user),
        },
    )


@login_required
def case_page(request: HttpRequest, number: str) -> HttpResponse:
    user = _clerk(request)
    case = _case(user, number)
    return render(
        request,
        "counter/case.html",
        {
            "case": case,
            "items": item_views(case),
            "reasons": case.decision.get("reasons", []),
            "channels": case.decision.get("ordinary_channels", []),
        },
    )


@login_required
def form_pdf(request: HttpRequest, number: str) -> HttpResponse:
    user = _clerk(request)
    case = _case(user, number)
    pack = default_packs().version(case.region, case.pack_version) or default_packs().current(
        case.region
    )
    if pack is None:
        raise Http404(_("办件不存在或不是本窗口受理的"))
    return pdf_response(
        render_unified_form(
            case_number=case.number,
            pack=pack,
            reference=current_reference(),
            document=case.document,
            counter_name=_counter_name(user),
            printed_at=timezone.now(),
        ),
        f"{case.number}-form.pdf",
    )


@login_required
def notice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    user = _clerk(request)
    case = _case(user, number)
    return pdf_response(case_notice_pdf(case), f"{case.number}.pdf")
