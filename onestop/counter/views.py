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
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import cases_visible_to
from onestop.audit.services import access_record
from onestop.cases.channels import item_channels, still_open_sentence
from onestop.cases.claims import DuplicateNewborn
from onestop.cases.models import Case, CaseStatus
from onestop.cases.printing import case_notice_pdf
from onestop.cases.services import case_submit
from onestop.cases.uploads import UploadRejected, checked_upload
from onestop.certificates.models import ELicence
from onestop.certificates.printing import elicence_pdf, household_page_pdf
from onestop.common.http import pdf_response
from onestop.common.names import material_label
from onestop.core.errors import OnestopError
from onestop.counter.forms import (
    CounterEntry,
    channels_here,
    counter_regions,
    material_codes,
    scans_required,
)
from onestop.counter.printing import (
    authorization_relations,
    render_authorization_letter,
    render_unified_form,
)
from onestop.counter.spot import RECIPIENT_ROLES, authorization_view, same_visit_views
from onestop.hotline.selectors import notice_faq
from onestop.policy.loader import default_packs
from onestop.portal.selectors import item_views
from onestop.reference.selectors import current_reference, institution_name
from onestop.workflow.domain.delivery import result_of
from onestop.workflow.domain.newborns import split_key
from onestop.workflow.models import CaseItem
from onestop.workflow.same_visit import (
    HandoverRefused,
    counter_may_hand_over,
    item_complete_at_counter,
    result_hand_over,
    same_visit_rule,
)
from onestop.workflow.selectors import result_from
from onestop.workflow.services import NotPermitted, ResultInvalid, TaskConflict


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
        role = entry.controls.cleaned_data["applicant_role"]
        unscanned = [c for c in scans_required(entry.pack, role) if c not in files]
        try:
            if unscanned:
                raise UploadRejected(
                    _("由受托人申请的，须扫描上传：{names}").format(
                        names="、".join(_(names.get(c, c)) for c in unscanned)
                    ),
                    code="scan_required",
                )
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
            "letter": bool(authorization_relations(entry.pack)),
            "counter": _counter_name(user),
        },
    )


@login_required
def authorization_letter_pdf(request: HttpRequest, region: str) -> HttpResponse:
    """The region's blank 授权委托书 (沅陵 附件3), for the mother to sign."""
    user = _clerk(request)
    regions = counter_regions(user.jurisdiction_kind, user.jurisdiction_code, current_reference())
    found = next((r for r in regions if r.code == region), None)
    if found is None or not authorization_relations(found.pack):
        raise Http404(_("本窗口所在地区不受理委托申请"))
    return pdf_response(render_authorization_letter(pack=found.pack), f"{region}-authorization.pdf")


@login_required
def case_page(request: HttpRequest, number: str) -> HttpResponse:
    user = _clerk(request)
    case = _case(user, number)
    return render(
        request,
        "counter/case.html",
        {
            "case": case,
            "items": item_views(case, names=False),
            "reasons": case.decision.get("reasons", []),
            # per item: where for this case and what to bring (原渠道, ADR 0034)
            "channels": [c.text for c in item_channels(case)]
            if case.status == CaseStatus.REJECTED
            else case.decision.get("ordinary_channels", []),
            "still_open": still_open_sentence(case) if case.status == CaseStatus.REJECTED else "",
            "authorization": authorization_view(case, today=timezone.now()),
            "spots": same_visit_views(user, case, now=timezone.now()),
            "roles": RECIPIENT_ROLES,
        },
    )


def _spot_row(user: User, number: str, item: str) -> tuple[Case, CaseItem]:
    case = _case(user, number)
    code, newborn = split_key(item)  # twins: ``code-2`` is the second baby's (ADR 0036)
    row = CaseItem.objects.filter(case=case, item=code, newborn=newborn).first()
    if row is None or same_visit_rule(case, row.item) is None:
        raise Http404(_("该事项不在本窗口当场办理"))
    return case, row


@login_required
@require_POST
def spot_complete(request: HttpRequest, number: str, item: str) -> HttpResponse:
    """当场办理: the same result fields and validation as the officer's task page."""
    user = _clerk(request)
    case, row = _spot_row(user, number, item)
    version = int(request.POST.get("version", "0") or 0) or None
    try:
        item_complete_at_counter(
            item_id=row.pk,
            actor=user,
            result=result_from(row.item, request.POST),
            expected_version=version,
        )
    except (TaskConflict, ResultInvalid, NotPermitted, DuplicateNewborn) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已当场办结，电子证照已签发，请打印并交付"))
    return redirect("counter:case", number=case.number)


@login_required
def spot_print(request: HttpRequest, number: str, item: str) -> HttpResponse:
    """当场打印: the result as a PDF (the BMC's sealed licence; Jilin's household register
    page). Printing again is allowed; each print is logged."""
    user = _clerk(request)
    case, row = _spot_row(user, number, item)
    licence = ELicence.objects.filter(item=row).first()
    if not counter_may_hand_over(user, case, row) or licence is None:
        raise Http404(_("该事项尚未办结，没有可打印的结果"))
    result = result_of(row.item)
    if result == "household_register":
        pdf = household_page_pdf(licence, case.document)
    else:
        pdf = elicence_pdf(licence)
    if pdf is None:
        raise Http404(_("该证照的电子印章校验未通过，不能出具"))
    access_record(
        actor=user,
        case_number=case.number,
        what=f"print:{result}:{licence.serial}",
        at=timezone.now(),
        granted=True,
    )
    return pdf_response(pdf, f"{licence.serial}-{result}.pdf")


@login_required
@require_POST
def spot_handover(request: HttpRequest, number: str, item: str) -> HttpResponse:
    """当场交付: recorded once, to a person the case names (name and ID number checked)."""
    user = _clerk(request)
    case, row = _spot_row(user, number, item)
    try:
        result_hand_over(
            item_id=row.pk,
            actor=user,
            role=request.POST.get("role", ""),
            name=request.POST.get("name", ""),
            id_number=request.POST.get("id_number", ""),
        )
    except (TaskConflict, NotPermitted, HandoverRefused) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已记录当场交付"))
    return redirect("counter:case", number=case.number)


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
    return pdf_response(case_notice_pdf(case, faq=notice_faq(case)), f"{case.number}.pdf")
