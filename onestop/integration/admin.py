"""Admin for API clients (the secret is shown once, on creation or rotation) and webhook
deliveries (dead letters visible and replayable)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onestop.integration.models import ApiClient, WebhookDelivery
from onestop.integration.services import (
    IssuedCredentials,
    api_client_create,
    api_client_rotate_secret,
    api_client_sync_user,
    webhook_replay,
)


def _show_once(request: HttpRequest, issued: IssuedCredentials) -> None:
    messages.warning(
        request,
        _(
            "请立即复制并妥善保管以下凭据，它们只显示这一次：接口凭据 %(token)s ；"
            "回调签名密钥 %(webhook)s"
        )
        % {"token": issued.token, "webhook": issued.webhook_secret},
    )


class ApiClientForm(forms.ModelForm[ApiClient]):
    webhook_url = forms.URLField(
        label=_("回调地址"), max_length=300, required=False, assume_scheme="https"
    )

    class Meta:
        model = ApiClient
        fields = (
            "name",
            "department",
            "jurisdiction_kind",
            "jurisdiction_code",
            "may_submit_cases",
            "webhook_url",
            "events",
            "webhook_batch_max",
            "webhook_echo",
            "active",
        )


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin[ApiClient]):
    form = ApiClientForm
    list_display = (
        "name",
        "key_id",
        "department",
        "jurisdiction_kind",
        "jurisdiction_code",
        "active",
        "last_used_at",
    )
    list_filter = ("department", "jurisdiction_kind", "active")
    search_fields = ("name", "key_id", "jurisdiction_code")
    readonly_fields = ("key_id", "created_at", "last_used_at")
    actions = ["rotate"]

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            api_client_sync_user(obj)
            return
        issued = api_client_create(
            name=obj.name,
            department=obj.department,
            jurisdiction_kind=obj.jurisdiction_kind,
            jurisdiction_code=obj.jurisdiction_code,
            webhook_url=obj.webhook_url,
            events=list(obj.events or []),
            may_submit_cases=obj.may_submit_cases,
            webhook_batch_max=obj.webhook_batch_max,
            webhook_echo=obj.webhook_echo,
            now=timezone.now(),
        )
        obj.pk = issued.client.pk
        obj.key_id = issued.client.key_id
        obj.user_id = issued.client.user_id
        obj.created_at = issued.client.created_at
        if not obj.active:
            ApiClient.objects.filter(pk=obj.pk).update(active=False)
            api_client_sync_user(issued.client)
        _show_once(request, issued)

    @admin.action(description=_("更换密钥（旧密钥立即失效）"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            _show_once(request, api_client_rotate_secret(client_id=client.pk))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = (
        "delivery_id",
        "client",
        "event",
        "case_number",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "client__department")
    search_fields = ("delivery_id", "case_number", "client__key_id")
    readonly_fields = (
        "delivery_id",
        "client",
        "event",
        "case_number",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("重新投递（死信）"))
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = sum(
            webhook_replay(d.pk) for d in queryset.filter(status=WebhookDelivery.Status.DEAD)
        )
        messages.info(request, _("已重新排队 %(count)d 条") % {"count": count})
