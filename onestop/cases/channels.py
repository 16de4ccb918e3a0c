"""The original channels stay open (原渠道; Jilin 三(二): 不得以“一件事联办”为理由拒绝群众通过原渠道
办理各相关事项; issue 11, promise 12; ADR 0034).

For a refused case, per item: the pack's ordinary channel, the institution where it can be
done for THIS case where the routing derives one (the birth hospital; the police station of
the registration, or of a special registration's other parent — ADR 0034), its address and
office hours (reference data, institution_contact), and the materials to bring, named. The
decision JSON keeps its `ordinary_channels` strings (spec/decisions.md); the richer text is
rendering only: the PDF notice, the parents' page, the counter page and the SMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.cases.domain.document import parse_case
from onestop.cases.models import Case
from onestop.catalogue.loader import catalogue
from onestop.core.errors import UnreadableDocument
from onestop.eligibility.prereview import single_item_materials, station_for
from onestop.eligibility.reasons import ITEM_NAMES
from onestop.policy.loader import default_packs
from onestop.reference.selectors import current_reference, institution_contact


@dataclass(frozen=True)
class ItemChannel:
    """Where and how one item can still be applied for on its own."""

    item: str
    name: str
    channel: str  # the pack's ordinary channel (原渠道), as the plan says it
    place: str  # the institution for this case, "" where the routing derives none
    address: str
    hours: str
    materials: tuple[str, ...]  # names of what to bring

    @property
    def where(self) -> str:
        """The institution with its address and hours, or "" (for the SMS)."""
        if not self.place:
            return ""
        details = "；".join(x for x in (self.address, self.hours) if x)
        return f"{self.place}（{details}）" if details else self.place

    @property
    def text(self) -> str:
        """One line for the notice and the pages."""
        parts = [f"{self.name}：{self.channel}"]
        if self.place:
            parts.append(_("办理地点：{where}").format(where=self.where))
        if self.materials:
            parts.append(_("请携带：{materials}").format(materials="、".join(self.materials)))
        return "。".join(parts) + "。"


def _place(case: Case, item: str, department: str, registering_division: str) -> str | None:
    """(kind, code) of the institution that works ``item`` for this case, by the catalogue's
    routing; None where the routing names a division (no one institution)."""
    routing = catalogue().routing(item, department)
    if routing == "birth_hospital":
        return f"hospital:{case.hospital_code}" if case.hospital_code else None
    if routing == "police_station":
        route = case.decision.get("registration_route") if isinstance(case.decision, dict) else None
        station = route.get("police_station") if isinstance(route, dict) else None
        station = station or case.police_station_code
        if not station and registering_division:
            station = station_for(current_reference(), registering_division, None) or ""
        return f"police_station:{station}" if station else None
    return None


def item_channels(case: Case, *, at: datetime | None = None) -> list[ItemChannel]:
    """The items of a refused case, each with where and how to apply for it alone: the
    chosen items the pack offers (every offered item when none was chosen), in pack order."""
    pack = default_packs().version(case.region, case.pack_version) or default_packs().current(
        case.region
    )
    if pack is None:
        return []
    try:
        doc = parse_case(case.document).document
    except UnreadableDocument:
        return []
    chosen = set(doc.chosen_items())
    reference = current_reference()
    known = catalogue()
    when = at or case.decided_at or timezone.now()
    route = case.decision.get("registration_route") if isinstance(case.decision, dict) else None
    division = route.get("division") if isinstance(route, dict) else None
    if not division:
        follows = doc.birth_registration.follows if doc.birth_registration else None
        parent = doc.parent(follows) if follows else None
        division = (parent.hukou_division if parent else None) or ""
    out = []
    for entry in pack.items:
        if chosen and entry.item not in chosen:
            continue
        place, address, hours = "", "", ""
        where = _place(case, entry.item, entry.department, division)
        if where is not None:
            kind, code = where.split(":", 1)
            contact = institution_contact(kind, code)
            if contact is not None:
                place, address, hours = contact
        materials = tuple(
            known.materials[code].name.zh if code in known.materials else code
            for code in single_item_materials(doc, pack, reference, when, entry.item, known)
        )
        out.append(
            ItemChannel(
                entry.item,
                ITEM_NAMES.get(entry.item, entry.item),
                entry.ordinary_channel,
                place,
                address,
                hours,
                materials,
            )
        )
    return out


def still_open_sentence(case: Case) -> str:
    """That the refusal of the bundle does not close the original channels, and how to apply
    for one item where the region's own channels allow it."""
    pack = default_packs().version(case.region, case.pack_version)
    text = _(
        "本次不予受理的是“出生一件事”联办申请，不影响您通过上述原渠道单独办理各事项，"
        "有关部门不得以“一件事联办”为由拒绝办理。"
    )
    codes = {c.code for c in pack.channels} if pack is not None else set()
    if "online" in codes:
        text += _("您也可以在网上重新申请，只选择需要办理的事项（连同其前置事项）。")
    elif codes:
        text += _("您也可以到窗口只申请需要办理的事项（连同其前置事项）。")
    return text
