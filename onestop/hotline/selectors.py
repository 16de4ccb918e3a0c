"""Reads for the hotline's pages: the guide of a region, FAQ search, and a verified
caller's case as an operator may tell it (masked, with each item's state and next step)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from onestop.cases.models import Case, CaseStatus, Newborn, Person
from onestop.cases.notices import FaqLink
from onestop.common.http import public_url
from onestop.eligibility.guide_book import Guide, service_guide
from onestop.eligibility.reasons import DEPARTMENT_NAMES, REASON_KINDS
from onestop.hotline.models import FaqEntry
from onestop.hotline.search import parse_query, score
from onestop.policy.loader import default_packs
from onestop.reference.idnumber import mask_id_number, mask_name, mask_phone
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.selectors import key_name, multiple_birth, row_name


def region_guide(region: str) -> Guide | None:
    pack = default_packs().current(region)
    return service_guide(pack) if pack is not None else None


def region_guides() -> list[Guide]:
    registry = default_packs()
    packs = (registry.current(r) for r in registry.regions)
    return [service_guide(p) for p in packs if p is not None]


# --- FAQ -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqHit:
    entry: FaqEntry
    score: float


def faq_search(text: str, *, limit: int = 10) -> list[FaqHit]:
    """The entries that answer ``text`` best, best first (none for an empty question)."""
    query = parse_query(text)
    if query.empty:
        return []
    match = Q()
    for gram in query.grams:
        match |= Q(search_grams__contains=f" {gram} ")
    hits = [
        FaqHit(e, score(query, question=e.question, keywords=e.keywords, answer=e.answer))
        for e in FaqEntry.objects.filter(match)
    ]
    hits = [h for h in hits if h.score > 0]
    # Ties: the general answers before the refusal reasons', then by key.
    hits.sort(key=lambda h: (-h.score, h.entry.reason != "", h.entry.key))
    return hits[:limit]


def faq_for_reason(code: str) -> FaqEntry | None:
    return FaqEntry.objects.filter(reason=code).first()


def decision_codes(decision: dict[str, Any] | None) -> list[str]:
    """The reason codes of a stored decision, in order, each once."""
    found = (r.get("code") for r in (decision or {}).get("reasons", []) if isinstance(r, dict))
    return list(dict.fromkeys(str(c) for c in found if c))


def reason_path(code: str) -> str | None:
    """``/faq/reason/<code>/`` (None for a code that is not a slug: no such page)."""
    try:
        return reverse("hotline:faq_reason", args=[code])
    except NoReverseMatch:
        return None


def reason_faq(codes: Iterable[str]) -> dict[str, FaqEntry]:
    """The FAQ answer of each code that has one (one query)."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    return {e.reason: e for e in FaqEntry.objects.filter(reason__in=wanted)}


def notice_faq(case: Case) -> dict[str, FaqLink]:
    """For the printed decision notice: each reason code's FAQ answer — its question and
    the absolute address of ``/faq/reason/<code>/`` (the configured public base URL, as
    the e-licences' /verify/ QR codes). Codes without an answer are left out (the notice
    prints the reason alone)."""
    links: dict[str, FaqLink] = {}
    for code, entry in reason_faq(decision_codes(case.decision)).items():
        path = reason_path(code)
        if path is not None:
            links[code] = FaqLink(title=entry.question, url=public_url(path))
    return links


def reason_message(code: str) -> str | None:
    """The message of a reason code, common or added by any loaded pack (None: unknown)."""
    kind = REASON_KINDS.get(code)
    if kind is not None:
        return kind.message
    registry = default_packs()
    for region in registry.regions:
        for pack in registry.versions[region]:
            if code in pack.reasons:
                return pack.reasons[code].message
    return None


# --- the lookup's answer ---------------------------------------------------------------------


@dataclass(frozen=True)
class ItemLine:
    name: str
    department: str
    state: str
    state_label: str
    due_at: datetime | None
    next_step: str
    reasons: list[str]


@dataclass(frozen=True)
class ReasonAnswer:
    """A pre-review reason of a refused or supplement-needed case with its FAQ answer, for
    the operator to read out: the answer's question and first lines (``title`` and
    ``excerpt`` empty when the code has no answer yet; ``path`` then searches for it)."""

    code: str
    path: str
    title: str
    excerpt: str


EXCERPT_MAX = 120


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    """The first whole sentences of ``text`` within ``limit`` characters (the first one cut
    with … when it alone is longer)."""
    flat = "".join(line.strip() for line in text.splitlines())
    sentences = [s + "。" for s in flat.split("。") if s.strip()]
    if flat and not flat.endswith("。") and sentences:
        sentences[-1] = sentences[-1][:-1]
    taken = ""
    for sentence in sentences:
        if len(taken) + len(sentence) > limit:
            break
        taken += sentence
    if not taken and flat:
        return flat[: limit - 1] + "…"
    return taken + ("…" if len(taken) < len(flat) else "")


def reason_answers(codes: list[str]) -> list[ReasonAnswer]:
    """Each code once, in order, with its FAQ answer (one query)."""
    found = reason_faq(codes)
    answers = []
    for code in dict.fromkeys(codes):
        path = reason_path(code)
        if path is None:
            continue
        entry = found.get(code)
        answers.append(
            ReasonAnswer(
                code=code,
                path=path,
                title=entry.question if entry else "",
                excerpt=excerpt(entry.answer) if entry else "",
            )
        )
    return answers


@dataclass(frozen=True)
class CaseAnswer:
    number: str
    region: str
    status: str
    status_label: str
    submitted_at: datetime
    applicant_name: str
    applicant_phone: str
    mother_name: str
    mother_id: str
    newborns: list[str]
    items: list[ItemLine]
    reason_codes: list[str]
    # For a refused or supplement-needed case: each reason's FAQ answer (issue 12 part 2).
    reasons: list[ReasonAnswer]


def _next_step(row: CaseItem, names: dict[str, str]) -> str:
    department = DEPARTMENT_NAMES.get(row.department, row.department)
    if row.state == ItemState.WAITING:
        if row.awaiting_confirmation:
            return _("等待另一方家长通过短信链接确认")
        before = "、".join(names.get(key, key_name(key, False)) for key in row.after)
        return _("等待前置事项办结：{before}").format(before=before or _("前置事项"))
    if row.state in (ItemState.READY, ItemState.IN_PROGRESS):
        return _("{department}办理中，办结后短信通知申请人").format(department=department)
    if row.state == ItemState.RETURNED:
        return _("需要补正：请申请人登录“我的办件”查看补正要求并补交")
    if row.state == ItemState.REFUSED:
        return _("不予办理：可告知申请人原因，并按办事指南的原渠道办理")
    if row.state == ItemState.DONE:
        return _("已办结：结果已发送给申请人")
    return _("已取消")


def case_answer(case: Case) -> CaseAnswer:
    """What the operator may read out: masked names and numbers, the items' states."""
    people = {p.role: p for p in Person.objects.filter(case=case)}
    applicant = people.get(Person.Role.APPLICANT)
    mother = people.get(Person.Role.MOTHER)
    rows = list(CaseItem.objects.filter(case=case).order_by("position"))
    # Twins or more (ADR 0036): an item per baby, its name saying which (（第二个孩子）).
    multiple = multiple_birth(case, rows)
    names = {row.key: row_name(row, multiple) for row in rows}
    items = [
        ItemLine(
            name=names[row.key],
            department=DEPARTMENT_NAMES.get(row.department, row.department),
            state=row.state,
            state_label=row.get_state_display(),
            due_at=row.due_at if row.state in (ItemState.READY, ItemState.IN_PROGRESS) else None,
            next_step=_next_step(row, names),
            reasons=[str(r) for r in (row.reasons or [])],
        )
        for row in rows
    ]
    decision = case.decision or {}
    codes = [str(r.get("code")) for r in decision.get("reasons", []) if isinstance(r, dict)]
    told = case.status in (CaseStatus.REJECTED, CaseStatus.SUPPLEMENT)
    pack = default_packs().version(case.region, case.pack_version) or default_packs().current(
        case.region
    )
    return CaseAnswer(
        number=case.number,
        region=pack.name if pack is not None else case.region,
        status=case.status,
        status_label=case.get_status_display(),
        submitted_at=case.submitted_at,
        applicant_name=mask_name(applicant.name if applicant else None),
        applicant_phone=mask_phone(applicant.phone if applicant else None),
        mother_name=mask_name(mother.name if mother else None),
        mother_id=mask_id_number(mother.id_number if mother else None),
        newborns=[mask_name(n.name) for n in Newborn.objects.filter(case=case)],
        items=items,
        reason_codes=codes,
        reasons=reason_answers(decision_codes(decision)) if told else [],
    )
