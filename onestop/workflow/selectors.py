"""Reads of a case's items: the outcome of a finished case (all done, partly refused,
nothing done), derived from the items' states (issue 8, defect 5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Value, When

from onestop.cases.models import Case, CaseStatus
from onestop.catalogue import catalogue
from onestop.common.compiled import CompiledAll
from onestop.common.names import result_field_label
from onestop.common.revalidate import stamp_read_none
from onestop.eligibility.prereview import ordinary_channels
from onestop.eligibility.reasons import ITEM_NAMES
from onestop.policy.loader import default_packs
from onestop.workflow.domain.newborns import newborn_ordinal, split_key
from onestop.workflow.domain.outcome import OUTCOME_LABELS, NotDone, Outcome, case_outcome
from onestop.workflow.domain.results import RESULT_FIELDS
from onestop.workflow.models import CardProduction, CaseItem, ItemState, PaymentNotice

# The attribute a task row may carry saying whether its case runs items per newborn of a
# multiple birth, so that what shows the row does not ask (`multiple_birth`): annotated by
# the reads that ask it in the row's query (`integration.selectors`), set by `_lock` from
# the case's rows it holds (issue 10 part 2).
MULTIPLE = "case_multiple_birth"


def multiple_birth_known(rows: Sequence[CaseItem]) -> bool | None:
    """``multiple_birth`` from every row of a case, where that answers without a query
    (None: one row only, which a query must settle)."""
    if any(r.newborn for r in rows):
        return True
    return False if len(rows) > 1 else None


def multiple_birth(case: Case, rows: Iterable[CaseItem] = ()) -> bool:
    """Whether ``case`` runs items per newborn of a multiple birth (多胞胎, ADR 0036): some
    row is for a second newborn (``rows`` when the caller holds them all, else a query)."""
    rows = list(rows)
    if any(r.newborn for r in rows):
        return True
    if len(rows) > 1:
        return False
    return CaseItem.objects.filter(case=case, newborn__gt=0).exists()


def multiple_birth_once(case: Case) -> bool:
    """``multiple_birth`` for read-only pages that ask it from several places (the officer's
    task page and its corrections card): asked once per case instance (one request) and
    kept on it. Not for services: a case instance held across ``items_create`` would keep
    the answer from before its items existed."""
    known = case.__dict__.get("_multiple_birth")
    if known is None:
        known = multiple_birth(case)
        case.__dict__["_multiple_birth"] = known
    return bool(known)


def remember_multiple_birth(case: Case, known: bool) -> None:
    """Tell ``multiple_birth_once`` the answer a read of this request already gave (the
    task page reads it with its item: ``Exists`` of a row for a second newborn, the same
    question ``multiple_birth`` asks)."""
    case.__dict__["_multiple_birth"] = bool(known)


def twin_case_ids(case_ids: Iterable[int]) -> set[int]:
    """Which of these cases run items per newborn of a multiple birth (one query)."""
    ids = set(case_ids)
    if not ids:
        return set()
    found = CaseItem.objects.filter(case_id__in=ids, newborn__gt=0).values_list("case_id")
    return {case_id for (case_id,) in found.distinct()}


def key_name(key: str, multiple: bool) -> str:
    """The name people read for an item of a case by its key: ``出生医学证明办理（第二个孩子）``
    for the second newborn's; the plain name in a single-birth case. Never an index."""
    code, newborn = split_key(key)
    name = ITEM_NAMES.get(code, code)
    if not multiple or (newborn == 0 and not _per_newborn(code)):
        return name
    return f"{name}（{newborn_ordinal(newborn)}）"


def _per_newborn(code: str) -> bool:
    return catalogue().per_newborn(code)


def row_name(row: CaseItem, multiple: bool) -> str:
    """`key_name` of a row."""
    return key_name(row.key, multiple)


def newborn_word(row: CaseItem, multiple: bool) -> str:
    """Which baby ``row`` is for, as people say it ("第二个孩子"), or "" when it is about
    the whole case or the case has one baby."""
    return newborn_word_of(row.item, row.newborn, multiple)


def newborn_word_of(item: str, newborn: int, multiple: bool) -> str:
    """`newborn_word` of an item's code and newborn index (a list read as values)."""
    if not multiple or (newborn == 0 and not _per_newborn(item)):
        return ""
    return newborn_ordinal(newborn)


def case_outcome_of(case: Case, states: Iterable[str] | None = None) -> Outcome | None:
    """The outcome of a completed case (None while it is open or was not accepted).
    ``states``: every item's state when the caller read them all already (no statement)."""
    if case.status != CaseStatus.COMPLETED:
        return None
    if states is None:
        states = CaseItem.objects.filter(case=case).values_list("state", flat=True)
    return case_outcome(states)


def with_outcome(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` with an ``outcome`` annotation ("" unless completed), in one query."""
    items = CaseItem.objects.filter(case=OuterRef("pk"))
    completed = models.Q(status=CaseStatus.COMPLETED)
    return qs.annotate(
        outcome=models.Case(
            When(
                completed & ~Exists(items.exclude(state=ItemState.DONE)),
                then=Value("done"),
            ),
            When(
                completed & Exists(items.filter(state=ItemState.DONE)),
                then=Value("partly_refused"),
            ),
            When(completed, then=Value("refused")),
            default=Value(""),
            output_field=models.CharField(),
        )
    )


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, "")


def case_not_done(case: Case) -> tuple[list[NotDone], list[str]]:
    """The items of the case not done (name and why) and their ordinary channels (原渠道)."""
    rows = list(
        CaseItem.objects.filter(
            case=case, state__in=(ItemState.REFUSED, ItemState.CANCELLED)
        ).order_by("position")
    )
    multiple = multiple_birth(case)
    items = [NotDone(row_name(r, multiple), why_not_done(r, multiple)) for r in rows]
    return items, ordinary_channels_of(case, list(dict.fromkeys(r.item for r in rows)))


def ordinary_channels_of(case: Case, items: Sequence[str]) -> list[str]:
    """Where the parents can do ``items`` the ordinary way (the region's channels)."""
    pack = default_packs().version(case.region, case.pack_version)
    return ordinary_channels(pack, items) if pack is not None else []


def why_not_done(row: CaseItem, multiple: bool = False) -> str:
    """Why an item was not done, in Chinese: the refusal reasons, or the refused
    prerequisite that cancelled it."""
    if row.state == ItemState.REFUSED:
        return f"不予办理：{'；'.join(row.reasons)}" if row.reasons else "不予办理"
    because = row.cancelled_because
    cause = key_name(because, multiple) if because else ""
    return f"因{cause}不予办理而取消" if cause else "已取消"


def result_form_fields(item: str) -> list[dict[str, object]]:
    """The fields a person completing ``item`` fills in (the catalogue's result fields), for
    the one form both the officer's task page and the counter's 当场办理 show
    (``templates/includes/result_fields.html``); the service validates them alike."""
    return [
        {
            "name": f.name,
            "label": result_field_label(f),
            "example": f.example,
            "required": f.required,
            "max_length": f.max_length,
        }
        for f in RESULT_FIELDS.get(item, ())
    ]


def result_from(item: str, data: Mapping[str, str]) -> dict[str, object]:
    """The result fields of ``item`` as posted by either form (unknown keys left out; the
    service's validation refuses what does not fit)."""
    return {f.name: data.get(f.name, "") for f in RESULT_FIELDS.get(item, ())}


# The parents' payment and social security cards' reads by the case's id, compiled once
# per process (issue 10, a parent's first render of a finished case's page: building and
# compiling each queryset with its join was most of its card, cProfile; session 24).
_CASE_NOTICES = CompiledAll(
    PaymentNotice,
    lambda case_id: (
        PaymentNotice.objects.filter(case_id=case_id)
        .select_related("item")
        .order_by("item__position")
    ),
    -7_340_029_701,
)
_CASE_CARDS = CompiledAll(
    CardProduction,
    lambda case_id: (
        CardProduction.objects.filter(case_id=case_id).select_related("item").order_by("pk")
    ),
    -7_340_029_703,
)


def case_payment_notices(case: Case) -> list[PaymentNotice]:
    """The case's medical-insurance payment notices with their items, in the items' order
    (``case`` set on each, as ``case.paymentnotice_set`` would)."""
    if stamp_read_none(case, PaymentNotice):
        return []
    found = _CASE_NOTICES.all(case.pk)
    for notice in found:
        notice.case = case
    return found


def case_card_productions(case: Case) -> list[CardProduction]:
    """The case's social security cards' production with their items, oldest first
    (``case`` set on each)."""
    if stamp_read_none(case, CardProduction):
        return []
    found = _CASE_CARDS.all(case.pk)
    for card in found:
        card.case = case
    return found
