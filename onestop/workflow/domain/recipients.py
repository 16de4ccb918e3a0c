"""Who may receive a result handed over at the counter (当场交付, ADR 0032). Pure.

The mother; the father where the region lets him collect the result (沅陵《出生医学证明》:
the father only with the mother's authorization); the trustee named in the mother's
authorization (附件3 授权委托书; 吉林 祖父母、外祖父母) while it is valid and covers the item.
The clerk checks the person's ID card against the case: the name and the ID number must be
the ones the case records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from onestop.cases.domain.document import Authorization, CaseDocument
from onestop.reference.idnumber import mask_id_number, mask_name

ROLE_WORDS = {"mother": "母亲", "father": "父亲", "trustee": "受托人"}


@dataclass(frozen=True)
class Recipient:
    role: str  # mother, father, trustee
    name: str
    id_number: str

    def label(self) -> str:
        """The masked line for messages and the timeline: 受托人 向**."""
        return f"{ROLE_WORDS.get(self.role, self.role)} {mask_name(self.name)}"

    def label_full(self) -> str:
        role = ROLE_WORDS.get(self.role, self.role)
        return f"{role} {self.name}（{mask_id_number(self.id_number)}）"


def authorization_covers(auth: Authorization | None, item: str, today: date) -> bool:
    """The mother signed it, it names ``item`` and ``today`` lies within its dates."""
    if auth is None or not auth.signed_by_mother or auth.trustee is None:
        return False
    if item not in (auth.items or ()):
        return False
    if auth.valid_from is None or auth.valid_to is None:
        return False
    return auth.valid_from <= today <= auth.valid_to


def recipients(
    doc: CaseDocument,
    item: str,
    *,
    today: date,
    pickup_by: Sequence[str] | None,
    authorization_for: Sequence[str] = (),
) -> list[Recipient]:
    """The people who may receive ``item``'s result today, each once."""
    out: list[Recipient] = []
    covered = authorization_covers(doc.authorization, item, today)
    trustee = doc.authorization.trustee if doc.authorization else None
    for side in ("mother", "father"):
        parent = doc.parent(side)
        if parent is None or not parent.known or not parent.name or not parent.id_number:
            continue
        if pickup_by is not None and side not in pickup_by:
            continue
        if side in authorization_for and not (
            covered and trustee is not None and trustee.id_number == parent.id_number
        ):
            continue
        out.append(Recipient(side, parent.name, parent.id_number))
    if covered and trustee is not None and trustee.name and trustee.id_number:
        if all(r.id_number != trustee.id_number for r in out):
            out.append(Recipient("trustee", trustee.name, trustee.id_number))
    return out


def recipient_matching(
    allowed: Sequence[Recipient], role: str, name: str, id_number: str
) -> Recipient | None:
    """The allowed recipient with this role, name and ID number (as on the ID card), or None."""
    name = "".join(name.split())
    id_number = id_number.strip().upper()
    for person in allowed:
        if person.role == role and person.name == name and person.id_number == id_number:
            return person
    return None
