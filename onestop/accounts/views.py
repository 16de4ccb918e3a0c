from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from onestop.accounts.middleware import is_verified
from onestop.accounts.models import Role, User
from onestop.accounts.second_factor import (
    enrol_confirm,
    enrolled,
    pending_device,
    qr_svg,
    second_factor_check,
    secret_text,
)
from onestop.accounts.services import OtpError, OtpThrottled, otp_request, otp_verify
from onestop.common.client_ip import client_ip


@require_http_methods(["GET", "POST"])
def _parent_next(request: HttpRequest) -> str:
    """Where a parent goes after sign-in: the parents' page they came from (a link in an
    SMS leads here with ``next``; ADR 0033), else their cases."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/my/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:cases")


def parent_login(request: HttpRequest) -> HttpResponse:
    phone = request.POST.get("phone", "")
    sent = False
    retry_after: int | None = None
    if request.method == "POST":
        try:
            if "code" in request.POST:
                user = otp_verify(phone=phone, code=request.POST["code"])
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(_parent_next(request))
            otp_request(phone=phone, ip=client_ip(request))
            sent = True
            messages.success(request, _("验证码已发送，请查收短信"))
        except OtpThrottled as exc:
            sent = "code" in request.POST
            retry_after = exc.retry_after
            messages.error(request, exc.message)
        except OtpError as exc:
            sent = "code" in request.POST
            messages.error(request, exc.message)
    response = render(
        request,
        "accounts/parent_login.html",
        {"phone": phone, "sent": sent},
        status=429 if retry_after is not None else 200,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# --- staff second factor (TOTP, recovery codes) -------------------------------------------


def _staff(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or (user.role == Role.PARENT and not user.is_superuser):
        raise Http404(_("页面不存在"))
    return user


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify_page(request: HttpRequest) -> HttpResponse:
    """The second step after the password: a code from the authenticator app, or one of
    the recovery codes."""
    user = _staff(request)
    if not enrolled(user):
        return redirect(f"{reverse('accounts:otp_setup')}?{urlencode({'next': _next(request)})}")
    status = 200
    if request.method == "POST":
        check = second_factor_check(user, request.POST.get("token", ""))
        if check.device is not None:
            request.session.cycle_key()
            otp_login(request, check.device)
            if isinstance(check.device, StaticDevice):
                left = check.device.token_set.count()
                messages.warning(
                    request,
                    _("已使用一个恢复码，还剩 {n} 个；请尽快找回验证器或重新绑定").format(n=left),
                )
            return redirect(_next(request))
        status = 429 if check.throttled else 200
        messages.error(
            request,
            _("尝试过于频繁，请稍候几秒再输入") if check.throttled else _("动态口令或恢复码不正确"),
        )
    return render(request, "accounts/otp_verify.html", {"next": _next(request)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the secret) into an authenticator app, then
    confirm with one code. Staff already enrolled must verify before enrolling again."""
    user = _staff(request)
    if enrolled(user) and not is_verified(user):
        return redirect(f"{reverse('accounts:otp_verify')}?{urlencode({'next': _next(request)})}")
    device = pending_device(user)
    if request.method == "POST":
        done = enrol_confirm(user, request.POST.get("token", ""))
        if done is not None:
            request.session.cycle_key()
            otp_login(request, done.device)
            return render(
                request,
                "accounts/otp_recovery.html",
                {"codes": done.recovery_codes, "next": _next(request)},
            )
        messages.error(request, _("动态口令不正确，请核对手机时间后重试"))
    return render(
        request,
        "accounts/otp_setup.html",
        {"secret": secret_text(device), "next": _next(request)},
    )


@login_required
def otp_qr(request: HttpRequest) -> HttpResponse:
    """The enrolment QR code as SVG (an image from our own origin: no inline data)."""
    user = _staff(request)
    if enrolled(user) and not is_verified(user):
        raise Http404(_("页面不存在"))
    response = HttpResponse(qr_svg(pending_device(user)), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response
