"""The webhook receiver of a simulated department system.

It checks each delivery's HMAC signature and timestamp, takes each delivery id once (a
redelivery of one already taken is answered 200 and ignored: exactly-once processing on
top of at-least-once sending) and, during an outage window, answers 503 without looking.

Batched POSTs (ADR 0028: the simulated departments' clients opt in) carry a JSON array of
events, signed as a whole; each event is taken once by its own ``delivery_id``, in order.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import sys
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

MAX_BODY = 4_000_000
IDLE_SECONDS = 120.0


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
        # Set once a POST's events are all in `events`: the system's loop wakes once per
        # POST, not per event (issue 10: each event's put woke it, and it put the first
        # back before taking the rest).
        self.arrived = threading.Event()
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
            self.arrived.set()
            return 200
        self._take(delivery, payload)
        self.arrived.set()
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
    # HTTP/1.1: a sender's connection is kept for its next POST (issue 10: the platform's
    # worker keeps one per receiver), served by the thread that accepted it; a connection
    # idle this long is closed (the sender opens a new one).
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    # The answer's head and body are two writes: without TCP_NODELAY the body waited for
    # the sender's delayed ACK (~40 ms a POST) on a kept connection.
    disable_nagle_algorithm = True
    inbox: Inbox

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:  # not read: the connection cannot be kept
            self.close_connection = True
        body = self.rfile.read(min(length, MAX_BODY))  # a batch of 100 events: ~60 KB
        headers = {k: v for k, v in self.headers.items()}
        status = self.server.inbox.receive(headers, body)  # type: ignore[attr-defined]
        answer = b'{"ok": %s}' % (b"true" if status == 200 else b"false")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        self.server.kept(self.connection, True)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.kept(self.connection, False)  # type: ignore[attr-defined]
        super().finish()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], inbox: Inbox) -> None:
        super().__init__(address, _Handler)
        self.inbox = inbox
        self._open: set[socket.socket] = set()  # the connections being served
        self._open_lock = threading.Lock()

    def kept(self, connection: socket.socket, open_: bool) -> None:
        with self._open_lock:
            if open_:
                self._open.add(connection)
            else:
                self._open.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender's connection reset or cut (the receiver stopping ends its kept ones) is
        no error to print; anything else is, as before."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_kept(self) -> None:
        """End the kept-alive connections (their threads would serve them on after the
        receiver stopped)."""
        with self._open_lock:
            kept, self._open = self._open, set()
        for connection in kept:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


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
        self.server.close_kept()
