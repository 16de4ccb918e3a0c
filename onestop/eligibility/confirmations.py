"""When the other parent must confirm by SMS link (父母双方签字, issue 11 promise 6, ADR 0029).

Where a seed asks both parents to sign (the ethnicity confirmation when their ethnic groups
differ; where the newborn's hukou goes, "经父母双方协商一致"), the applicant cannot sign for
the other parent: a tick for the other parent on the applicant's own device is not that
parent's signature. The pack says which confirmations its region needs
(``PolicyPack.confirmations``); this pure function says, for one case document, whether
the other parent must confirm, what they are asked to confirm, and which items wait.

At the counter the clerk sees both parents present and records the other parent's
signature (the ethnicity form's two ticks); only a missing one there starts a link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from onestop.cases.domain.document import CaseDocument
from onestop.policy import schema as ps

SIDE_NAMES = {"father": "父亲", "mother": "母亲"}


@dataclass(frozen=True)
class Statement:
    """One thing the other parent is asked to confirm, in the words of the seed's form."""

    when: str
    text: str
    items: tuple[str, ...]
    cite: str

    def as_json(self) -> dict[str, Any]:
        return {"when": self.when, "text": self.text, "items": list(self.items), "cite": self.cite}


@dataclass(frozen=True)
class NeededConfirmation:
    """The other parent (``parent``: father or mother) confirms ``statements``; ``items``
    (plan order) wait until then; the link expires after ``expires_after_days``."""

    parent: str
    statements: tuple[Statement, ...]
    items: tuple[str, ...]
    expires_after_days: int

    @property
    def parent_name(self) -> str:
        return SIDE_NAMES[self.parent]

    def as_json(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "items": list(self.items),
            "statements": [s.as_json() for s in self.statements],
            "expires_after_days": self.expires_after_days,
        }


def other_parent(doc: CaseDocument) -> Literal["father", "mother"] | None:
    """The parent who is not the applicant (None: the applicant is not a parent)."""
    role = doc.applicant.role if doc.applicant is not None else None
    if role == "mother":
        return "father"
    if role == "father":
        return "mother"
    return None


def ethnicities_differ(doc: CaseDocument) -> bool:
    mother, father = doc.mother, doc.father
    if mother is None or father is None or not (mother.is_present and father.is_present):
        return False
    return (
        mother.ethnicity is not None
        and father.ethnicity is not None
        and mother.ethnicity != father.ethnicity
    )


def signed_by(doc: CaseDocument, side: str) -> bool:
    """Whether the ethnicity confirmation carries ``side``'s signature (the tick)."""
    confirmation = doc.ethnicity_confirmation
    if confirmation is None:
        return False
    return bool(
        confirmation.signed_by_mother if side == "mother" else confirmation.signed_by_father
    )


def other_signature_counts(doc: CaseDocument) -> bool:
    """Whether the other parent's tick counts as their signature: only at the counter,
    where the clerk sees both parents (online, the applicant's device ticked it)."""
    return doc.channel == "counter"


def _newborn_names(doc: CaseDocument) -> str:
    names = [baby.name for baby in doc.newborns if baby.name]
    return "、".join(names) if names else "新生儿"


def confirmation_needed(
    doc: CaseDocument,
    pack: ps.PolicyPack,
    plan: Sequence[str],
    *,
    ethnic_name: Callable[[str], str | None] = lambda code: None,
) -> NeededConfirmation | None:
    """What the other parent must confirm for this accepted case, or None.

    ``plan``: the case's item codes (plan order); ``ethnic_name``: the name of an ethnic
    group code (reference data), for the text the other parent reads."""
    side = other_parent(doc)
    if side is None or not pack.confirmations:
        return None
    other = doc.parent(side)
    if other is None or not other.is_present:
        return None
    channel = doc.channel or "online"
    statements: list[Statement] = []
    babies = _newborn_names(doc)
    for entry in pack.confirmations:
        items = tuple(code for code in plan if code in entry.items)
        if not items or channel not in entry.channels:
            continue
        if entry.when == "ethnicity_differs":
            if not ethnicities_differ(doc):
                continue
            if "ethnicity_confirmation_form" in doc.provided_materials():
                continue  # the paper form, signed by both, scanned
            if other_signature_counts(doc) and signed_by(doc, side):
                continue
            chosen = doc.ethnicity_confirmation.ethnicity if doc.ethnicity_confirmation else None
            name = (ethnic_name(chosen) or chosen) if chosen else "（未填写）"
            text = f"经父母双方商议决定，确认{babies}的民族成份为{name}，并以此办理户口登记"
        elif entry.when == "hukou_follows_other_parent":
            section = doc.birth_registration
            if section is None or section.follows != side:
                continue
            text = (
                f"经父母双方协商一致，申请将{babies}的户口随{SIDE_NAMES[side]}申报，"
                f"落户在{SIDE_NAMES[side]}的户口"
            )
        else:  # pragma: no cover - the schema's Literal lists every kind
            continue
        statements.append(Statement(entry.when, text, items, entry.cite))
    if not statements:
        return None
    waiting = {code for s in statements for code in s.items}
    days = min(
        e.expires_after_days for e in pack.confirmations if e.when in {s.when for s in statements}
    )
    return NeededConfirmation(
        parent=side,
        statements=tuple(statements),
        items=tuple(code for code in plan if code in waiting),
        expires_after_days=days,
    )
