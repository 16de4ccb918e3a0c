"""The parents' online application (在线申请) in steps, and the supplement page (补正).

Views stay thin: forms check formats, services write, selectors read; the decision is
the pre-review's, made when the signed application is submitted.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onestop.accounts.models import Role, User
from onestop.cases.domain.paths import get_path
from onestop.cases.models import Case, CaseStatus
from onestop.cases.services import DECISION_WORDS, CaseStateError, DuplicateNewborn
from onestop.cases.uploads import UploadRejected
from onestop.common.client_ip import client_ip
from onestop.common.names import item_label, material_label
from onestop.policy.loader import default_packs
from onestop.policy.schema import PolicyPack
from onestop.portal.forms import ConfirmForm, ItemsForm, MaterialsForm, ReturnedForm, SectionsForm
from onestop.portal.models import Draft, DraftMaterial
from onestop.portal.selectors import (
    draft_context,
    draft_document,
    draft_preview,
    draft_uploads,
    materials_needed,
    online_pack,
    parent_draft,
    returned_items,
    supplement_plan,
)
from onestop.portal.services import (
    SignatureMismatch,
    draft_attach,
    draft_discard,
    draft_material_bytes,
    draft_open,
    draft_prefill,
    draft_submit,
    draft_update,
    parent_supplement,
)
from onestop.portal.views import parent_case_or_404
from onestop.reference.selectors import current_reference
from onestop.unified_form.model import (
    STEP_NAMES,
    STEPS,
    Section,
    sections,
    summary,
)

LOGIN = "accounts:parent_login"
FILE_KINDS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPG"}
LOOKUP_FIELDS = ("mother.id_number", "newborns[0].hospital", "newborns[0].record_number")


def _parent(request: HttpRequest) -> User:
    """The signed-in parent (whose phone the case will carry); staff get a 404."""
    user = request.user
    if not isinstance(user, User) or user.role != Role.PARENT or not user.phone:
        raise Http404(_("页面不存在"))
    return user


def _data(request: HttpRequest) -> Any:
    """The posted fields, or None on GET (an empty POST still binds the form)."""
    return request.POST if request.method == "POST" else None


def _files(request: HttpRequest) -> Any:
    return request.FILES if request.method == "POST" else None


def _step_url(region: str, step: str) -> str:
    return reverse("portal:apply_step", kwargs={"region": region, "step": step})


def _neighbours(step: str) -> tuple[str | None, str | None]:
    index = STEP_NAMES.index(step)
    before = STEP_NAMES[index - 1] if index > 0 else None
    after = STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None
    return before, after


def _divisions() -> list[tuple[str, str]]:
    reference = current_reference()
    return [
        (code, reference.division_full_name(code) or division.name)
        for code, division in sorted(reference.divisions.items())
        if not code.endswith("00")
    ]


def _page(
    request: HttpRequest,
    template: str,
    draft: Draft,
    pack: PolicyPack,
    step: str,
    context: dict[str, Any],
) -> HttpResponse:
    before, _after = _neighbours(step)
    base = {
        "pack": pack,
        "draft": draft,
        "step": step,
        "steps": STEPS,
        "step_index": STEP_NAMES.index(step) + 1,
        "previous": _step_url(pack.region, before) if before else None,
    }
    return render(request, template, {**base, **context})


def apply_index(request: HttpRequest) -> HttpResponse:
    packs = [p for p in (default_packs().current(r) for r in default_packs().regions) if p]
    rows = [
        {
            "pack": pack,
            "online": any(c.code == "online" for c in pack.channels),
            "channels": "；".join(c.label for c in pack.channels),
        }
        for pack in packs
    ]
    return render(request, "portal/apply/index.html", {"rows": rows})


@login_required(login_url=LOGIN)
def apply_region(request: HttpRequest, region: str) -> HttpResponse:
    _parent(request)
    pack = default_packs().current(region)
    if pack is None:
        raise Http404(_("未知的地区"))
    if online_pack(region) is None:
        return render(request, "portal/apply/unavailable.html", {"pack": pack})
    query = request.GET.urlencode()
    return redirect(_step_url(region, "items") + (f"?{query}" if query else ""))


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def apply_step(request: HttpRequest, region: str, step: str) -> HttpResponse:
    user = _parent(request)
    pack = online_pack(region)
    if pack is None:
        if default_packs().current(region) is None:
            raise Http404(_("未知的地区"))
        return redirect("portal:apply_region", region=region)
    if step not in STEP_NAMES:
        raise Http404(_("页面不存在"))
    draft = draft_open(owner=user, region=region, items=request.GET.getlist("items"))
    if step == "items":
        return _items(request, draft, pack)
    if step in ("birth", "parents", "details"):
        return _sections(request, draft, pack, step)
    if step == "materials":
        return _materials(request, draft, pack)
    return _confirm(request, user, draft, pack)


@login_required(login_url=LOGIN)
@require_http_methods(["GET"])
def apply_material(request: HttpRequest, region: str, token: str) -> HttpResponse:
    """The parent's own uploaded material of their draft, decrypted (never a public URL:
    only the draft's owner gets it; the file on disk is encrypted)."""
    user = _parent(request)
    material = DraftMaterial.objects.filter(
        draft__owner=user, draft__region=region, token=token
    ).first()
    if material is None:
        raise Http404(_("材料不存在"))
    response = HttpResponse(draft_material_bytes(material), content_type=material.content_type)
    response["Content-Disposition"] = f'inline; filename="{material.code}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _items(request: HttpRequest, draft: Draft, pack: PolicyPack) -> HttpResponse:
    initial = {
        "items": get_path(draft.document, "items") or [],
        "role": get_path(draft.document, "applicant.role") or "mother",
        "newborn_count": max(len(get_path(draft.document, "newborns") or []), 1),
    }
    form = ItemsForm(_data(request), pack=pack, initial=initial)
    if request.method == "POST" and form.is_valid():
        entered = get_path(draft.document, "newborns")
        newborns = list(entered) if isinstance(entered, list) else []
        count = form.cleaned_data.get("newborn_count") or max(len(newborns), 1)
        newborns = newborns[:count] + [{} for _n in range(count - len(newborns))]
        draft_update(
            draft=draft,
            values={
                "items": form.cleaned_data["items"],
                "applicant.role": form.cleaned_data["role"],
                "newborns": newborns,
            },
        )
        return redirect(_step_url(pack.region, "birth"))
    automatic = [item_label(e.item) for e in pack.items if e.automatic]
    return _page(
        request,
        "portal/apply/items.html",
        draft,
        pack,
        "items",
        {"form": form, "automatic": automatic, "prepared": bool(draft.locked)},
    )


def _sections(request: HttpRequest, draft: Draft, pack: PolicyPack, step: str) -> HttpResponse:
    ctx = draft_context(draft)
    shown = sections(ctx, step)
    form = SectionsForm(_data(request), sections=shown, ctx=ctx)
    # Fields the hospital's record fixed (proactive start, ADR 0033) cannot be changed here.
    for spec in form.specs:
        if spec.path in draft.locked and spec.name in form.fields:
            form.fields[spec.name].disabled = True
    before, after = _neighbours(step)
    if request.method == "POST":
        action = request.POST.get("action", "next")
        valid = form.is_valid()
        # Whatever passed its checks is kept, even when another field needs correcting.
        draft_update(draft=draft, values=form.values())
        if action == "lookup":
            return _lookup(request, draft, form, pack)
        if action == "back" and before:
            return redirect(_step_url(pack.region, before))
        if valid and after:
            return redirect(_step_url(pack.region, after))
    return _page(
        request,
        "portal/apply/sections.html",
        draft,
        pack,
        step,
        {
            "form": form,
            "blocks": form.blocks(draft.prefilled),
            "lookup": step == "birth" and not draft.locked,
            "divisions": _divisions() if step != "birth" else [],
        },
    )


def _lookup(
    request: HttpRequest, draft: Draft, form: SectionsForm, pack: PolicyPack
) -> HttpResponse:
    names = {spec.path: spec.name for spec in form.specs}
    bad = [path for path in LOOKUP_FIELDS if names.get(path) in form.errors]
    missing = [path for path in LOOKUP_FIELDS if not get_path(draft.document, path)]
    if bad or missing:
        messages.error(
            request, _("请先正确填写母亲身份证号码、分娩医院和住院病历号，再查询分娩记录")
        )
    else:
        found = draft_prefill(draft=draft, actor=_parent(request))
        if found.exhausted:
            messages.error(request, _("查询次数过多，请直接填写出生信息"))
        elif found.found:
            messages.success(
                request,
                _("已从医院分娩记录填入 {n} 项信息（已标出），请核对，如有不符可直接修改").format(
                    n=len(found.paths)
                ),
            )
        else:
            messages.warning(
                request,
                _(
                    "没有找到与母亲身份证号码、分娩医院和住院病历号都相符的分娩记录，"
                    "请核对后重试，或直接填写出生信息"
                ),
            )
    return redirect(_step_url(pack.region, "birth"))


def _materials(request: HttpRequest, draft: Draft, pack: PolicyPack) -> HttpResponse:
    now = timezone.now()
    codes = materials_needed(draft, now=now)
    form = MaterialsForm(_data(request), _files(request), codes=codes)
    if request.method == "POST":
        form.is_valid()
        stored = 0
        for code, upload in form.files_by_code().items():
            try:
                draft_attach(draft=draft, code=code, upload=upload, now=now)
                stored += 1
            except UploadRejected as exc:
                form.add_error(f"file_{code}", exc.message)
        if not form.errors:
            if request.POST.get("action") == "back":
                return redirect(_step_url(pack.region, "details"))
            if request.POST.get("action") == "next":
                return redirect(_step_url(pack.region, "confirm"))
            if stored:
                messages.success(request, _("已上传 {n} 份材料").format(n=stored))
            return redirect(_step_url(pack.region, "materials"))
    uploads = draft_uploads(draft)
    rows: list[dict[str, Any]] = []
    for code in codes:
        stored_upload = uploads.get(code)
        kind = FILE_KINDS.get(stored_upload.content_type, "JPG") if stored_upload else ""
        rows.append(
            {"code": code, "field": form[f"file_{code}"], "upload": stored_upload, "kind": kind}
        )
    return _page(
        request,
        "portal/apply/materials.html",
        draft,
        pack,
        "materials",
        {"form": form, "rows": rows},
    )


def _confirm(request: HttpRequest, user: User, draft: Draft, pack: PolicyPack) -> HttpResponse:
    now = timezone.now()
    document = draft_document(draft, now=now)
    applicant = get_path(document, "applicant.name")
    form = ConfirmForm(
        _data(request), applicant_name=applicant if isinstance(applicant, str) else ""
    )
    if request.method == "POST" and form.is_valid():
        try:
            submission = draft_submit(
                draft_id=draft.pk,
                owner=user,
                signer_name=form.cleaned_data["signer_name"],
                ip=client_ip(request),
                now=now,
            )
        except SignatureMismatch as exc:
            form.add_error("signer_name", exc.message)
        except UploadRejected as exc:
            # A material attached before the whole-file checks failed them now.
            messages.error(request, exc.message + _("（请在“上传材料”一步重新上传该材料）"))
        except DuplicateNewborn as exc:
            # Nothing was stored and the draft is kept: the parent sees which case exists.
            messages.error(request, exc.message)
        except Draft.DoesNotExist:
            return redirect("portal:cases")
        else:
            word = DECISION_WORDS[submission.decision["decision"]]
            messages.success(
                request,
                _("申请已提交，办件编号 {number}，预审结论：{word}").format(
                    number=submission.case.number, word=word
                ),
            )
            return redirect("portal:case", number=submission.case.number)
    preview = draft_preview(draft, now=now)
    return _page(
        request,
        "portal/apply/confirm.html",
        draft,
        pack,
        "confirm",
        {
            "form": form,
            "summary": summary(draft_context(draft), document),
            "items": [item_label(i) for i in document.get("items", [])],
            "uploads": [(material_label(m.code), m.size) for m in draft_uploads(draft).values()],
            "preview": preview,
            "preview_word": DECISION_WORDS[preview.outcome.value],
        },
    )


@login_required(login_url=LOGIN)
@require_POST
def apply_discard(request: HttpRequest, region: str) -> HttpResponse:
    draft = parent_draft(_parent(request), region)
    if draft is not None:
        draft_discard(draft=draft)
        messages.success(request, _("已清除草稿，可以重新填写"))
    return redirect("portal:apply_region", region=region)


# --- supplement ----------------------------------------------------------------------------


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def case_supplement_page(request: HttpRequest, number: str) -> HttpResponse:
    case = parent_case_or_404(request, number, "portal:supplement")
    user = _parent(request)
    if case.status == CaseStatus.SUPPLEMENT:
        return _supplement_prereview(request, user, case)
    returned = returned_items(case) if case.status == CaseStatus.IN_PROGRESS else []
    if returned:
        return _supplement_returned(request, user, case, returned)
    messages.info(request, _("该办件目前没有需要补正的内容"))
    return redirect("portal:case", number=case.number)


def _supplement_prereview(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    plan = supplement_plan(case)
    section = Section("supplement", _("需要更正的信息"), "supplement", tuple(plan.specs))
    form = SectionsForm(_data(request), sections=[section], ctx=plan.ctx)
    uploads = MaterialsForm(_data(request), _files(request), codes=plan.materials)
    if request.method == "POST":
        valid = form.is_valid()
        valid = uploads.is_valid() and valid
        if valid:
            try:
                updated = parent_supplement(
                    case=case, actor=user, values=form.values(), files=uploads.files_by_code()
                )
            except (CaseStateError, UploadRejected, DuplicateNewborn) as exc:
                messages.error(request, exc.message)
            else:
                word = DECISION_WORDS[updated.decision["decision"]]
                messages.success(request, _("补正已提交，预审结论：{word}").format(word=word))
                return redirect("portal:case", number=case.number)
    return render(
        request,
        "portal/supplement.html",
        {
            "case": case,
            "plan": plan,
            "form": form,
            "blocks": form.blocks(),
            "uploads": uploads,
            "divisions": _divisions(),
        },
    )


def _supplement_returned(
    request: HttpRequest, user: User, case: Case, returned: list[Any]
) -> HttpResponse:
    form = ReturnedForm(_data(request), _files(request))
    if request.method == "POST" and form.is_valid():
        try:
            parent_supplement(case=case, actor=user, values={}, files=form.files_by_code())
        except (CaseStateError, UploadRejected) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("补正已提交，退回的事项已恢复办理"))
            return redirect("portal:case", number=case.number)
    return render(
        request,
        "portal/supplement_returned.html",
        {"case": case, "returned": returned, "form": form},
    )
