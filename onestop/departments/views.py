from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import items_for_officer
from onestop.audit.services import access_record
from onestop.calendar.domain import WorkingCalendar
from onestop.cases.claims import DuplicateNewborn
from onestop.cases.domain.document import FIELD_LABELS
from onestop.cases.domain.labels import NameOf, labelled_rows
from onestop.cases.models import Material
from onestop.cases.uploads import material_bytes
from onestop.certificates.pdf import render_preview
from onestop.certificates.preview import signed_lines, signed_preview_for
from onestop.certificates.selectors import prior_elicences
from onestop.common.http import pdf_response
from onestop.common.markup import escaped as _escape
from onestop.common.markup import value_text as _cell
from onestop.common.names import baby_mark, item_label, material_label
from onestop.common.paging import KnownCountPaginator
from onestop.common.revalidate import revalidated
from onestop.core.written import written
from onestop.departments.selectors import (
    QUEUE_PAGE_SIZE,
    duplicate_rows,
    officer_queue_keys,
    queue_page_rows,
    task_material_list,
    task_materials,
    task_notes,
    task_page_item,
    task_view_data,
    urgency,
)
from onestop.departments.stamps import (
    QueueRow,
    queue_calendar,
    queue_count,
    queue_rows,
    queue_stamp,
)
from onestop.reference.selectors import current_reference
from onestop.supervision.selectors import staff_unread_known
from onestop.unified_form.model import paper_position, value_name
from onestop.workflow.card import REPORTABLE as CARD_STATUSES
from onestop.workflow.card import CardStatusRefused, card_status_report
from onestop.workflow.domain.urgency import URGENCY_LABELS, Urgency
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import (
    multiple_birth_once,
    newborn_word,
    newborn_word_of,
    remember_multiple_birth,
    result_form_fields,
    result_from,
)
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
@revalidated(queue_stamp)
def queue(request: HttpRequest) -> HttpResponse:
    """The officer's open items, a page at a time; an unchanged page is answered from its
    stamp (`onestop.departments.stamps`, ADR 0026 amendment "session 19")."""
    user = _officer(request)
    order = "new" if request.GET.get("order") == "new" else "due"
    paginator = KnownCountPaginator(
        officer_queue_keys(user, order=order), QUEUE_PAGE_SIZE, count=queue_count(request)
    )
    page = paginator.get_page(request.GET.get("page"))
    # The rows the stamp read (no statement), else the page's rows read here.
    rows = queue_rows(request, order, page.number)
    if rows is None:  # not stamped (or not readable back): read the page's rows
        # The page's keys are a subquery (LIMIT/OFFSET in the index's order): one statement.
        keys = cast("QuerySet[CaseItem, int]", page.object_list)
        rows = [_queue_row(item) for item in queue_page_rows(keys, order=order)]
    return render(
        request,
        "departments/queue.html",
        {
            "rows_html": _queue_rows_html(rows, timezone.now(), queue_calendar(request)),
            "order": order,
            "page": page,
        },
    )


def _queue_row(item: CaseItem) -> QueueRow:
    """A row the view read itself (`queue_page_rows`) as the stamp's rows are given."""
    return QueueRow(
        pk=item.pk,
        item=item.item,
        newborn=item.newborn,
        state=item.state,
        due_at=item.due_at,
        due_provisional=item.due_provisional,
        received_at=item.received_at,
        number=item.case.number,
        claimer=item.claimed_by.label() if item.claimed_by else "",
        urge_total=getattr(item, "urge_total", 0),  # annotated by queue_page_rows
        twins=getattr(item, "twins", False),
        late=None,
        amber=None,
    )


def _light(row: QueueRow, now: datetime, calendar: WorkingCalendar) -> str:
    """The row's light (`selectors.urgency`): from the stamp's flags when it read them
    (past due, before the warning cutoff, at the stamp's instant), else judged now."""
    if row.late is None or row.amber is None:
        return urgency(row, now, calendar)
    if row.due_at is None or row.state == ItemState.RETURNED:
        return "normal"
    return "overdue" if row.late else "warning" if row.amber else "normal"


def _queue_rows_html(rows: Iterable[QueueRow], now: datetime, calendar: WorkingCalendar) -> str:
    """The queue's table rows (the body of its ``<tbody>``), the one definition of their
    markup: written and escaped here rather than by the template engine (issue 10 part 3:
    50 rows × ~20 template nodes were about a third of a rendered queue's CPU), the labels
    translated and the task URL reversed once per page."""
    language = get_language() or "zh-hans"
    task_url = reverse("departments:task", args=[0])[: -len("0/")]
    # str(): the labels translated now, not a lazy text formatted once per row.
    states = {value: escape(str(label)) for value, label in ItemState.choices}
    l_number, l_item, l_state, l_due = (
        escape(_("办件编号")),
        escape(_("事项")),
        escape(_("状态")),
        escape(_("办理期限")),
    )
    provisional = (
        ' <span class="badge provisional" data-due-provisional title="{}">{}</span>'.format(
            escape(_("工作日历尚未录入该年度的节假日安排，发布后自动重新计算")),
            escape(_("暂按双休日计算")),
        )
    )
    urged = _("已催办 %(n)s 次")
    names: dict[str, str] = {}
    lights: dict[str, tuple[str, str]] = {}
    out = []
    for row in rows:
        if row.item not in names:
            names[row.item] = _escape(str(_item_name(row.item)))
        light = _light(row, now, calendar)
        if light not in lights:
            lights[light] = (_escape(light), _escape(str(_(URGENCY_LABELS[Urgency(light)]))))
        light_class, light_name = lights[light]
        # Which baby, for twins or more (ADR 0036): "第二个孩子", never an index.
        word = newborn_word_of(row.item, row.newborn, row.twins)
        baby = baby_mark(word)
        claimed = f' <span class="muted">{_escape(row.claimer)}</span>' if row.claimer else ""
        count = row.urge_total
        n = _escape(str(count))
        urge = f' <span class="badge urged">{urged % {"n": n}}</span>' if count else ""
        due = (
            _escape(written(row.due_at, language=language))
            + (provisional if row.due_provisional else "")
            if row.due_at
            else "—"
        )
        state = _escape(row.state)
        out.append(
            "\n  <tr>\n"
            f'    <td><span class="light {light_class}" title="{light_name}"></span></td>\n'
            f'    <td data-label="{l_number}"><a href="{_escape(f"{task_url}{row.pk}/")}">'
            f"{_escape(row.number)}</a></td>\n"
            f'    <td data-label="{l_item}">{names[row.item]}{baby}</td>\n'
            f'    <td data-label="{l_state}"><span class="state {state}">'
            f"{states.get(row.state, state)}</span>{claimed}{urge}</td>\n"
            f'    <td data-label="{l_due}">{due}</td>\n'
            "  </tr>\n  "
        )
    if not out:
        out.append('<tr><td colspan="5">{}</td></tr>'.format(escape(_("暂无待办事项"))))
    return mark_safe("".join(out))  # every value above is escaped


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


def _groups_html(groups: Iterable[tuple[Any, Iterable[tuple[Any, Any]]]]) -> str:
    """The task page's "本事项所需信息" card's tables (`_groups`), the one definition of
    their markup: written here rather than by the template engine (issue 10 part 3: ~40
    rows a page, two variables each, were a fifth of the page's template CPU)."""
    out = []
    for title, rows in groups:
        cells = "".join(
            f"<tr><th>{_cell(label)}</th><td>{_cell(value)}</td></tr>" for label, value in rows
        )
        out.append(f"<h3>{_cell(title)}</h3>\n  <table><tbody>{cells}</tbody></table>")
    return mark_safe("".join(out))  # every value above is escaped


def _materials_html(item_id: int, materials: Iterable[Material]) -> str:
    """The task page's list of the materials its department may see (`task_material_list`),
    each a link to the file where there is one: the ``<li>`` items, written here as the
    queue's rows are (issue 10 part 3)."""
    out = []
    view = ""
    for m in materials:
        text = _("%(name)s（%(detail)s）") % {  # the words around them, translated
            "name": _cell(material_label(m.code)),
            "detail": _cell(m.get_source_display()),
        }
        link = ""
        if m.file:
            view = view or _cell(_("查看"))
            url = conditional_escape(reverse("departments:material", args=[item_id, m.token]))
            link = f' <a href="{url}">{view}</a>'
        out.append(f"<li>{text}{link}</li>")
    return mark_safe("".join(out))  # every value above is escaped


def _value_names(request: HttpRequest) -> NameOf:
    reference = current_reference()
    language = get_language() or "zh-hans"

    def name_of(path: str, value: Any) -> str | None:
        return value_name(reference, path, value, language=language, translate=_)

    return name_of


def _item_name(code: str) -> str:
    return item_label(code)


def _visible_item(user: User, item_id: int, *, page: bool = False) -> CaseItem:
    """The item if it is in the officer's department and jurisdiction; 404 otherwise, so a
    guessed id reveals nothing. ``page``: read with what the task page shows of it in the
    same statement (`task_page_items`)."""
    if page:
        item = task_page_item(user, item_id)
    else:
        qs = items_for_officer(user, CaseItem.objects.select_related("case", "claimed_by"))
        item = qs.filter(pk=item_id).first()
    if item is None:
        access_record(
            actor=user, case_number="-", what=f"task:{item_id}", at=timezone.now(), granted=False
        )
        raise Http404(_("事项不存在或不属于您的辖区"))
    return item


@login_required
def task(request: HttpRequest, item_id: int) -> HttpResponse:
    user = _officer(request)
    item = _visible_item(user, item_id, page=True)
    access_record(
        actor=user,
        case_number=item.case.number,
        what=f"task:{item.item}",
        at=timezone.now(),
        granted=True,
    )
    # Read with the item (`task_page_items`): not asked again by the page's parts.
    remember_multiple_birth(item.case, getattr(item, "twins", False))
    unread = getattr(item, "staff_unread", None)
    if isinstance(unread, int):
        staff_unread_known(request, user, unread)
    prior = prior_elicences(item)  # 证照免交: earlier items' e-licences, seals checked
    return render(
        request,
        "departments/task.html",
        {
            "item": item,
            "name": _item_name(item.item),
            "baby": newborn_word(item, multiple_birth_once(item.case)),
            # The pure labels module gives Chinese; the labels are translated here.
            # Names, not codes (hospitals, stations, places, ethnic groups), and dates as
            # people write them.
            "groups_html": _groups_html(_groups(task_view_data(item), _value_names(request))),
            "fields": result_form_fields(item.item),
            "prior": prior,
            # ADR 0035: the applicant's e-signature on the previews (and, for the police,
            # the signed 常住人口登记表), its seal and digest checked.
            "signed_preview": signed_preview_for(item),
            "notes": task_notes(item),
            # Staff see possible duplicates (same mother, close birth time) before they issue.
            "duplicates": duplicate_rows(user, item),
            "materials_html": _materials_html(item.pk, task_material_list(item)),
            "light": urgency(item, timezone.now()),
            "card": getattr(item, "card", None),  # read with the item (None: no card item)
            "card_statuses": [(s.value, s.label) for s in CARD_STATUSES],
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
        elif action == "card_status":
            # 人社: 制卡中 / 已制卡 / 已送达网点 (docs/adr/0037)
            card_status_report(
                item_id=item.pk,
                actor=user,
                status=request.POST.get("status", ""),
                card_number=request.POST.get("card_number", "").strip(),
                expected_version=version,
            )
            messages.success(request, _("已报告制卡状态，申请人已收到通知"))
        elif action == "refuse":
            item_refuse(item_id=item.pk, actor=user, reasons=reasons, expected_version=version)
            messages.success(request, _("已不予办理，后续事项已取消并告知申请人"))
            return redirect("departments:queue")
        else:
            raise Http404(_("未知操作"))
    except (TaskConflict, ResultInvalid, NotPermitted, DuplicateNewborn, CardStatusRefused) as exc:
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


@login_required
def task_signed_pdf(request: HttpRequest, item_id: int, kind: str) -> HttpResponse:
    """A document the applicant e-signed (ADR 0035), as signed, for the officers of the item
    that may see it (the hospital: 出生医学证明 and 首次签发登记表 to archive; the police: the
    常住人口登记表); only while the signature record verifies."""
    user = _officer(request)
    item = _visible_item(user, item_id)
    view = signed_preview_for(item)
    document = next((d for d in view.documents if d.kind == kind), None) if view else None
    if view is None or document is None:
        raise Http404(_("该事项没有这份签字文书"))
    access_record(
        actor=user,
        case_number=item.case.number,
        what=f"signed:{kind}",
        at=timezone.now(),
        granted=True,
    )
    pdf = render_preview(
        title=document.title,
        rows=list(document.rows),
        lines=signed_lines(view.evidence, item.case.number),
        mark=None,
        suffix="（申请人已签字确认）",
    )
    return pdf_response(pdf, f"{item.case.number}-{kind}.pdf")
