from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import parent_page_refuse
from onestop.cases.channels import item_channels, still_open_sentence
from onestop.cases.models import Case, CaseStatus
from onestop.cases.promise import case_promise
from onestop.common.revalidate import mark_without_rows, revalidated
from onestop.core.clock import to_beijing
from onestop.guidance.templatetags.guidance_tags import guidance_without_item
from onestop.policy.loader import default_packs
from onestop.portal.forms import GuideForm
from onestop.portal.guide import guide_result, questions
from onestop.portal.selectors import (
    item_views,
    outcome_from_items,
    parent_case,
    parent_case_list,
    parent_cases,
    parent_timeline,
    progress_steps,
)
from onestop.portal.stamps import case_list_stamp, case_page_read_none, case_page_stamp
from onestop.reference.idnumber import mask_name
from onestop.workflow.models import ItemState
from onestop.workflow.payment import PaymentStepRefused, insurance_code_activate


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def guide(request: HttpRequest) -> HttpResponse:
    """智能导引: choose a region, answer a few questions, see the likely result and what to
    prepare. Open to everyone (nothing personal is asked or kept)."""
    registry = default_packs()
    pack = registry.current(request.GET.get("region", ""))
    if pack is None:
        packs = [p for p in (registry.current(r) for r in registry.regions) if p is not None]
        return render(request, "portal/guide_regions.html", {"packs": packs})
    asked = questions(pack)
    bound = "check" in request.GET
    form = GuideForm(
        request.GET if bound else None,
        pack=pack,
        questions=asked,
        initial={"items": [e.item for e in pack.items if not e.automatic]},
    )
    result = None
    if bound and form.is_valid():
        result = guide_result(
            pack,
            form.cleaned_data["items"],
            form.answers(),
            today=to_beijing(timezone.now()).date(),
        )
    return render(request, "portal/guide.html", {"pack": pack, "form": form, "result": result})


def parent_case_or_404(
    request: HttpRequest,
    number: str,
    what: str,
    *,
    defer: tuple[str, ...] = (),
    outcome: bool = True,
) -> Case:
    """The signed-in parent's case ``number``; anyone else: `parent_page_refuse`.
    ``defer``: columns the page does not read (loaded on access if it does after all);
    ``outcome``: annotated with it (`parent_cases`)."""
    user = _user(request)
    if outcome:
        case = parent_cases(user).defer(*defer).filter(number=number).first()
    else:
        case = parent_case(user, number, defer)
    if case is None:
        parent_page_refuse(user, what=what, case_number=number, message=_("办件不存在或无权查看"))
    return case


@login_required(login_url="accounts:parent_login")
@revalidated(case_list_stamp)
def my_cases(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role != Role.PARENT:
        parent_page_refuse(user, what="portal:cases")
    cases = parent_case_list(user)
    return render(request, "portal/cases.html", {"cases": cases})


@login_required(login_url="accounts:parent_login")
@revalidated(case_page_stamp)
def case_progress(request: HttpRequest, number: str) -> HttpResponse:
    # The document is read with the case (not deferred): the maternity card and a twins'
    # case's baby names read it, and loading a deferred column on access built and ran a
    # statement of its own (~0.7 ms of CPU) where decrypting it here costs ~0.06 ms (issue
    # 10: a parent's first render of a case page).
    case = parent_case_or_404(request, number, "portal:case", outcome=False)
    # The cards of rows the stamp found none of (payment notice, card production,
    # corrections, ratings, follow-ups on most cases) ask no statement (issue 10 part 4).
    mark_without_rows(case, case_page_read_none(request))
    items = item_views(case)
    outcome_from_items(case, items)  # the status tags' outcome: from the items, no statement
    signed = case.signature if isinstance(case.signature, dict) else {}
    return render(
        request,
        "portal/case.html",
        {
            "case": case,
            "items": items,
            "steps": progress_steps(items),
            "promise": case_promise(case, [(i.item, i.finished_at) for i in items]),
            "timeline": parent_timeline(case),
            "reasons": case.decision.get("reasons", []),
            # per item: where for this case and what to bring (原渠道, ADR 0034)
            "channels": [c.text for c in item_channels(case)]
            if case.status == CaseStatus.REJECTED
            else case.decision.get("ordinary_channels", []),
            "still_open": still_open_sentence(case) if case.status == CaseStatus.REJECTED else "",
            # ADR 0035: the applicant's previews wait for her signature (no extra query)
            "preview_pending": any(i.awaiting == "preview" for i in items),
            # the guidance link: the region shows guidance without an item (ADR 0040), or
            # the case's guidance item is done (decided here, not by a loop in the template)
            "guidance_link": guidance_without_item(case)
            or any(i.item == "parenting_guidance" and i.state == ItemState.DONE for i in items),
            "can_supplement": case.status == CaseStatus.SUPPLEMENT
            or any(i.state == ItemState.RETURNED for i in items),
            "signature": {
                "name": mask_name(signed.get("signer_name")),
                "at": str(signed.get("signed_at", "")).replace("T", " ")[:16],
            }
            if signed.get("signer_name")
            else None,
        },
    )


@login_required(login_url="accounts:parent_login")
def case_notice(request: HttpRequest, number: str) -> HttpResponse:
    """The decision notice (受理通知书 / 一次性告知书 / 不予受理通知书) as a PDF."""
    from onestop.cases.printing import case_notice_pdf
    from onestop.common.http import pdf_response
    from onestop.hotline.selectors import notice_faq

    case = parent_case_or_404(request, number, "portal:notice")
    return pdf_response(case_notice_pdf(case, faq=notice_faq(case)), f"{case.number}.pdf")


@require_POST
@login_required(login_url="accounts:parent_login")
def insurance_code_done(request: HttpRequest, number: str) -> HttpResponse:
    """The parent marks the step after payment (Jilin: 激活医保码) done (docs/adr/0031)."""
    case = parent_case_or_404(request, number, "portal:insurance_code")
    try:
        newborn = request.POST.get("newborn", "0")  # twins: whose code (ADR 0036)
        insurance_code_activate(
            case=case, actor=_user(request), newborn=int(newborn) if newborn.isdigit() else 0
        )
    except PaymentStepRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已记录：新生儿医保码已激活"))
    return redirect("portal:case", number=case.number)
