"""The parent's urge (催办) button on the progress page posts here."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onestop.accounts.models import Role, User
from onestop.portal.views import parent_case_or_404
from onestop.supervision.services import UrgeRefused, item_urge


@login_required(login_url="accounts:parent_login")
@require_POST
def urge(request: HttpRequest, number: str, item: str) -> HttpResponse:
    case = parent_case_or_404(request, number, "portal:urge")
    user = request.user
    if not isinstance(user, User) or user.role != Role.PARENT:
        raise Http404(_("页面不存在"))
    try:
        item_urge(case=case, item=item, parent=user)
    except UrgeRefused as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, _("已催办，经办部门会收到提醒"))
    return redirect("portal:case", number=case.number)


def _refusal(exc: UrgeRefused) -> str:
    """The refusal in the reader's language; in Chinese the service's own message (which
    also names the next working day)."""
    if (get_language() or "zh").startswith("zh"):
        return exc.message
    if exc.code == "urge_too_soon":
        return _("今天已催办过该事项，每个工作日只能催办一次，请下一个工作日再催办")
    if exc.code == "urge_not_overdue":
        return _("该事项尚未超过办理期限，超期后才可催办")
    if exc.code == "urge_paused":
        return _("该事项正等待您补正，办理时限暂停计算，请先补正")
    if exc.code == "urge_not_open":
        return _("该事项不在办理中，无需催办")
    return exc.message
