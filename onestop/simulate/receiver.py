"""The webhook receiver of a simulated department system.

It checks each delivery's HMAC signature and timestamp, takes each delivery id once (a
redelivery of one already taken is answered 200 and ignored: exactly-once processing on
top of at-least-once sending) and, during an outage window, answers 503 without looking.

Batched POSTs (ADR 0028: the simulated departments' clients opt in) carry a JSON array of
events, signed as a whole; each event is taken once by its own ``delivery_id``, in order.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from onestop.core.signing import (
    BATCH_EVENT,
    DELIVERY_HEADER,
    EVENT_HEADER,
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature_valid,
)


@dataclass
class ReceiverStats:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    refused_in_outage: int = 0
    batches: int = 0  # batched POSTs taken (their events count in accepted/duplicates)
    delivery_ids: list[str] = field(default_factory=list)


class Inbox:
    """Verification and deduplication, independent of HTTP (tested directly)."""

    def __init__(
        self,
        secrets: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.secrets = dict(secrets)  # key_id -> webhook secret
        self.clock = clock
        self.down = down
        self.seen: set[str] = set()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stats = ReceiverStats()
        self._lock = threading.Lock()

    def receive(self, headers: Mapping[str, str], body: bytes) -> int:
        """The HTTP status to answer for one delivery."""
        if self.down():
            self.stats.refused_in_outage += 1
            return 503
        batch = headers.get(EVENT_HEADER, "") == BATCH_EVENT
        delivery = headers.get(DELIVERY_HEADER, "")
        secret = self.secrets.get(headers.get(KEY_ID_HEADER, ""))
        if (
            not (delivery or batch)
            or secret is None
            or not webhook_signature_valid(
                secret,
                headers.get(TIMESTAMP_HEADER, ""),
                body,
                headers.get(SIGNATURE_HEADER, ""),
                now=self.clock(),
            )
        ):
            self.stats.rejected += 1
            return 401
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.stats.rejected += 1
            return 400
        if batch:
            events = payload if isinstance(payload, list) else None
            if not events or not all(
                isinstance(e, dict) and isinstance(e.get("delivery_id"), str) for e in events
            ):
                self.stats.rejected += 1
                return 400
            self.stats.batches += 1
            for event in events:
                self._take(event["delivery_id"], event)
            return 200
        self._take(delivery, payload)
        return 200

    def _take(self, delivery: str, payload: Any) -> None:
        """Act on a delivery once (a delivery id seen before is only counted)."""
        with self._lock:
            if delivery in self.seen:
                self.stats.duplicates += 1
                return
            self.seen.add(delivery)
            self.stats.accepted += 1
            self.stats.delivery_ids.append(delivery)
        if isinstance(payload, dict):
            self.events.put(payload)


class _Handler(BaseHTTPRequestHandler):
    inbox: Inbox

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 4_000_000))  # a batch of 100 events: ~60 KB
        headers = {k: v for k, v in self.headers.items()}
        status = self.server.inbox.receive(headers, body)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": %s}' % (b"true" if status == 200 else b"false"))

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], inbox: Inbox) -> None:
        super().__init__(address, _Handler)
        self.inbox = inbox


class WebhookReceiver:
    """`Inbox` behind an HTTP server on ``host:port`` (port 0: any free port)."""

    def __init__(self, inbox: Inbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.inbox = inbox
        self.server = _Server((host, port), inbox)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
