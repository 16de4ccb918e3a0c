"""Reads of corrections for the people allowed to see them (ADR 0042)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import can_view_case, items_for_officer
from onestop.cases.models import Case
from onestop.certificates.models import ELicence
from onestop.common.compiled import CompiledAll
from onestop.common.names import result_field_label
from onestop.common.revalidate import stamp_read_none
from onestop.corrections.models import Correction, CorrectionNotice
from onestop.corrections.services import correctable_fields
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import multiple_birth, row_name


@dataclass(frozen=True)
class Correctable:
    """One field of an issued result that may be corrected, as a form offers it."""

    item_id: int
    item: str
    item_name: str
    serial: str
    field: str
    label: str
    example: str
    max_length: int

    @property
    def key(self) -> str:
        return f"{self.item_id}:{self.field}"


def correctables(case: Case, *, only: set[int] | None = None) -> list[Correctable]:
    """The fields of the case's issued results (done items with an e-licence in force)."""
    rows = CaseItem.objects.filter(case=case, state=ItemState.DONE).order_by("position")
    if only is not None:
        rows = rows.filter(pk__in=only)
    serials = dict(
        ELicence.objects.filter(case=case, superseded_at__isnull=True).values_list(
            "item_id", "serial"
        )
    )
    found = list(rows)
    # Twins: each baby's result is its own row; the name says which baby (ADR 0036).
    multiple = multiple_birth(case, found) if only is None else multiple_birth(case)
    out = []
    for row in found:
        if row.pk not in serials:
            continue
        for spec in correctable_fields(row.item):
            out.append(
                Correctable(
                    item_id=row.pk,
                    item=row.item,
                    item_name=row_name(row, multiple),
                    serial=serials[row.pk],
                    field=spec.name,
                    label=result_field_label(spec),
                    example=spec.example,
                    max_length=spec.max_length,
                )
            )
    return out


# The parents' card's columns of a case's corrections (`case_corrections`).
CARD_COLUMNS = (
    "state",
    "field",
    "refusal_reason",
    "item__item",
    "item__newborn",
    "corrected_licence__serial",
)
# `case_corrections`' statement by the case's id, compiled once per process (issue 10:
# building and compiling it with its two joins was most of the card, cProfile).
_CASE_CORRECTIONS = CompiledAll(
    Correction,
    lambda case_id: (
        Correction.objects.filter(case_id=case_id)
        .select_related("item", "corrected_licence")
        .only(*CARD_COLUMNS)
    ),
    -7_340_029_603,
)


def case_corrections(case: Case) -> list[Correction]:
    """The case's corrections with only the columns the parents' card shows
    (``corrections/case_card.html``: state, field, refusal reason, the item's code and
    baby, the corrected licence's serial): no licence or result is decrypted for it, and
    the statement selects ~10 columns instead of three wide rows (issue 10 part 3: the
    ORM's compile cost grows with the columns; a column read after all is loaded on
    access, so a template change shows in the statement-count tests, not as wrong data)."""
    if stamp_read_none(case, Correction):
        return []
    return _CASE_CORRECTIONS.all(case.pk)


def corrections_for_officer(user: User, *, state: str | None = "open") -> QuerySet[Correction]:
    """The corrections the officer's department decides: of items in its jurisdiction."""
    mine = items_for_officer(user, CaseItem.objects.all())
    qs = Correction.objects.filter(item__in=mine.values("pk")).select_related(
        "case", "item", "licence", "corrected_licence"
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("requested_at", "pk")


def correction_for_officer(user: User, correction_id: int) -> Correction | None:
    return corrections_for_officer(user, state=None).filter(pk=correction_id).first()


def correction_for_parent(user: User, correction_id: int) -> Correction | None:
    if user.role != Role.PARENT:
        return None
    found = Correction.objects.select_related("case").filter(pk=correction_id).first()
    if found is None or not can_view_case(user, found.case):
        return None
    return found


def item_notices(item: CaseItem) -> QuerySet[CorrectionNotice]:
    """The notices on a later item's task: results it used were corrected."""
    return (
        CorrectionNotice.objects.filter(item=item)
        .select_related("correction", "correction__item", "correction__corrected_licence")
        .select_related("correction__licence", "read_by")
        .order_by("-created_at")
    )


def notices_exist() -> Exists:
    """``Exists`` of a notice on the outer query's item (annotated as ``has_notices`` on
    the task page's item: the corrections card then asks nothing when it is False)."""
    return Exists(CorrectionNotice.objects.filter(item=OuterRef("pk")))


def _count(qs: QuerySet[Any]) -> Coalesce:
    counted = qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")[:1]), Value(0))


def workbench_counts_query(user: User) -> QuerySet[User, tuple[int, int]]:
    """The statement of `workbench_counts` (also part of the queue page's stamp)."""
    mine = items_for_officer(user, CaseItem.objects.all()).values("pk")
    return (
        User.objects.filter(pk=user.pk)
        .annotate(
            waiting=_count(Correction.objects.filter(item__in=mine, state="open")),
            unread=_count(CorrectionNotice.objects.filter(item__in=mine, read_at__isnull=True)),
        )
        .values_list("waiting", "unread")
    )


# The counts a page already read in this request (the queue's stamp reads
# `workbench_counts_query` in its one statement): the queue's link asks nothing more.
WORKBENCH_COUNTS_ATTR = "_onestop_workbench_counts"


def workbench_counts_known(request: Any, user: User, counts: tuple[int, int]) -> None:
    setattr(request, WORKBENCH_COUNTS_ATTR, (user.pk, counts))


def workbench_counts(user: User, request: Any = None) -> tuple[int, int]:
    """(corrections waiting for the officer's department, notices of corrected results
    unread on its items), in one statement: the queue page's cost stays fixed (issue 10);
    none when ``request`` holds them for ``user`` (`workbench_counts_known`)."""
    kept = getattr(request, WORKBENCH_COUNTS_ATTR, None)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == user.pk:
        return kept[1]  # type: ignore[no-any-return]
    row = workbench_counts_query(user).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)
