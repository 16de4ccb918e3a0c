"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"`` with the client's webhook
secret, sent as lowercase hex in ``X-Onestop-Signature`` with the Unix time in
``X-Onestop-Timestamp``. Receivers recompute it, compare in constant time and refuse
timestamps too far from their clock (replays of old deliveries)."""

from __future__ import annotations

import hashlib
import hmac

DELIVERY_HEADER = "X-Onestop-Delivery"
TIMESTAMP_HEADER = "X-Onestop-Timestamp"
SIGNATURE_HEADER = "X-Onestop-Signature"
EVENT_HEADER = "X-Onestop-Event"
KEY_ID_HEADER = "X-Onestop-Key-Id"
# A batched POST (ADR 0028): its own id (for tracing only; receivers deduplicate on each
# event's ``delivery_id``) and ``X-Onestop-Event: batch``.
BATCH_HEADER = "X-Onestop-Batch"
BATCH_EVENT = "batch"
DEFAULT_TOLERANCE = 300


def webhook_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature_valid(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = webhook_signature(secret, timestamp, body)
    return hmac.compare_digest(expected, signature.strip().lower())
