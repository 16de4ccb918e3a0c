"""Reads for the parents' pages: only the signed-in parent's cases, as people read them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import router
from django.db.models import ExpressionWrapper, F, QuerySet, TextField
from django.utils import timezone
from django.utils.translation import get_language, gettext

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import cases_visible_to, parent_phone_match, parent_scope
from onestop.cases.models import Case, TimelineEntry
from onestop.common.compiled import CompiledValues
from onestop.common.kept import Kept
from onestop.eligibility.check import check_case
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.policy import schema as ps
from onestop.policy.loader import default_packs
from onestop.policy.schema import PolicyPack
from onestop.portal.models import Draft, DraftMaterial
from onestop.reference.selectors import current_reference
from onestop.unified_form.model import FormContext, Spec, build_document, sections
from onestop.workflow.domain.newborns import item_key
from onestop.workflow.domain.plan import stages
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import (
    case_outcome_of,
    key_name,
    newborn_word_of,
    with_outcome,
)


def parent_cases(user: User, *, outcome: bool = True) -> QuerySet[Case]:
    """The signed-in parent's own cases. Parents' pages are for the case's parents only
    (issue 8, defect 10): staff, whatever their role, get none here. ``outcome``: each
    annotated with it (`with_outcome`); the case page, which reads every item anyway,
    sets it from them (`outcome_from_items`)."""
    if user.role != Role.PARENT:
        return Case.objects.none()
    qs = cases_visible_to(user, Case.objects.all())
    return (with_outcome(qs) if outcome else qs).order_by("-submitted_at")


def _of_parent(applicant: str, mother: str, father: str) -> QuerySet[Case]:
    """`cases_visible_to`'s filter of a parent's cases, a parameter per column."""
    return Case.objects.filter(parent_phone_match(applicant, mother, father))


_SCOPE_STAND_INS = (
    "stand-in:parent-scope:applicant",
    "stand-in:parent-scope:mother",
    "stand-in:parent-scope:father",
)

# The list's columns (`/my/cases/`: number, status tag, submission time; of ~50, nothing
# encrypted), in the model's field order as `Model.from_db` takes a row of some of them,
# the primary key first.
LIST_SHOWN = ("number", "status", "submitted_at")
_LIST_COLUMNS = tuple(
    f.attname for f in Case._meta.concrete_fields if f.primary_key or f.name in LIST_SHOWN
)
# `parent_cases(user).only(*LIST_SHOWN)` of a parent, compiled once per process with a
# stand-in per phone index column (issue 10 part 3: building, annotating with the outcome
# and compiling this queryset was ~a quarter of a rendered list, cProfile).
_PARENT_LIST = CompiledValues(
    Case,
    lambda applicant, mother, father: (
        with_outcome(_of_parent(applicant, mother, father))
        .order_by("-submitted_at")
        .values_list(*_LIST_COLUMNS, "outcome")
    ),
    *_SCOPE_STAND_INS,
)


def parent_case_list(user: User) -> list[Case]:
    """``list(parent_cases(user).only(*LIST_SHOWN))``: the same cases, in the same order,
    as the same deferred instances with their ``outcome``, from a statement compiled once.
    The access rule is `accounts.permissions.parent_scope`, as `cases_visible_to`'s."""
    index = parent_scope(user)
    if index is None:
        return list(parent_cases(user).only(*LIST_SHOWN))
    if not index:
        return []
    alias = router.db_for_read(Case)
    width = len(_LIST_COLUMNS)
    cases = []
    for row in _PARENT_LIST.rows(index, index, index):
        case = Case.from_db(alias, list(_LIST_COLUMNS), row[:width])
        case.outcome = row[width]  # type: ignore[attr-defined]  # as `with_outcome` annotates
        cases.append(case)
    return cases


# A parent's case by its number without the columns a page leaves unread, one statement
# compiled once per process and tuple of such columns (the pages' own constants).
_PARENT_CASE: Kept[tuple[str, ...], tuple[tuple[str, ...], CompiledValues]] = Kept(size=16)


def _parent_case_read(defer: tuple[str, ...]) -> tuple[tuple[str, ...], CompiledValues]:
    return _PARENT_CASE.get_or_make(defer, lambda: _parent_case_made(defer))


def _parent_case_made(defer: tuple[str, ...]) -> tuple[tuple[str, ...], CompiledValues]:
    columns = tuple(f.attname for f in Case._meta.concrete_fields if f.name not in defer)
    read = CompiledValues(
        Case,
        lambda applicant, mother, father, number: (
            _of_parent(applicant, mother, father)
            .filter(number=number)
            .order_by("-submitted_at")
            .values_list(*columns)[:1]
        ),
        *_SCOPE_STAND_INS,
        "stand-in:parent-case:number",
    )
    return columns, read


def parent_case(user: User, number: str, defer: tuple[str, ...] = ()) -> Case | None:
    """``parent_cases(user, outcome=False).defer(*defer).filter(number=number).first()``:
    the same instance (``defer`` left unread, loaded on access), from a statement compiled
    once. The access rule is `accounts.permissions.parent_scope`, as `cases_visible_to`'s."""
    index = parent_scope(user)
    if index is None:
        return parent_cases(user, outcome=False).defer(*defer).filter(number=number).first()
    if not index:
        return None
    columns, read = _parent_case_read(defer)
    rows = read.rows(index, index, index, number)
    return Case.from_db(router.db_for_read(Case), list(columns), rows[0]) if rows else None


@dataclass(frozen=True)
class ItemView:
    item: str  # the item within its case: its code, ``code-2`` for a second newborn's
    name: str
    department: str
    state: str
    state_label: str
    due_at: datetime | None
    due_provisional: bool
    finished_at: datetime | None
    reasons: list[str]
    overdue: bool = False  # open and past its due time: the parents may urge it (催办)
    after: tuple[str, ...] = ()  # the item's prerequisites in this case (codes)
    waits_for: tuple[str, ...] = ()  # names of the prerequisites not yet done
    # Which baby it is for in a case of twins or more (多胞胎, ADR 0036): the baby's name,
    # or "第二个孩子" while it has none; "" for the case's own items and a single birth.
    baby: str = ""
    awaiting: str = ""  # waiting for a confirmation: father / mother / preview (ADR 0029, 0035)
    # A done item's result as stored (encrypted), opened when `result` is first read: of a
    # case page's items only the maternity card reads one (issue 10 part 4: each done item's
    # result was decrypted and parsed for every page).
    sealed_result: str | None = None

    @cached_property
    def result(self) -> dict[str, Any]:
        """The done item's result (``{}`` for any other state or none recorded)."""
        if self.state != ItemState.DONE or self.sealed_result is None:
            return {}
        opened = CaseItem._meta.get_field("result").from_db_value(self.sealed_result, None, None)
        return dict(opened or {})


def awaiting_label(parent: str) -> str:
    """The mark of an item waiting for the other parent's confirmation (ADR 0029), or for
    the applicant's signature on the previews (ADR 0035)."""
    if parent == "preview":
        return gettext("等待申请人确认签字")
    return gettext("等待父亲确认") if parent == "father" else gettext("等待母亲确认")


# The case page's two lists by the case's id, compiled once per process (issue 10 part 3:
# building and compiling these querysets was ~a fifth of a rendered case page, cProfile).
# The items as value rows, not model instances (issue 10, a parent's first render: making
# ~8 `CaseItem`s a page, each field set on its instance, was ~a third of `item_views`).
# The columns an `ItemView` is made of (11 of ~35: the compile and conversion costs grow
# with the columns).
_ITEM_ROW = (
    "item",
    "newborn",
    "department",
    "after",
    "state",
    "due_at",
    "due_provisional",
    "finished_at",
    "sealed_result",  # the result as stored: opened only where read (`ItemView.result`)
    "reasons",
    "awaiting_confirmation",
)
_ITEMS_OF_CASE = CompiledValues(
    CaseItem,
    lambda case_id: (
        CaseItem.objects.filter(case_id=case_id)
        .annotate(sealed_result=ExpressionWrapper(F("result"), output_field=TextField()))
        .order_by("position")
        .values_list(*_ITEM_ROW)
    ),
    -7_340_029_119,
)
_PARENT_TIMELINE = CompiledValues(
    TimelineEntry,
    lambda case_id: (
        TimelineEntry.objects.filter(case_id=case_id, visible_to_parent=True)
        .order_by("at", "pk")
        .values_list("at", "message")
    ),
    -7_340_029_121,
)


def item_views(case: Case, *, names: bool = True) -> list[ItemView]:
    """The case's items as people read them. ``names``: a twin's items carry the baby's
    name (the parents' own pages); staff pages say "第二个孩子" (ADR 0036)."""
    out = []
    now = timezone.now()
    rows = _ITEMS_OF_CASE.rows(case.pk)
    keys = [item_key(row[0], row[1]) for row in rows]
    state_of = {key: row[4] for key, row in zip(keys, rows, strict=True)}
    # `multiple_birth(case, rows)` from every row of the case (held here): some row is for a
    # second newborn — no statement, even for a case of one item or none.
    multiple = any(row[1] for row in rows)
    babies = baby_names(case) if multiple and names else []
    # Each state's label translated once a page (as `get_state_display` gives it).
    choices = dict(ItemState.choices)
    labels: dict[str, str] = {}
    for key, row in zip(keys, rows, strict=True):
        (code, newborn, department, after_codes, state, due_at, due_provisional) = row[:7]
        finished_at, sealed_result, reasons, awaiting = row[7:]
        after = tuple(c for c in after_codes if c in state_of)
        waiting = state == ItemState.WAITING
        baby = newborn_word_of(code, newborn, multiple)
        if baby and newborn < len(babies) and babies[newborn]:
            baby = babies[newborn]
        out.append(
            ItemView(
                item=key,
                baby=baby,
                name=ITEM_NAMES.get(code, code),
                department=DEPARTMENT_NAMES.get(department, department),
                state=state,
                state_label=awaiting_label(awaiting)
                if waiting and awaiting
                else labels.get(state) or labels.setdefault(state, str(choices.get(state, state))),
                due_at=due_at,
                due_provisional=due_provisional,
                finished_at=finished_at,
                reasons=list(reasons),
                sealed_result=sealed_result if state == ItemState.DONE else None,
                overdue=state in (ItemState.READY, ItemState.IN_PROGRESS)
                and due_at is not None
                and due_at < now,
                after=after,
                waits_for=tuple(
                    key_name(c, multiple) for c in after if state_of[c] != ItemState.DONE
                )
                if waiting
                else (),
                awaiting=awaiting if waiting else "",
            )
        )
    return out


def outcome_from_items(case: Case, items: Sequence[ItemView]) -> None:
    """Set ``case.outcome`` (what `with_outcome` annotates: the status tags read it) from
    the page's item views, which are every item of the case: no statement."""
    case.__dict__["outcome"] = case_outcome_of(case, [view.state for view in items]) or ""


def baby_names(case: Case) -> list[str]:
    """The newborns' names as the case document gives them ("" where not named yet), for
    the parents' own pages (their own children: not masked)."""
    return [baby.name or "" for baby in case.typed_document().newborns]


def progress_steps(items: Sequence[ItemView]) -> list[list[ItemView]]:
    """The case's items as the steps of the progress picture: an item stands one step
    right of the latest item it waits for (regions.md, "Dependency order")."""
    by_code = {view.item: view for view in items}
    return [
        [by_code[code] for code in step]
        for step in stages([(view.item, view.after) for view in items])
    ]


def parent_timeline(case: Case) -> list[tuple[datetime, str]]:
    """(time, message) of the case's timeline entries the parents see, in order: the two
    columns the page shows (no model instances)."""
    return [(at, message) for at, message in _PARENT_TIMELINE.rows(case.pk)]


# --- the online application ---------------------------------------------------------------

# Materials that settle a reason other than ``missing_material``.
REASON_MATERIALS: dict[str, tuple[str, ...]] = {
    "authorization_missing": ("authorization_letter", "trustee_id_card"),
    "ethnicity_confirmation_missing": ("ethnicity_confirmation_form",),
    "bmc_missing": ("birth_certificate",),
}
# Form sections that settle a reason (besides the field the reason names).
REASON_SECTIONS: dict[str, str] = {
    "authorization_missing": "authorization",
    "ethnicity_confirmation_missing": "ethnicity_confirmation",
}


def online_pack(region: str) -> PolicyPack | None:
    """The region's pack in force, if the region takes applications online."""
    pack = default_packs().current(region)
    if pack is None or not any(channel.code == "online" for channel in pack.channels):
        return None
    return pack


def parent_draft(user: User, region: str) -> Draft | None:
    return Draft.objects.filter(owner=user, region=region).first()


def form_context(
    pack: ps.PolicyPack, document: Mapping[str, Any], *, channel: str = "online"
) -> FormContext:
    """The unified form of a region over a document, labelled in the request's language."""
    return FormContext(
        pack,
        current_reference(),
        document,
        channel=channel,
        translate=gettext,
        language=get_language() or "zh-hans",
    )


def draft_context(draft: Draft) -> FormContext:
    pack = default_packs().current(draft.region)
    assert pack is not None, draft.region
    return form_context(pack, draft.document)


def draft_document(draft: Draft, *, now: datetime) -> dict[str, Any]:
    """The case document the draft would submit now."""
    codes = list(draft.materials.values_list("code", flat=True))
    return build_document(
        draft_context(draft), phone=draft.owner.phone or "", materials=codes, now=now
    )


def draft_preview(draft: Draft, *, now: datetime) -> Decision:
    """What the pre-review would decide on the draft now (shown before signing)."""
    return check_case(
        draft_document(draft, now=now),
        packs=default_packs(),
        reference=current_reference(),
        now=now,
    )


def _codes_from(reasons: Sequence[Mapping[str, Any]]) -> list[str]:
    codes: list[str] = []
    for reason in reasons:
        code, detail = reason.get("code"), reason.get("detail")
        if code == "missing_material" and isinstance(detail, str):
            codes.append(detail)
        codes += REASON_MATERIALS.get(str(code), ())
    return list(dict.fromkeys(codes))


def materials_needed(draft: Draft, *, now: datetime) -> list[str]:
    """The materials the pre-review asks for on this draft (before any upload), then any
    others already uploaded."""
    document = draft_document(draft, now=now)
    document["materials"] = []
    decision = check_case(document, packs=default_packs(), reference=current_reference(), now=now)
    needed = _codes_from([r.as_json() for r in decision.reasons])
    uploaded = list(draft.materials.values_list("code", flat=True))
    return list(dict.fromkeys(needed + uploaded))


def draft_uploads(draft: Draft) -> dict[str, DraftMaterial]:
    return {m.code: m for m in draft.materials.all()}


@dataclass(frozen=True)
class SupplementPlan:
    """What a parent can do about a case's 一次性告知: the fields to correct, the materials
    to upload, and the reasons the page cannot settle (to be taken to a counter)."""

    reasons: list[dict[str, Any]]
    specs: list[Spec]
    materials: list[str]
    unresolved: list[str]
    ctx: FormContext


def case_context(case: Case) -> FormContext:
    pack = default_packs().version(case.region, case.pack_version) or default_packs().current(
        case.region
    )
    assert pack is not None, case.region
    return form_context(pack, case.document)


def supplement_plan(case: Case) -> SupplementPlan:
    ctx = case_context(case)
    every = list(sections(ctx))
    specs: dict[str, Spec] = {}
    unresolved: list[str] = []
    reasons = [dict(r) for r in case.decision.get("reasons", []) if isinstance(r, dict)]
    for reason in reasons:
        code, detail = str(reason.get("code")), reason.get("detail")
        matched: list[Spec] = []
        if isinstance(detail, str) and code in ("field_invalid", "authorization_missing"):
            matched += [
                spec
                for section in every
                for spec in section.specs
                if spec.path == detail or spec.path.startswith((f"{detail}.", f"{detail}["))
            ]
        if code in REASON_SECTIONS:
            matched += [
                spec
                for section in every
                if section.key == REASON_SECTIONS[code]
                for spec in section.specs
            ]
        for spec in matched:
            specs.setdefault(spec.path, spec)
        settled_by_upload = code == "missing_material" or code in REASON_MATERIALS
        if not matched and not settled_by_upload:
            unresolved.append(str(reason.get("message", "")))
    return SupplementPlan(reasons, list(specs.values()), _codes_from(reasons), unresolved, ctx)


def returned_items(case: Case) -> list[ItemView]:
    return [view for view in item_views(case) if view.state == ItemState.RETURNED]
