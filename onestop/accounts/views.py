from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onestop.accounts.client_ip import client_ip
from onestop.accounts.services import OtpError, OtpThrottled, otp_request, otp_verify


@require_http_methods(["GET", "POST"])
def parent_login(request: HttpRequest) -> HttpResponse:
    phone = request.POST.get("phone", "")
    sent = False
    retry_after: int | None = None
    if request.method == "POST":
        try:
            if "code" in request.POST:
                user = otp_verify(phone=phone, code=request.POST["code"])
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("portal:cases")
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
