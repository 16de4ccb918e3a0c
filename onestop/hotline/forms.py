from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from onestop.eligibility.reasons import REASON_KINDS
from onestop.hotline.models import LookupAttempt


class LookupForm(forms.Form):
    number = forms.CharField(label=_("办件编号"), max_length=40)
    method = forms.ChoiceField(
        label=_("核验方式"),
        choices=LookupAttempt.Method.choices,
        widget=forms.RadioSelect,
        initial=LookupAttempt.Method.PHONE,
    )
    answer = forms.CharField(
        label=_("来电人提供的核验信息"),
        max_length=18,
        help_text=_("申请人手机号码后四位，或新生儿母亲的身份证号码"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class FaqForm(forms.Form):
    question = forms.CharField(label=_("问题"), max_length=200)
    answer = forms.CharField(label=_("答复"), max_length=4000, widget=forms.Textarea)
    keywords = forms.CharField(
        label=_("关键词"),
        max_length=300,
        required=False,
        help_text=_("来电人可能说的词，用空格分开"),
    )
    reason = forms.ChoiceField(label=_("对应的预审原因"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        assert isinstance(reason, forms.ChoiceField)
        reason.choices = [("", "—")] + [
            (code, f"{code}：{kind.message}") for code, kind in REASON_KINDS.items()
        ]
