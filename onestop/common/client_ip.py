"""The client's address as the product counts it (rate limits, lockouts).

``REMOTE_ADDR`` by default. Behind N trusted reverse proxies (``ONESTOP_TRUSTED_PROXIES``
= N), the address is the N-th entry from the right of ``X-Forwarded-For``: each proxy
appends the address it received the request from, so entries further left are whatever
the client chose to send and are never trusted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
