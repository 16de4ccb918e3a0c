from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import items_for_officer
from onestop.audit.services import access_record
from onestop.calendar.selectors import current_calendar
from onestop.cases.claims import DuplicateNewborn
from onestop.cases.domain.document import FIELD_LABELS
from onestop.cases.domain.labels import NameOf, labelled_rows
from onestop.cases.uploads import material_bytes
from onestop.certificates.selectors import prior_elicences
from onestop.common.names import item_label, material_label
from onestop.departments.selectors import (
    duplicate_rows,
    officer_queue,
    task_materials,
    task_view_data,
    urgency,
)
from onestop.reference.selectors import current_reference
from onestop.unified_form.model import paper_position, value_name
from onestop.workflow.models import CaseItem
from onestop.workflow.selectors import result_form_fields, result_from
from onestop.workflow.services import (
    NotPermitted,
    ResultInvalid,
    TaskConflict,
    item_claim,
    item_complete,
    item_refuse,
    item_return,
)


def _officer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.role != Role.OFFICER:
        raise Http404(_("页面不存在"))
    return user


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    order = request.GET.get("order", "due")
    now = timezone.now()
    calendar = current_calendar()
    rows = [
        {"item": item, "name": _item_name(item.item), "light": urgency(item, now, calendar)}
        for item in officer_queue(user, order=order)[:200]
    ]
    return render(request, "departments/queue.html", {"rows": rows, "order": order})


def _groups(shown: dict[str, Any], name_of: NameOf) -> list[tuple[str, list[tuple[str, str]]]]:
    """The case data an item's officers see, grouped and ordered as the paper form is
    (新生儿, 母亲, 父亲, 出生登记 …), each group titled."""
    ordered = sorted(shown, key=paper_position)
    groups = []
    for key in ordered:
        rows = labelled_rows({key: shown[key]}, translate=_, name_of=name_of)
        if rows:
            groups.append((_(FIELD_LABELS.get(key, key)), rows))
    return groups


def _value_names(request: HttpRequest) -> NameOf:
    reference = current_reference()
    language = get_language() or "zh-hans"

    def name_of(path: str, value: Any) -> str | None:
        return value_name(reference, path, value, language=language, translate=_)

    return name_of


def _item_name(code: str) -> str:
    return item_label(code)


def _visible_item(user: User, item_id: int) -> CaseItem:
    """The item if it is in the officer's department and jurisdiction; 404 otherwise, so a
    guessed id reveals nothing."""
    item = (
        items_for_officer(user, CaseItem.objects.select_related("case", "claimed_by"))
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        access_record(
            actor=user, case_number="-", what=f"task:{item_id}", at=timezone.now(), granted=False
        )
        raise Http404(_("事项不存在或不属于您的辖区"))
    return item


@login_required
def task(request: HttpRequest, item_id: int) -> HttpResponse:
    user = _officer(request)
    item = _visible_item(user, item_id)
    access_record(
        actor=user,
        case_number=item.case.number,
        what=f"task:{item.item}",
        at=timezone.now(),
        granted=True,
    )
    prior = prior_elicences(item)  # 证照免交: earlier items' e-licences, seals checked
    return render(
        request,
        "departments/task.html",
        {
            "item": item,
            "name": _item_name(item.item),
            # The pure labels module gives Chinese; the labels are translated here.
            # Names, not codes (hospitals, stations, places, ethnic groups), and dates as
            # people write them.
            "groups": _groups(task_view_data(item), _value_names(request)),
            "fields": result_form_fields(item.item),
            "prior": prior,
            # Staff see possible duplicates (same mother, close birth time) before they issue.
            "duplicates": duplicate_rows(user, item),
            "materials": [
                {
                    "code": m.code,
                    "name": material_label(m.code),
                    "token": m.token,
                    "source": m.get_source_display(),
                    "has_file": bool(m.file),
                }
                for m in task_materials(item)
            ],
            "light": urgency(item, timezone.now()),
        },
    )


@login_required
@require_POST
def task_action(request: HttpRequest, item_id: int, action: str) -> HttpResponse:
    user = _officer(request)
    item = _visible_item(user, item_id)
    version = int(request.POST.get("version", "0") or 0) or None
    reasons = [r for r in request.POST.get("reasons", "").splitlines() if r.strip()]
    try:
        if action == "claim":
            item_claim(item_id=item.pk, actor=user, expected_version=version)
            messages.success(request, _("已领取，请办理"))
        elif action == "complete":
            result = result_from(item.item, request.POST)
            item_complete(item_id=item.pk, actor=user, result=result, expected_version=version)
            messages.success(request, _("已办结，结果已生成电子证照"))
            return redirect("departments:queue")
        elif action == "return":
            item_return(item_id=item.pk, actor=user, reasons=reasons, expected_version=version)
            messages.success(request, _("已退回补正，办理时限暂停"))
            return redirect("departments:queue")
        elif action == "refuse":
            item_refuse(item_id=item.pk, actor=user, reasons=reasons, expected_version=version)
            messages.success(request, _("已不予办理，后续事项已取消并告知申请人"))
            return redirect("departments:queue")
        else:
            raise Http404(_("未知操作"))
    except (TaskConflict, ResultInvalid, NotPermitted, DuplicateNewborn) as exc:
        messages.error(request, exc.message)
    return redirect("departments:task", item_id=item.pk)


@login_required
def task_material(request: HttpRequest, item_id: int, token: str) -> HttpResponse:
    """Stream one uploaded material the item's department may see (never a public URL)."""
    user = _officer(request)
    item = _visible_item(user, item_id)
    material = task_materials(item).filter(token=token).first()
    if material is None or not material.file:
        raise Http404(_("材料不存在或本事项无权查看"))
    access_record(
        actor=user,
        case_number=item.case.number,
        what=f"material:{material.code}",
        at=timezone.now(),
        granted=True,
    )
    response = HttpResponse(material_bytes(material), content_type=material.content_type)
    response["Content-Disposition"] = f'inline; filename="{material.code}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
