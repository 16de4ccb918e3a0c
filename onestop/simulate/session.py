"""A small JSON client for the integration API (standard library only).

One keep-alive HTTP connection per session and thread (issue 10: a good client does not
open a TCP connection per call; a department system working several tasks at once has a
connection for each): reused while the server keeps it open; a call that finds it closed
by the server (its keep-alive timeout) is sent again once on a new connection — safe,
because every write carries an Idempotency-Key.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any


class Unreachable(Exception):
    """No HTTP answer (server down, timeout)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False  # the platform answered a repeated Idempotency-Key from store

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        return str(self.body.get("code", "")) if isinstance(self.body, dict) else ""


STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class ApiSession:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.base)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path
        self._local = threading.local()  # this thread's connection
        self._opened: set[http.client.HTTPConnection] = set()  # every thread's, to close
        self._opened_lock = threading.Lock()

    @property
    def _connection(self) -> http.client.HTTPConnection | None:
        return getattr(self._local, "connection", None)

    def _open(self) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            connection = self._local.connection = kind(self.host, self.port, timeout=self.timeout)
            with self._opened_lock:
                self._opened.add(connection)
        return connection

    def close(self) -> None:
        """Close this thread's connection."""
        connection = self._connection
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._opened_lock:
                self._opened.discard(connection)

    def close_all(self) -> None:
        """Close every thread's connection (the system stops: the server's side of each
        kept-alive connection, and what it holds, is let go now, not at its timeout)."""
        with self._opened_lock:
            opened, self._opened = self._opened, set()
        for connection in opened:
            connection.close()

    def call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> Answer:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        for attempt in (1, 2):
            reused = self._connection is not None
            connection = self._open()
            try:
                connection.request(method, self.prefix + path, body=data, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except STALE as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed the idle connection: once more
                raise Unreachable(str(exc)) from exc
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                raise Unreachable(str(exc)) from exc
            if response.will_close:
                self.close()
            replayed = response.getheader("Idempotent-Replayed") == "true"
            return Answer(int(response.status), _json(raw), replayed=replayed)
        raise Unreachable("no answer")  # pragma: no cover - the loop returns or raises

    def get(self, path: str) -> Answer:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> Answer:
        return self.call("POST", path, {} if body is None else body, key=key)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None
