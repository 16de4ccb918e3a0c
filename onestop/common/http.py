"""Small HTTP helpers shared by the views."""

from __future__ import annotations

from django.http import HttpResponse


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A PDF shown in the browser, never cached by shared caches (it holds personal data)."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def public_url(path: str) -> str:
    """An absolute URL of the product for printing (QR codes, SMS, notices, webhooks):
    the configured ``PUBLIC_BASE_URL``, never the request's Host header (issue 8)."""
    from django.conf import settings

    return settings.PUBLIC_BASE_URL.rstrip("/") + "/" + path.lstrip("/")
