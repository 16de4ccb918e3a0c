"""The counter's entry form: the unified form (`onestop.unified_form.model`) as a clerk
enters it for the parents, for the region the counter serves.

The same model as the parents' online form decides the sections and fields (only the
region's items, the pack's applicants and authorization, one block per newborn); the
clerk picks hospitals, police stations, places, ethnic groups and banks by name. What the
clerk chooses at the top (items, who applies, how many newborns) decides the sections
below; "更新表单" (and, with JavaScript, any change there) shows them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.cases.domain.labels import ROLES
from onestop.cases.domain.paths import put_path
from onestop.common.names import item_label, material_label
from onestop.eligibility.reasons import MATERIAL_NAMES
from onestop.policy import schema as ps
from onestop.policy.loader import default_packs
from onestop.portal.forms import SectionsForm, newborn_count_field
from onestop.portal.selectors import form_context
from onestop.reference.domain import ReferenceData, division_in
from onestop.unified_form.model import (
    MAX_NEWBORNS,
    FormContext,
    Section,
    Spec,
    admitted_roles,
    applicable_items,
    build_document,
    choices,
    region_divisions,
    sections,
)


@dataclass(frozen=True)
class CounterRegion:
    code: str
    name: str
    pack: ps.PolicyPack


def _counter_division(kind: str, code: str, reference: ReferenceData) -> str:
    if kind == "division":
        return code
    institution = reference.institution(kind, code)  # type: ignore[arg-type]
    return institution.division if institution is not None else ""


def counter_regions(kind: str, code: str, reference: ReferenceData) -> list[CounterRegion]:
    """The regions whose pack takes applications at this kind of counter and covers the
    counter's place (吉林: 县（市、区）政务服务中心综合窗口; 沅陵, 钦北: 助产机构综合窗口)."""
    division = _counter_division(kind, code, reference)
    packs = default_packs()
    out = []
    for region in packs.regions:
        pack = packs.current(region)
        if pack is None or not division:
            continue
        counter = any(c.code == "counter" and kind in c.where for c in pack.channels)
        if counter and division_in(division, region_divisions(pack) or ("",)):
            out.append(CounterRegion(region, pack.name, pack))
    return out


def channels_here(kind: str, code: str, reference: ReferenceData) -> list[tuple[str, str]]:
    """(region name, its channels) of the regions covering the counter's place that take
    no applications at a counter (兰州, 福州: online only), for the clerk to tell parents."""
    division = _counter_division(kind, code, reference)
    packs = default_packs()
    out = []
    for region in packs.regions:
        pack = packs.current(region)
        if pack is None or not division or not division_in(division, region_divisions(pack)):
            continue
        out.append((pack.name, "；".join(c.label for c in pack.channels)))
    return out


def material_codes(pack: ps.PolicyPack) -> list[str]:
    """The materials the region asks for first, then the others a clerk may still have
    checked (a birth certificate issued before: 吉林 已在助产机构为新生儿办理《出生医学证明》;
    a marriage certificate shown with the household register)."""
    codes = [entry.material for entry in pack.materials]
    return list(dict.fromkeys([*codes, *MATERIAL_NAMES]))


def scans_required(pack: ps.PolicyPack, role: str) -> list[str]:
    """The materials the clerk must scan for ``role`` to apply: a trustee's (or
    grandparent's) authorization letter and ID card, the legal basis of the application
    (沅陵: 委托申报的须提供《授权委托书》和受委托人身份证原件, scanned with the 高拍仪;
    吉林: 经签字授权后办理), kept with the case, not just ticked as seen."""
    entry = next((a for a in admitted_roles(pack) if a.role == role), None)
    if entry is None or not entry.needs_authorization:
        return []
    return ["authorization_letter", "trustee_id_card"]


class CounterControls(forms.Form):
    """What the clerk chooses first: the region (where the counter serves more than one),
    the items, who applies and how many newborns."""

    region = forms.ChoiceField(
        label=gettext_lazy("地区"),
        error_messages={"invalid_choice": gettext_lazy("本窗口不能提交其他地区的办件")},
    )
    items = forms.MultipleChoiceField(
        label=gettext_lazy("办理事项"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("请至少选择一项办理事项")},
    )
    applicant_role = forms.ChoiceField(
        label=gettext_lazy("申请人身份"), widget=forms.RadioSelect, initial="mother"
    )
    newborn_count = newborn_count_field()
    materials = forms.MultipleChoiceField(
        label=gettext_lazy("已核验原件的材料"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, regions: Sequence[CounterRegion], pack: ps.PolicyPack, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["region"].choices = [(r.code, r.name) for r in regions]  # type: ignore[attr-defined]
        fields["region"].initial = pack.region
        fields["items"].choices = [  # type: ignore[attr-defined]
            (entry.item, item_label(entry.item)) for entry in applicable_items(pack)
        ]
        fields["applicant_role"].choices = [  # type: ignore[attr-defined]
            (entry.role, _(dict(ROLES).get(entry.role, entry.role)))
            for entry in admitted_roles(pack)
        ]
        fields["materials"].choices = [  # type: ignore[attr-defined]
            (code, material_label(code)) for code in material_codes(pack)
        ]
        for name in ("region", "items", "applicant_role", "newborn_count"):
            fields[name].widget.attrs["data-refresh"] = "1"


def _first(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


class CounterEntry:
    """The whole counter form over the posted data (or none): controls and sections."""

    def __init__(
        self,
        data: QueryDict | None,
        *,
        regions: Sequence[CounterRegion],
        refresh: bool = False,
    ) -> None:
        raw: Mapping[str, Any] = data if data is not None else {}
        by_code = {r.code: r for r in regions}
        region = by_code.get(_first(raw, "region")) or regions[0]
        self.pack = region.pack
        offered = [entry.item for entry in applicable_items(self.pack)]
        roles = [entry.role for entry in admitted_roles(self.pack)]
        items = [i for i in (data.getlist("items") if data is not None else []) if i in offered]
        role = _first(raw, "applicant_role")
        role = role if role in roles else roles[0]
        count = _first(raw, "newborn_count")
        newborns = min(max(int(count), 1), MAX_NEWBORNS) if count.isdigit() else 1
        document: dict[str, Any] = {
            "items": items,
            "applicant": {"role": role},
            "newborns": [{} for _n in range(newborns)],
        }
        self.base = document
        ctx = form_context(self.pack, document, channel="counter")
        # The answers that decide further sections (two parents of different ethnic
        # groups: the confirmation) are read before the sections are laid out.
        probe = copy.deepcopy(document)
        for section in sections(ctx):
            for spec in section.specs:
                value = _first(raw, spec.name)
                if value:
                    put_path(probe, spec.path, value)
        self.ctx = ctx.again(probe)
        self.sections: list[Section] = sections(self.ctx)
        self.refresh = refresh
        self.controls = CounterControls(
            None if refresh else data, regions=regions, pack=self.pack, initial=_initial(raw)
        )
        # A question with one answer only (钦北: 预防接种证 自行领取) is answered already.
        only: dict[str, str] = {}
        for spec in self.fields_specs():
            options = choices(spec, self.ctx) if spec.kind == "choice" else []
            if len(options) == 1 and not isinstance(options[0][1], list):
                only[spec.name] = options[0][0]
        if data is not None:
            data = data.copy()
            for name, value in only.items():
                if not data.get(name):
                    data[name] = value
        if refresh and data is not None:
            self.fields = SectionsForm(
                sections=self.sections, ctx=self.ctx, initial=self._entered(data)
            )
        elif data is not None:
            self.fields = SectionsForm(data, sections=self.sections, ctx=self.ctx)
        else:
            self.fields = SectionsForm(sections=self.sections, ctx=self.ctx, initial=only)

    def _entered(self, data: QueryDict) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.fields_specs():
            if spec.kind == "multi":
                out[spec.name] = data.getlist(spec.name)
            elif spec.name in data:
                out[spec.name] = data.get(spec.name)
        return out

    def fields_specs(self) -> list[Spec]:
        return [spec for section in self.sections for spec in section.specs]

    def is_valid(self) -> bool:
        controls = self.controls.is_valid()
        entries = self.fields.is_valid()
        return not self.refresh and controls and entries

    def document(self, *, materials: Sequence[str], now: datetime) -> dict[str, Any]:
        """The case document, built from the entries the same way as online."""
        source: dict[str, Any] = {
            "items": list(self.controls.cleaned_data["items"]),
            "applicant": {"role": self.controls.cleaned_data["applicant_role"]},
            "newborns": [{} for _n in self.base["newborns"]],
        }
        for path, value in self.fields.values().items():
            if value is not None:
                put_path(source, path, value)
        ctx: FormContext = self.ctx.again(source)
        return build_document(ctx, phone=None, materials=materials, now=now)


def _initial(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    getlist = getattr(raw, "getlist", None)
    for name in ("region", "applicant_role", "newborn_count"):
        if _first(raw, name):
            out[name] = _first(raw, name)
    if getlist is not None:
        out["items"] = getlist("items")
        out["materials"] = getlist("materials")
    return out
