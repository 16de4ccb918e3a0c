"""The stamps of the parents' case list and case page (`onestop.common.revalidate`): the
raw rows they are built from, read in ONE statement, nothing decrypted.

The case page reads its case, its items and what hangs off them (payment notice, card
production, e-licences, corrections, ratings, timeline, confirmations, …): the stamp takes
the case's row and every row of every model with a foreign key to the case — found from
the models, so a new card's table is in without a change here — and of the models that
hang off an item only. It adds how many of the items are past their due time now (the
"已超期 / 催办" mark turns on at that instant, not at a change of a row), the parent's user
row and their messages (the menu's unread badge).

Not in the stamp: tables the page reads that belong to no case — the reference data (the
places a refused case's channels name), the working calendar (the promise's latest date)
— and the policy packs and templates (a deploy). The ETag holds the current
``ONESTOP_PAGE_CACHE_SECONDS`` window, so a change there shows within that time (5 min)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from onestop.accounts.models import User
from onestop.accounts.permissions import parent_phone_sql, parent_scope
from onestop.cases.models import Case
from onestop.common.revalidate import row_text_sql, stamp_rows, stamp_rows_of
from onestop.notifications.stamps import parent_parts_of, parent_stamp_read
from onestop.workflow.models import CaseItem


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


# Tables with a foreign key to the case that the parents' case page does not show: the
# staff's messages, deadline events and archive handover, the case's persons, newborns,
# materials and claimed newborn numbers (the page reads them from the case's document,
# which is in the case's row), and the case's notifications (the parent's own in-app
# messages are in the stamp by their phone: `parent_parts`). Fewer tables, a cheaper stamp.
NOT_SHOWN = frozenset(
    {
        "supervision.StaffMessage",
        "supervision.DeadlineEvent",
        "handover.HandoverEntry",
        "cases.Person",
        "cases.Newborn",
        "cases.Material",
        "cases.NewbornClaim",
        "notifications.Notification",
    }
)


def _hanging(model: type[Case] | type[CaseItem]) -> list[tuple[type[Any], str]]:
    """(model, column) of every model with a foreign key to ``model``, but `NOT_SHOWN`."""
    out = []
    for rel in model._meta.related_objects:
        if rel.related_model._meta.label in NOT_SHOWN:
            continue
        if rel.one_to_many or rel.one_to_one:  # (seen from ``model``: a ForeignKey to it)
            out.append((rel.related_model, str(rel.field.column)))
    return out


@cache
def case_page_sql() -> str:
    in_scope = "IN (SELECT id FROM scope)"
    items = f"IN (SELECT id FROM {_qn(CaseItem._meta.db_table)} WHERE case_id {in_scope})"
    parts = [row_text_sql(Case, f"id {in_scope}", "case")]
    on_case = set()
    for model, column in _hanging(Case):
        on_case.add(model)
        parts.append(row_text_sql(model, f"{_qn(column)} {in_scope}", model._meta.label))
    for model, column in _hanging(CaseItem):
        if model not in on_case:  # hangs off an item only
            parts.append(row_text_sql(model, f"{_qn(column)} {items}", model._meta.label))
    parts.append(
        f"SELECT 'overdue|' || CAST(COUNT(*) AS TEXT) FROM {_qn(CaseItem._meta.db_table)} "
        f"WHERE case_id {in_scope} AND due_at < %s"
    )
    return (
        f"WITH scope AS (SELECT id FROM {_qn(Case._meta.db_table)} "
        f"WHERE ({parent_phone_sql(_qn)}) AND number = %s) " + " UNION ALL ".join(parts)
    )


@cache
def case_page_labels() -> frozenset[str]:
    """The labels of the models whose rows hanging off the case `case_page_sql` reads."""
    return frozenset(model._meta.label for model, _ in (*_hanging(Case), *_hanging(CaseItem)))


def case_page_read_none(request: Any) -> frozenset[str]:
    """The models (labels) of which this case page's stamp read no row: empty when the
    request had no stamp (`common.revalidate.stamp_rows_of`). The stamp's rows of a case
    page are one case's own (its number in the parent's scope), so no row of a model is
    none of this case's."""
    rows = stamp_rows_of(request)
    if not rows:
        return frozenset()
    return case_page_labels() - {row.split("|", 1)[0] for row in rows}


@cache
def case_list_sql() -> str:
    in_scope = "IN (SELECT id FROM scope)"
    return (
        f"WITH scope AS (SELECT id FROM {_qn(Case._meta.db_table)} "
        f"WHERE {parent_phone_sql(_qn)}) "
        + " UNION ALL ".join(
            (
                row_text_sql(Case, f"id {in_scope}", "case"),
                row_text_sql(CaseItem, f"case_id {in_scope}", "item"),
            )
        )
    )


def case_page_stamp(request: Any, number: str, *args: Any, **kwargs: Any) -> list[str] | None:
    """None (the view decides, refusing as before) unless the case is the parent's own."""
    user = request.user
    index = parent_scope(user) if isinstance(user, User) else None
    if not index:
        return None  # not a parent's own cases (`parent_scope`): the view decides
    base = parent_parts_of(user.pk, index)
    sql = case_page_sql()
    # Parameters in the order of the statement: the scope, then each part in turn.
    params: list[Any] = [index, index, index, number]
    params.append(connection.ops.adapt_datetimefield_value(timezone.now()))  # overdue count
    rows = stamp_rows(f"{sql} UNION ALL {base[0]}", [*params, *base[1]])
    if not any(row.startswith("case|") for row in rows):
        return None  # not theirs (or no such case): the view refuses it as today
    return parent_stamp_read(request, user, rows)


def case_list_stamp(request: Any, *args: Any, **kwargs: Any) -> list[str] | None:
    user = request.user
    index = parent_scope(user) if isinstance(user, User) else None
    if not index:
        return None  # not a parent's own cases (`parent_scope`): the view decides
    base = parent_parts_of(user.pk, index)
    rows = stamp_rows(f"{case_list_sql()} UNION ALL {base[0]}", [index, index, index, *base[1]])
    return parent_stamp_read(request, user, rows)
