"""The parents' in-app messages (站内消息): newest first, marked read when shown."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import parent_page_refuse
from onestop.common.paging import KnownCountPaginator
from onestop.common.revalidate import revalidated
from onestop.notifications.models import Notification
from onestop.notifications.selectors import parent_messages, parent_messages_slice
from onestop.notifications.services import notifications_mark_read
from onestop.notifications.stamps import (
    inbox_stamp,
    parent_messages_read,
    parent_unread_marked,
)

PAGE_SIZE = 20


def _parent(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404(_("页面不存在"))
    if user.role != Role.PARENT:
        parent_page_refuse(user, what="portal:messages")
    return user


class _Messages:
    """The parent's messages as the paginator takes them once their number is known: it
    asks only for its page's slice (`parent_messages_slice`)."""

    def __init__(self, user: User) -> None:
        self.user = user

    def __getitem__(self, rows: slice) -> list[Notification]:
        return parent_messages_slice(self.user, rows.start, rows.stop, PAGE_SIZE)


@login_required(login_url="accounts:parent_login")
@revalidated(inbox_stamp)
def inbox(request: HttpRequest) -> HttpResponse:
    user = _parent(request)
    kept = parent_messages_read(request, user)  # counted by the page's stamp
    # None (the stamp counted none): no queryset to build either (~10 % of this page);
    # counted: the page's rows read by a statement compiled once (`_Messages`).
    messages: Any = (
        parent_messages(user) if kept is None else [] if kept[1] == 0 else _Messages(user)
    )
    paginator = KnownCountPaginator(
        messages, PAGE_SIZE, count=kept[1] if kept is not None else None
    )
    page = paginator.get_page(request.GET.get("page"))
    # No message (the stamp counted none): nothing to read — even an empty slice of the
    # queryset is compiled to SQL, ~15 % of this page's CPU (issue 10 part 3).
    shown: list[Notification] = list(page.object_list) if paginator.count else []
    rows = [{"message": m, "new": m.read_at is None} for m in shown]
    unread = [m.pk for m in shown if m.read_at is None]
    if unread:  # a page read before costs no UPDATE
        marked = notifications_mark_read(user=user, ids=unread)
        parent_unread_marked(request, user, marked)  # the header's badge after it
    return render(request, "notifications/inbox.html", {"page": page, "rows": rows})
