"""The parents' forms: built from the field specs (`fields.py`), checking formats only.

Whether a case is eligible and complete is decided by the pre-review on submission; these
forms only catch what a person can fix at once (a mistyped ID number or phone number, a
file that is not a PDF or picture) and turn the entries into case-document values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onestop.cases.domain.document import normalize_phone, text_limit
from onestop.cases.domain.paths import get_path
from onestop.cases.uploads import UploadRejected, check_upload
from onestop.common.names import item_label, material_label
from onestop.core.clock import format_time, parse_time, to_beijing
from onestop.core.text import text_problem
from onestop.eligibility.reasons import MATERIAL_NAMES, ROLE_NAMES
from onestop.policy import schema as ps
from onestop.portal.guide import Question
from onestop.reference.idnumber import InvalidIdNumber, parse_resident_id
from onestop.unified_form.model import (
    MAX_NEWBORNS,
    FormContext,
    Section,
    Spec,
    admitted_roles,
    applicable_items,
    as_text,
    choices,
    is_picker,
    section_title,
)

PHONE = re.compile(r"^1[3-9]\d{9}$")
DIVISION = re.compile(r"^\d{6}$")
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
DATETIME_INPUT = "%Y-%m-%dT%H:%M"
YES_NO = [("true", gettext_lazy("是")), ("false", gettext_lazy("否"))]


def _yes(value: str) -> bool:
    return value == "true"


def spec_field(spec: Spec, ctx: FormContext) -> forms.Field:
    common: dict[str, Any] = {
        "label": gettext_lazy(spec.label),
        "required": spec.required,
        "help_text": gettext_lazy(spec.help) if spec.help else "",
    }
    kind = spec.kind
    if kind == "division" and ctx.channel == "counter":
        kind = "choice"  # a clerk picks the place by its name, never types its code
    if kind == "choice":
        options = choices(spec, ctx)
        grouped = any(isinstance(label, list) for _code, label in options)
        if not grouped and len(options) <= 4 and not is_picker(spec):
            return forms.ChoiceField(choices=options, widget=forms.RadioSelect, **common)
        # A long list over a reference table gets a search box (static/onestop/picker.js).
        attrs = (
            {
                "data-picker": spec.source or "divisions",
                "data-search-placeholder": _("输入名称查找"),
            }
            if is_picker(spec)
            else {}
        )
        return forms.ChoiceField(
            choices=[("", _("请选择")), *options], widget=forms.Select(attrs=attrs), **common
        )
    if kind == "yesno":
        return forms.TypedChoiceField(
            choices=YES_NO, coerce=_yes, empty_value=None, widget=forms.RadioSelect, **common
        )
    if kind == "check":
        return forms.BooleanField(**common)
    if kind == "multi":
        return forms.MultipleChoiceField(
            choices=choices(spec, ctx), widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == "int":
        return forms.IntegerField(
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}), **common
        )
    if kind == "number":
        return forms.DecimalField(
            max_digits=6,
            decimal_places=1,
            widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
            **common,
        )
    if kind == "datetime":
        return forms.DateTimeField(
            input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
            **common,
        )
    if kind == "date":
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common
        )
    if kind == "id":
        return forms.CharField(
            max_length=32, widget=forms.TextInput(attrs={"autocomplete": "off"}), **common
        )
    if kind == "phone":
        return forms.CharField(
            max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"}), **common
        )
    if kind == "division":
        return forms.CharField(
            max_length=6,
            widget=forms.TextInput(attrs={"list": "divisions", "inputmode": "numeric"}),
            **common,
        )
    # The document's limit for this field's type (ADR 0016), said where it is typed.
    return forms.CharField(max_length=text_limit(spec.path) or 200, **common)


def initial_value(spec: Spec, value: Any) -> Any:
    """A document value as the form field shows it."""
    if value is None:
        return None
    if spec.kind == "datetime" and isinstance(value, str):
        try:
            return to_beijing(parse_time(value)).strftime(DATETIME_INPUT)
        except ValueError:
            return None
    if spec.kind == "yesno":
        return as_text(value) if isinstance(value, bool) else None
    if spec.kind == "multi":
        return list(value) if isinstance(value, list) else []
    if spec.kind == "check":
        return bool(value)
    return value if isinstance(value, int | float | str) else None


def document_value(spec: Spec, value: Any) -> Any:
    """A cleaned form value as the case document holds it (None: leave it out)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if spec.kind == "id" and isinstance(value, str):
        return value.strip().upper()
    if spec.kind == "phone" and isinstance(value, str):
        return normalize_phone(value)
    return value


@dataclass(frozen=True)
class Row:
    field: forms.BoundField
    spec: Spec
    show_if: str  # for the browser: "name=value|name=value"
    prefilled: bool


@dataclass(frozen=True)
class Block:
    section: Section
    rows: list[Row]

    @property
    def title(self) -> str:
        return section_title(self.section, _)

    @property
    def note(self) -> str:
        return _(self.section.note) if self.section.note else ""


class SectionsForm(forms.Form):
    """The fields of some sections of the unified form."""

    def __init__(
        self,
        *args: Any,
        sections: Sequence[Section],
        ctx: FormContext,
        specs: Sequence[Spec] | None = None,
        **kwargs: Any,
    ) -> None:
        self.sections = list(sections)
        self.ctx = ctx
        self.specs = list(specs) if specs is not None else [s for x in sections for s in x.specs]
        kwargs.setdefault(
            "initial",
            {
                spec.name: initial_value(spec, get_path(ctx.document, spec.path))
                for spec in self.specs
            },
        )
        super().__init__(*args, **kwargs)
        for spec in self.specs:
            self.fields[spec.name] = spec_field(spec, ctx)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        names = {spec.path: spec.name for spec in self.specs}
        for spec in self.specs:
            value = cleaned.get(spec.name)
            if not isinstance(value, str) or not value:
                continue
            if (problem := text_problem(value)) is not None:
                self.add_error(spec.name, problem)  # would be refused at submission (ADR 0016)
                continue
            if spec.kind == "id":
                residency = (
                    cleaned.get(names[spec.residency])
                    if spec.residency in names
                    else as_text(get_path(self.ctx.document, spec.residency))
                    if spec.residency
                    else ""
                )
                if residency in ("", None, "mainland"):
                    try:
                        parse_resident_id(value)
                    except InvalidIdNumber as exc:
                        self.add_error(spec.name, exc.message)
            elif spec.kind == "phone" and not PHONE.match(normalize_phone(value)):
                self.add_error(spec.name, _("手机号码应为以1开头的11位数字，例如 13800000000"))
            elif spec.kind == "division" and not DIVISION.match(value):  # typed online
                self.add_error(spec.name, _("行政区划代码应为6位数字，例如 450703"))
        return cleaned

    def values(self) -> dict[str, Any]:
        """The entries as {document path: value} (only fields that passed their checks)."""
        data = getattr(self, "cleaned_data", {})
        return {
            spec.path: document_value(spec, data.get(spec.name))
            for spec in self.specs
            if spec.name in data
        }

    def blocks(self, prefilled: Sequence[str] = ()) -> list[Block]:
        names = {spec.path: spec.name for spec in self.specs}
        out = []
        for section in self.sections:
            rows = []
            for spec in section.specs:
                if spec.name not in self.fields:
                    continue
                show_if = "|".join(
                    f"{names.get(path, path)}={value}" for path, value in spec.show_if
                )
                rows.append(Row(self[spec.name], spec, show_if, spec.path in prefilled))
            if rows:
                out.append(Block(section, rows))
        return out


def newborn_count_field() -> forms.TypedChoiceField:
    """How many newborns the case is for (多胞胎: one block each), online and at the counter."""
    return forms.TypedChoiceField(
        label=gettext_lazy("新生儿人数（多胞胎逐一填写）"),
        coerce=int,
        empty_value=None,
        required=False,
        initial=1,
        choices=[(n, str(n)) for n in range(1, MAX_NEWBORNS + 1)],
    )


class ItemsForm(forms.Form):
    items = forms.MultipleChoiceField(
        label=gettext_lazy("选择要办理的事项"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("请至少选择一项办理事项")},
    )
    role = forms.ChoiceField(label=gettext_lazy("申请人与新生儿的关系"), widget=forms.RadioSelect)
    # 多胞胎: one block per newborn in the next step (钦北 联办申请表: 多胞胎 / 单胞胎).
    newborn_count = newborn_count_field()

    def __init__(self, *args: Any, pack: ps.PolicyPack, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.fields["items"]
        role = self.fields["role"]
        assert isinstance(items, forms.MultipleChoiceField)
        assert isinstance(role, forms.ChoiceField)
        items.choices = [(e.item, item_label(e.item)) for e in applicable_items(pack)]
        role.choices = [(a.role, ROLE_NAMES.get(a.role, a.role)) for a in admitted_roles(pack)]


def check_file(upload: UploadedFile[Any]) -> None:
    """Raise `forms.ValidationError` (Chinese) for an empty, oversized or disguised file."""
    try:
        check_upload(upload)
    except UploadRejected as exc:
        raise forms.ValidationError(exc.message, code=exc.code) from None
    finally:
        upload.seek(0)


class MaterialsForm(forms.Form):
    """One file per material code; each file is checked by its content."""

    def __init__(self, *args: Any, codes: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.codes = list(codes)
        for code in self.codes:
            self.fields[f"file_{code}"] = forms.FileField(
                label=material_label(code),
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for code in self.codes:
            name = f"file_{code}"
            upload = cleaned.get(name)
            if isinstance(upload, UploadedFile):
                try:
                    check_file(upload)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    def files_by_code(self) -> dict[str, UploadedFile[Any]]:
        """The files that passed their checks (even when another one did not)."""
        data = getattr(self, "cleaned_data", {})
        out: dict[str, UploadedFile[Any]] = {}
        for code in self.codes:
            upload = data.get(f"file_{code}")
            if isinstance(upload, UploadedFile):
                out[code] = upload
        return out


def same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


class ConfirmForm(forms.Form):
    signer_name = forms.CharField(
        label=gettext_lazy("电子签名：请输入申请人姓名"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    promise = forms.BooleanField(
        label=gettext_lazy("本人承诺所填信息真实"),
        error_messages={"required": gettext_lazy("请勾选“本人承诺所填信息真实”")},
    )

    def __init__(self, *args: Any, applicant_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.applicant_name = applicant_name

    def clean_signer_name(self) -> str:
        value: str = self.cleaned_data["signer_name"]
        if not self.applicant_name or not same_name(value, self.applicant_name):
            raise forms.ValidationError(_("签名姓名与申请人姓名不一致，请输入申请人本人的姓名"))
        return value.strip()


class GuideForm(forms.Form):
    """The guide's questions for one region, and the items the parents want."""

    items = forms.MultipleChoiceField(
        label=gettext_lazy("想办理的事项"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("请至少选择一项办理事项")},
    )

    def __init__(
        self, *args: Any, pack: ps.PolicyPack, questions: Sequence[Question], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        items = self.fields["items"]
        assert isinstance(items, forms.MultipleChoiceField)
        items.choices = [(e.item, item_label(e.item)) for e in applicable_items(pack)]
        for question in self.questions:
            help_text = ""
            if question.items is not None:
                names = "、".join(item_label(i) for i in question.items)
                help_text = _("选择了{items}时回答").format(items=names)
            field: forms.Field
            if question.kind == "date":
                field = forms.DateField(
                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
                )
            elif question.kind == "choice":
                field = forms.ChoiceField(choices=question.choices, widget=forms.RadioSelect)
            else:
                field = forms.ChoiceField(
                    choices=[("yes", _("是")), ("no", _("否"))], widget=forms.RadioSelect
                )
            field.label = question.text
            field.help_text = help_text
            field.required = False
            self.fields[f"q_{question.key}"] = field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = cleaned.get("items") or []
        for question in self.questions:
            name = f"q_{question.key}"
            asked = question.items is None or any(i in chosen for i in question.items)
            if asked and cleaned.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, _("请回答此问题"))
        return cleaned

    def answers(self) -> dict[str, Any]:
        data = getattr(self, "cleaned_data", {})
        return {
            q.key: data[f"q_{q.key}"]
            for q in self.questions
            if data.get(f"q_{q.key}") not in (None, "")
        }


class ReturnedForm(forms.Form):
    """Materials for items a department returned (退回补正): type and file, a few rows."""

    ROWS = 3

    done = forms.BooleanField(
        label=gettext_lazy("我已按退回原因处理完毕（没有需要上传的材料）"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = [
            ("", _("请选择材料类型")),
            *((code, material_label(code)) for code in MATERIAL_NAMES),
        ]
        for row in range(self.ROWS):
            self.fields[f"code_{row}"] = forms.ChoiceField(
                choices=options, required=False, label=_("材料类型")
            )
            self.fields[f"file_{row}"] = forms.FileField(
                required=False,
                label=_("文件"),
                widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
            )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"code_{row}"], self[f"file_{row}"]) for row in range(self.ROWS)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        files = 0
        for row in range(self.ROWS):
            upload = cleaned.get(f"file_{row}")
            if not isinstance(upload, UploadedFile):
                continue
            files += 1
            if not cleaned.get(f"code_{row}"):
                self.add_error(f"code_{row}", _("请选择这份文件是什么材料"))
            try:
                check_file(upload)
            except forms.ValidationError as exc:
                self.add_error(f"file_{row}", exc)
        if not files and not cleaned.get("done"):
            raise forms.ValidationError(_("请上传补正材料，或勾选“我已按退回原因处理完毕”"))
        return cleaned

    def files_by_code(self) -> dict[str, UploadedFile[Any]]:
        data = getattr(self, "cleaned_data", {})
        out: dict[str, UploadedFile[Any]] = {}
        for row in range(self.ROWS):
            upload, code = data.get(f"file_{row}"), data.get(f"code_{row}")
            if isinstance(upload, UploadedFile) and code:
                out[code] = upload
        return out
