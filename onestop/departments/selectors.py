"""Reads for the department workbench: the officer's queue and what one task may show."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from django.db.models import Case as SqlCase
from django.db.models import Exists, OuterRef, QuerySet, Value, When

from onestop.accounts.models import User
from onestop.accounts.permissions import items_for_officer, officer_scope_key
from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.domain import WorkingCalendar
from onestop.calendar.selectors import current_calendar
from onestop.cases.claims import possible_duplicates
from onestop.cases.domain.newborns import mask_case_number
from onestop.cases.models import Material
from onestop.catalogue import catalogue
from onestop.catalogue.names import CatalogueView
from onestop.common.compiled import CompiledAll, CompiledPerKey
from onestop.common.kept import Kept
from onestop.corrections.selectors import notices_exist
from onestop.supervision.selectors import staff_unread_count, urge_count
from onestop.workflow.domain.urgency import classify
from onestop.workflow.models import CaseItem, ItemState

OPEN_STATES = (ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED)
# The officer's queue is shown a page at a time (issue 10: 200 rows a page, each loading and
# decrypting its whole case document, decision and result, was most of a request's time)
# and reads only the columns the list shows: nothing encrypted.
QUEUE_PAGE_SIZE = 50
QUEUE_COLUMNS = (
    "id",
    "item",
    "newborn",
    "state",
    "due_at",
    "due_provisional",
    "received_at",
    "case",
    "case__number",
    "claimed_by",
    "claimed_by__username",
    "claimed_by__display_name",
)
# The queue's order, its one definition: by due time, then arrival ("due", the default), or
# the newest arrival first ("new"), NULLs where the database puts them. The pages go through
# the open items in it (`officer_queue_keys`: the partial index ``caseitem_open_desk_due``'s
# order); a page's rows are shown in it, ties by id (`queue_row_order`: `officer_queue`,
# and the row number the queue's stamp reads its rows with, `departments.stamps`).
QUEUE_ORDERS: Mapping[str, tuple[str, ...]] = {
    "due": ("due_at", "received_at"),
    "new": ("-received_at",),
}


def queue_order(order: str) -> tuple[str, ...]:
    """The queue's order ``order`` ("new", else "due") as ``order_by`` takes it."""
    return QUEUE_ORDERS["new" if order == "new" else "due"]


def queue_row_order(order: str) -> tuple[str, ...]:
    """The order a page's rows are shown in: the queue's, ties by id."""
    return (*queue_order(order), "pk")


# What each item's department may see (least privilege), from the catalogue
# (onestop/catalogue/data/items.yaml): the sections of the case document,
ITEM_SECTIONS: Mapping[str, tuple[str, ...]] = CatalogueView(
    lambda c: {code: tuple(i.sections) for code, i in c.items.items()}
)
# the fields of each parent's section,
PARENT_FIELDS_BY_ITEM: Mapping[str, tuple[str, ...]] = CatalogueView(
    lambda c: {code: tuple(i.parent_fields) for code, i in c.items.items()}
)
# and the uploaded or declared materials.
ITEM_MATERIALS: Mapping[str, tuple[str, ...]] = CatalogueView(
    lambda c: {code: tuple(i.materials) for code, i in c.items.items()}
)


def task_materials(item: CaseItem) -> QuerySet[Material]:
    allowed = ITEM_MATERIALS.get(item.item, ())
    return Material.objects.filter(case=item.case, code__in=allowed).order_by("code", "uploaded_at")


# The task page's list of materials, its statement compiled once per item code and the
# materials it may see (session 22: ~10 % of the page's CPU was compiling it).
_TASK_MATERIALS: Kept[tuple[str, tuple[str, ...]], CompiledAll[Material]] = Kept(size=256)


def task_material_list(item: CaseItem) -> list[Material]:
    """``list(task_materials(item))``: the materials the item's department may see."""
    allowed = tuple(ITEM_MATERIALS.get(item.item, ()))

    def build(case_id: Any) -> QuerySet[Material]:
        return Material.objects.filter(case_id=case_id, code__in=allowed).order_by(
            "code", "uploaded_at"
        )

    compiled = _TASK_MATERIALS.get_or_make(
        (item.item, allowed), lambda: CompiledAll(Material, build, -7_340_029_137)
    )
    return compiled.all(item.case_id)


def officer_queue(user: User, *, order: str = "due") -> QuerySet[CaseItem]:
    """The open items of the officer's department and jurisdiction, each with ``urge_total``
    (how many times the parents urged it, 催办): the list's columns only (`QUEUE_COLUMNS`;
    no case document, decision or result is read or decrypted)."""
    qs = items_for_officer(user, _queue_columns()).filter(state__in=OPEN_STATES)
    return qs.order_by(*queue_row_order(order))


def _queue_columns() -> QuerySet[CaseItem]:
    """Items with the queue's columns (`QUEUE_COLUMNS`), their urge counts and ``twins``."""
    qs = CaseItem.objects.select_related("case", "claimed_by").only(*QUEUE_COLUMNS)
    # ``twins``: the case runs items per newborn (ADR 0036), so the row says which baby.
    twins = Exists(CaseItem.objects.filter(case=OuterRef("case_id"), newborn__gt=0))
    return qs.annotate(urge_total=urge_count(), twins=twins)


def queue_page_rows(page: QuerySet[CaseItem, int], *, order: str = "due") -> QuerySet[CaseItem]:
    """The rows of one page of the queue, in the queue's order: ``page`` MUST be a slice of
    `officer_queue_keys`, which applies the officer's access scope and the open states (its
    one statement's subquery) — this does not apply them again; the rows are those keys'
    items, with `officer_queue`'s columns. Selected by their keys alone (issue 10 part 4):
    with the scope repeated here as well, PostgreSQL walked every open item of the desk to
    match each against the page's keys (a semi-join growing with the desk's open items: 87
    rows for 50 at 20,000 cases, ~2,000 at 500,000) instead of reading the page's rows by
    key. The rows are the
    same: the keys are already the scope's open items."""
    return _queue_columns().filter(pk__in=page).order_by(*queue_row_order(order))


def officer_queue_keys(user: User, *, order: str = "due") -> QuerySet[CaseItem, int]:
    """The ids of the officer's open items in the queue's order, and nothing else: what the
    queue pages through. A page of them is read as the first entries of the partial index
    ``caseitem_open_desk_due`` (issue 10, part 4), and only that page's rows are then joined
    to their cases, claimers and urge counts (`queue_page_rows`, one statement) — not
    every open item of the desk before the sort."""
    qs = items_for_officer(user, CaseItem.objects.all()).filter(state__in=OPEN_STATES)
    return qs.order_by(*queue_row_order(order)).values_list("pk", flat=True)  # stable pages


# The task page's item statement, built once per officer and scope in this process (its
# querysets — the access scope, four annotations, four joins — cost ~4,500 Python calls to
# build, a third of the statement's CPU, issue 10 part 3); each request filters a clone
# of it by the item's id. The key holds every column of the user that `items_for_officer`
# and the header's count read, so a changed scope builds afresh.
_TASK_ITEMS: Kept[tuple[Any, ...], QuerySet[CaseItem]] = Kept(size=2000)


def task_page_items(user: User) -> QuerySet[CaseItem]:
    """The items the officer may open (`items_for_officer`), each read with what the task
    page shows of it in the same statement (issue 10 part 3): its case and claimer,
    ``urge_total`` (催办, the banner), ``twins`` (whether the case is a multiple birth, ADR
    0036), ``has_notices`` (the corrections card, ADR 0042), the officer's unread work
    messages (``staff_unread``, the header's badge), its social security card's progress
    (``card``, ADR 0037) and the case's previews signed by the applicant
    (``case.preview_confirmation``, ADR 0035). Never evaluated itself: filter it."""
    return _TASK_ITEMS.get_or_make(officer_scope_key(user), lambda: _task_page_items(user))


# The task page's item read by its id, compiled once per officer and scope (session 22:
# compiling that statement — four annotations, four joins — was ~30 % of the page's CPU
# although only the id differs between requests); rows made into instances as Django makes
# them (`CompiledFirst`).
_TASK_PAGE_ITEM: CompiledPerKey[CaseItem] = CompiledPerKey(CaseItem, -7_340_029_131, size=2000)


def task_page_item(user: User, item_id: int) -> CaseItem | None:
    """``task_page_items(user).filter(pk=item_id).first()``: the item if the officer may
    open it (the same access scope), with what the task page shows of it; else None."""
    return _TASK_PAGE_ITEM.first(
        officer_scope_key(user), lambda: lambda pk: task_page_items(user).filter(pk=pk), item_id
    )


def _task_page_items(user: User) -> QuerySet[CaseItem]:
    qs = CaseItem.objects.select_related(
        "case", "claimed_by", "card", "case__preview_confirmation"
    ).annotate(
        urge_total=urge_count(),
        twins=Exists(CaseItem.objects.filter(case=OuterRef("case_id"), newborn__gt=0)),
        has_notices=notices_exist(),
        staff_unread=staff_unread_count(user),
    )
    return items_for_officer(user, qs)


class Due(Protocol):
    """What `urgency` reads of an item (a `CaseItem`, a queue row of the stamp)."""

    @property
    def due_at(self) -> datetime | None: ...

    @property
    def state(self) -> str: ...


def urgency(item: Due, now: datetime, calendar: WorkingCalendar | None = None) -> str:
    """The item's light now, by the working-day rules of ``workflow.domain.urgency``
    (less than one working day left: warning). A returned item's clock is paused: no light."""
    if item.due_at is None or item.state == ItemState.RETURNED:
        return "normal"
    if item.due_at < now:
        return "overdue"
    # A provisional due time (beyond the table) is judged on weekends only, like the sweep.
    return classify(weekends_beyond(calendar or current_calendar()), item.due_at, now).value


def task_view_data(item: CaseItem) -> dict[str, Any]:
    """Only the parts of the case document this item's department needs."""
    document: dict[str, Any] = item.case.document
    sections = ITEM_SECTIONS.get(item.item, ())
    parent_fields = PARENT_FIELDS_BY_ITEM.get(item.item, ("name",))
    shown: dict[str, Any] = {}
    for section in sections:
        value = document.get(section)
        if section in ("mother", "father") and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k in parent_fields}
        if section == "newborns" and isinstance(value, list) and len(value) > 1:
            # Twins or more (ADR 0036): a per-newborn item sees only the baby it is for.
            if catalogue().per_newborn(item.item) and item.newborn < len(value):
                value = [value[item.newborn]]
        if value not in (None, {}, []):
            shown[section] = value
    return shown


# The items a special registration's route concerns (ADR 0034): the registration itself.
ROUTED_ITEMS = ("birth_registration",)


def task_notes(item: CaseItem) -> list[str]:
    """Why this task is where it is, for the officer: a special registration (Lanzhou's
    student collective hukou, a serviceman parent) routed to the other parent's family
    hukou says so on the registration task (ADR 0034)."""
    if item.item not in ROUTED_ITEMS:
        return []
    decision = item.case.decision if isinstance(item.case.decision, dict) else {}
    route = decision.get("registration_route")
    note = route.get("note") if isinstance(route, dict) else None
    return [note] if isinstance(note, str) and note else []


def duplicate_rows(user: User, item: CaseItem) -> list[dict[str, Any]]:
    """Other active cases that may be the same newborn (same mother, birth within 48 hours,
    or a shared hospital delivery record), for the officer to see before issuing (issue 8,
    defect 3). A case the officer may open (a task of theirs in it) is linked and shown in
    full; any other is only its masked number and status."""
    rows = []
    for other in possible_duplicates(item.case):
        task = (
            items_for_officer(user, CaseItem.objects.filter(case=other))
            .order_by(SqlCase(When(item=item.item, then=Value(0)), default=Value(1)), "position")
            .first()
        )
        rows.append(
            {
                "number": other.number if task else mask_case_number(other.number),
                "status": other.get_status_display(),
                "submitted_at": other.submitted_at,
                "task_id": task.pk if task else None,
            }
        )
    return rows
