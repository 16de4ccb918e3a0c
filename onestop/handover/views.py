"""The hand-over screens: the hospital's and the police station's batches (/work/handovers/)
and the supervisors' list (/supervise/handovers/). Thin: reads from the selectors, writes
through the services; names, not codes; dates as people write them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.audit.services import access_record
from onestop.handover.models import HandoverBatch
from onestop.handover.pdf import list_title, render_list
from onestop.handover.selectors import (
    PlaceNames,
    batch_for_officer,
    batches_for_officer,
    batches_for_supervisor,
    entry_rows,
    is_hospital_officer,
    is_station_officer,
    overdue_q,
    today_in_beijing,
)
from onestop.handover.services import (
    HandoverConflict,
    HandoverRefused,
    handover_receive,
    handover_send,
    period_label,
)
from onestop.policy.loader import default_packs

# What a batch holds and its list's title, in the page's language (the same words as
# onestop.handover.domain.DOCUMENT_NAMES and onestop.handover.pdf.list_title, which print
# the Chinese list).
DOCUMENT_LABELS = {
    "bmc_sub_page": gettext_lazy("《出生医学证明》副页"),
    "bmc_household_copy": gettext_lazy("《出生医学证明》上户联"),
    "ethnicity_confirmation_form": gettext_lazy("民族成份确认申请书"),
}
LIST_TITLES = {
    "出生医学证明副页移交清单": gettext_lazy("出生医学证明副页移交清单"),
    "出生医学证明上户联移交清单": gettext_lazy("出生医学证明上户联移交清单"),
    "出生医学证明档案移交清单": gettext_lazy("出生医学证明档案移交清单"),
}


def _refused(user: User, batch_id: int) -> None:
    """A refused look at a batch, kept as an access record."""
    access_record(
        actor=user, case_number="-", what=f"handover:{batch_id}", at=timezone.now(), granted=False
    )


def _officer(request: HttpRequest, batch_id: int | None = None) -> User:
    """A hospital's or a police station's officer; anyone else gets 404 (a staff member's
    attempt at a batch is kept as a refused access record)."""
    user = request.user
    if not isinstance(user, User) or not (is_hospital_officer(user) or is_station_officer(user)):
        if isinstance(user, User) and user.is_staff_role and batch_id is not None:
            _refused(user, batch_id)
        raise Http404(_("页面不存在"))
    return user


def _region_name(region: str) -> str:
    pack = default_packs().current(region)
    return pack.name if pack is not None else region


def _row(batch: HandoverBatch, today: Any, names: PlaceNames | None = None) -> dict[str, Any]:
    institution_name = names or PlaceNames()
    return {
        "batch": batch,
        "period": period_label(batch),
        "hospital": institution_name("hospital", batch.hospital_code),
        "station": institution_name("police_station", batch.station_code),
        "region": _region_name(batch.region),
        "count": getattr(batch, "certificates", None),
        "overdue": batch.state == HandoverBatch.State.OPEN and batch.due_on < today,
        "reminding": batch.state == HandoverBatch.State.OPEN and batch.remind_on <= today,
        "documents": "、".join(str(DOCUMENT_LABELS.get(d, d)) for d in batch.documents),
    }


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    today = today_in_beijing()
    hospital_side = is_hospital_officer(user)
    order = ("due_on", "station_code") if hospital_side else ("-sent_at",)
    names = PlaceNames()
    rows = [_row(b, today, names) for b in batches_for_officer(user).order_by(*order)[:200]]
    return render(
        request,
        "handover/batches.html",
        {
            "rows": rows,
            "hospital_side": hospital_side,
            "place": names(user.jurisdiction_kind, user.jurisdiction_code),
        },
    )


def _visible(user: User, batch_id: int) -> HandoverBatch:
    batch = batch_for_officer(user, batch_id)
    if batch is None:
        _refused(user, batch_id)
        raise Http404(_("移交批次不存在或不属于您的机构"))
    return batch


@login_required
def batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _officer(request, batch_id)
    found = _visible(user, batch_id)
    access_record(
        actor=user, case_number="-", what=f"handover:{found.pk}", at=timezone.now(), granted=True
    )
    today = today_in_beijing()
    row = _row(found, today)
    return render(
        request,
        "handover/batch.html",
        {
            **row,
            "entries": entry_rows(found, masked=False),
            "title": LIST_TITLES.get(list_title(found.documents), list_title(found.documents)),
            "can_send": is_hospital_officer(user) and found.state == HandoverBatch.State.OPEN,
            "can_receive": is_station_officer(user) and found.state == HandoverBatch.State.SENT,
            "by_post": found.method == HandoverBatch.Method.POST,
            "ethnicity": "ethnicity_confirmation_form" in found.documents,
            "sent_by": found.sent_by.label() if found.sent_by else "",
            "received_by": found.received_by.label() if found.received_by else "",
        },
    )


@login_required
def batch_pdf(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _officer(request, batch_id)
    found = _visible(user, batch_id)
    access_record(
        actor=user,
        case_number="-",
        what=f"handover:{found.pk}:pdf",
        at=timezone.now(),
        granted=True,
    )
    institution_name = PlaceNames()
    pdf = render_list(
        region_name=_region_name(found.region),
        hospital=institution_name("hospital", found.hospital_code),
        station=institution_name("police_station", found.station_code),
        period=period_label(found),
        due=found.due_on,
        documents=found.documents,
        method=found.method,
        rows=entry_rows(found, masked=False),
        tracking_number=found.tracking_number,
        batch_id=found.pk,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-{found.period}-{found.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _version(request: HttpRequest) -> int | None:
    text = request.POST.get("version", "")
    return int(text) if text.isdigit() else None


@login_required
@require_POST
def batch_send(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _officer(request, batch_id)
    found = _visible(user, batch_id)
    if not is_hospital_officer(user):
        return HttpResponse(_("只有移交机构可以移交本批次"), status=403)
    try:
        handover_send(
            batch_id=found.pk,
            actor=user,
            tracking_number=request.POST.get("tracking_number", "")[:200],
            expected_version=_version(request),
        )
        messages.success(request, _("已登记移交，等待派出所确认接收"))
    except (HandoverRefused, HandoverConflict) as exc:
        messages.error(request, exc.message)
    return redirect("handover:batch", batch_id=found.pk)


@login_required
@require_POST
def batch_receive(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _officer(request, batch_id)
    found = _visible(user, batch_id)
    if not is_station_officer(user):
        return HttpResponse(_("只有接收派出所可以确认接收本批次"), status=403)
    text = request.POST.get("received_count", "").strip()
    if not text.isdigit():
        messages.error(request, _("请填写实收份数"))
        return redirect("handover:batch", batch_id=found.pk)
    try:
        handover_receive(
            batch_id=found.pk,
            actor=user,
            received_count=int(text[:7]),
            note=request.POST.get("note", "")[:1000],
            expected_version=_version(request),
        )
        messages.success(request, _("已确认接收"))
    except (HandoverRefused, HandoverConflict) as exc:
        messages.error(request, exc.message)
    return redirect("handover:batch", batch_id=found.pk)


# --- supervisors ------------------------------------------------------------------------

STATES = ("overdue", "open", "sent", "received", "all")


@login_required
def supervise(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or user.role != Role.SUPERVISOR:
        raise Http404(_("页面不存在"))
    today = today_in_beijing()
    region = request.GET.get("region", "")
    hospital = request.GET.get("hospital", "")
    state = request.GET.get("state", "overdue")
    state = state if state in STATES else "overdue"
    scope = batches_for_supervisor(user, today=today)
    found = batches_for_supervisor(
        user, region=region, hospital=hospital, state="" if state == "all" else state, today=today
    )
    packs = default_packs()
    regions = []
    for code in packs.regions:
        pack = packs.current(code)
        if pack is not None and pack.archive_handover is not None:
            regions.append((code, pack.name))
    names = PlaceNames()
    hospitals = sorted(
        {
            (code, names("hospital", code))
            for code in scope.values_list("hospital_code", flat=True).distinct()
        },
        key=lambda pair: pair[1],
    )
    return render(
        request,
        "handover/supervise.html",
        {
            "rows": [_row(b, today, names) for b in found[:300]],
            "total": found.count(),
            "overdue": scope.filter(overdue_q(today)).count(),
            "regions": regions,
            "hospitals": hospitals,
            "region": region,
            "hospital": hospital,
            "state": state,
            "states": [
                ("overdue", _("已逾期未移交")),
                ("open", _("待移交")),
                ("sent", _("已移交，待接收")),
                ("received", _("已接收")),
                ("all", _("全部")),
            ],
        },
    )
