from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onestop.accounts.services import OtpError, otp_request, otp_verify


@require_http_methods(["GET", "POST"])
def parent_login(request: HttpRequest) -> HttpResponse:
    phone = request.POST.get("phone", "")
    sent = False
    if request.method == "POST":
        try:
            if "code" in request.POST:
                user = otp_verify(phone=phone, code=request.POST["code"])
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("portal:cases")
            otp_request(phone=phone)
            sent = True
            messages.success(request, _("验证码已发送，请查收短信"))
        except OtpError as exc:
            sent = "code" in request.POST
            messages.error(request, exc.message)
    return render(request, "accounts/parent_login.html", {"phone": phone, "sent": sent})
