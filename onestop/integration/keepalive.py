"""The worker's HTTP POSTs to department systems on kept-alive connections (issue 10).

`urllib.request.urlopen` opened a TCP connection per webhook POST and closed it after the
answer (it always sends ``Connection: close``): a connect, an accept — a thread in a
threading receiver — and a teardown for every POST, on both sides. Here each thread keeps
one ``http.client`` connection per receiver (scheme, host, port) and reuses it while the
receiver keeps it open. A POST that finds a reused connection closed by the receiver (its
idle timeout) before any answer came is sent once more on a new connection: a receiver
that did take it deduplicates on the events' ids, as with any resend.

Where a proxy applies to the URL (``http_proxy`` and the like, as urllib reads them) the
POST goes through urllib as before. Redirects are not followed (urllib turned a redirected
POST into a GET without its body): a 3xx is an answer like any other non-2xx.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http.client import HTTPConnection

# Answers are read up to this many bytes to keep the connection; a longer one closes it.
ANSWER_KEPT_BYTES = 65_536

# A reused connection the receiver had closed: no answer at all, safe to send once more
# (over TLS the closed connection shows as an EOF of the TLS layer).
STALE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


class TransportError(Exception):
    """The receiver could not be reached (connection refused, timeout, …)."""


Key = tuple[str, str, int]


class Connections:
    """One kept-alive connection per receiver and thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _kept(self) -> dict[Key, HTTPConnection]:
        kept: dict[Key, HTTPConnection] | None = getattr(self._local, "kept", None)
        if kept is None:
            kept = self._local.kept = {}
        return kept

    def close(self) -> None:
        """Close this thread's connections."""
        kept = self._kept()
        for connection in kept.values():
            connection.close()
        kept.clear()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        """POST ``body``; the HTTP status (any), or `TransportError` when there is none."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError as exc:
            raise TransportError(str(exc)) from exc
        if scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"unsupported URL {url!r}")
        key = (scheme, parts.hostname, port or (443 if scheme == "https" else 80))
        kept = self._kept()
        if key not in kept and _proxied(scheme, parts.hostname):
            return _urllib_post(url, body, headers, timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        for attempt in (1, 2):
            connection = kept.get(key)
            reused = connection is not None
            if connection is None:
                kind = http.client.HTTPSConnection if scheme == "https" else HTTPConnection
                connection = kept[key] = kind(key[1], key[2], timeout=timeout)
            elif connection.sock is not None:
                connection.sock.settimeout(timeout)
            connection.timeout = timeout
            try:
                connection.request("POST", target, body=body, headers=dict(headers))
                response = connection.getresponse()
                status = int(response.status)
                response.read(ANSWER_KEPT_BYTES)
            except STALE as exc:
                self._drop(key)
                if reused and attempt == 1:
                    continue  # the receiver closed the idle connection: once more, anew
                raise TransportError(str(exc) or type(exc).__name__) from exc
            except (http.client.HTTPException, OSError, ValueError) as exc:
                self._drop(key)
                raise TransportError(str(exc) or type(exc).__name__) from exc
            if response.will_close or not response.isclosed():  # closing, or a long answer
                self._drop(key)
            return status
        raise TransportError("no answer")  # pragma: no cover - the loop returns or raises

    def _drop(self, key: Key) -> None:
        connection = self._kept().pop(key, None)
        if connection is not None:
            connection.close()


def _proxied(scheme: str, host: str) -> bool:
    """Whether urllib would send a request to ``host`` through a proxy."""
    proxies = urllib.request.getproxies()
    return scheme in proxies and not urllib.request.proxy_bypass(host)


def _urllib_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TransportError(str(getattr(exc, "reason", exc))) from exc


CONNECTIONS = Connections()


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` on this thread's kept connection to the URL's receiver; the HTTP
    status (any), or `TransportError` when there is none."""
    return CONNECTIONS.post(url, body, headers, timeout)
