"""The counter entry form, generated from `fields.ENTRIES`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from onestop.cases.domain.document import text_limit
from onestop.cases.label_i18n import choices
from onestop.core.text import text_problem
from onestop.counter.fields import ENTRIES, ITEM_CHOICES, MATERIAL_CHOICES, field_name
from onestop.policy.loader import default_packs
from onestop.reference.idnumber import InvalidIdNumber, parse_resident_id


def _field(entry: Any) -> forms.Field:
    if entry.kind == "choice":
        return forms.ChoiceField(
            label=entry.label,
            # The labels translated now, in the request's language (labels.py is Chinese).
            choices=(("", "—"), *choices(entry.choices)),
            required=entry.required,
        )
    if entry.kind == "bool":
        return forms.BooleanField(label=entry.label, required=False)
    if entry.kind == "int":
        return forms.IntegerField(
            label=entry.label, required=entry.required, min_value=0, max_value=100000
        )
    if entry.kind == "datetime":
        return forms.DateTimeField(
            label=entry.label,
            required=entry.required,
            input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"],
        )
    if entry.kind == "id":
        return forms.CharField(
            label=entry.label, required=entry.required, max_length=text_limit(entry.path)
        )
    # The document's limit for this field's type (ADR 0016), said where it is typed.
    limit = text_limit(entry.path) or 200
    return forms.CharField(label=entry.label, required=entry.required, max_length=limit)


class CounterCaseForm(forms.Form):
    region = forms.ChoiceField(label=_("地区"))
    items = forms.MultipleChoiceField(
        label=_("办理事项"), choices=ITEM_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    materials = forms.MultipleChoiceField(
        label=_("已核验原件的材料"),
        choices=MATERIAL_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        packs = default_packs()
        regions = []
        for code in packs.regions:
            pack = packs.current(code)
            if pack is not None and any(c.code == "counter" for c in pack.channels):
                regions.append((code, pack.name))
        self.fields["region"].choices = regions  # type: ignore[attr-defined]
        self.fields["items"].choices = choices(ITEM_CHOICES)  # type: ignore[attr-defined]
        self.fields["materials"].choices = choices(MATERIAL_CHOICES)  # type: ignore[attr-defined]
        for entry in ENTRIES:
            field = _field(entry)
            field.widget.attrs["data-items"] = " ".join(entry.items)
            self.fields[field_name(entry.path)] = field

    def clean(self) -> dict[str, Any]:
        """Every resident ID number entered is checked (GB 11643: division, birth date,
        check digit; issue 8, defect 6), next to its field, before anything is stored."""
        cleaned = super().clean() or {}
        chosen = set(cleaned.get("items") or ())
        for entry in ENTRIES:
            name = field_name(entry.path)
            value = cleaned.get(name)
            if isinstance(value, str) and (problem := text_problem(value)) is not None:
                self.add_error(name, problem)  # would be refused at submission (ADR 0016)
                continue
            if entry.kind != "id" or not isinstance(value, str) or not value.strip():
                continue
            if entry.items and not chosen & set(entry.items):
                continue  # a hidden section: not part of the document
            if self._residency(entry, cleaned) not in ("", None, "mainland"):
                continue  # a passport or permit number, not GB 11643
            try:
                parse_resident_id(value)
            except InvalidIdNumber as exc:
                self.add_error(name, f"{entry.label}：{exc.message}")
        return cleaned

    @staticmethod
    def _residency(entry: Any, cleaned: dict[str, Any]) -> Any:
        path = entry.residency
        if path == "applicant":
            role = cleaned.get(field_name("applicant.role"))
            path = f"{role}.residency" if role in ("mother", "father") else ""
        return cleaned.get(field_name(path)) if path else ""

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if isinstance(value, datetime):
                out[name] = value.isoformat()
            elif value is False:
                # An unticked box is "no" only for the yes/no questions a clerk asks.
                out[name] = False if name.endswith(("in_hospital", "applied_elsewhere")) else None
            else:
                out[name] = value
        return out
