"""The worker's webhook POSTs on kept-alive connections (`onestop.integration.keepalive`):
one connection for many POSTs, a POST that finds the kept connection closed by the
receiver sent once more on a new one, a redirect not followed; the simulated receiver
keeps connections and ends them when it stops."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from onestop.integration.keepalive import Connections, TransportError
from onestop.simulate.receiver import Inbox, WebhookReceiver


class _Server:
    """An HTTP/1.1 server counting the connections it accepted and the POSTs it got;
    ``drop_after_answer``: each connection is closed after one answer that did not say so
    (as a receiver's idle timeout closes a kept connection)."""

    def __init__(self, *, status: int = 204, drop_after_answer: bool = False) -> None:
        self.accepted = 0
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with outer.lock:
                    outer.accepted += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.bodies.append(body)
                self.send_response(status)
                if status in (301, 302, 303, 307, 308):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                if drop_after_answer:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def connections():
    kept = Connections()
    yield kept
    kept.close()


def test_posts_to_one_receiver_share_one_connection(connections):
    server = _Server()
    try:
        for n in range(5):
            assert connections.post(server.url, b"%d" % n, {"X-Test": "1"}, 5.0) == 204
    finally:
        server.close()
    assert server.bodies == [b"0", b"1", b"2", b"3", b"4"]
    assert server.accepted == 1  # urllib opened five


def test_a_kept_connection_the_receiver_closed_is_replaced_and_the_post_sent_once(connections):
    server = _Server(drop_after_answer=True)
    try:
        assert connections.post(server.url, b"first", {}, 5.0) == 204
        assert connections.post(server.url, b"second", {}, 5.0) == 204
    finally:
        server.close()
    assert server.bodies == [b"first", b"second"]
    assert server.accepted == 2


def test_a_kept_tls_connection_that_ended_is_replaced_too(connections, monkeypatch):
    """Over TLS a kept connection the receiver closed shows as the TLS layer's EOF: the
    POST is sent once more on a new connection, as on plain HTTP (review of session 27:
    it waited a retry's backoff)."""
    import ssl

    server = _Server()
    try:
        assert connections.post(server.url, b"first", {}, 5.0) == 204
        (kept,) = connections._kept().values()

        def ended(*args: object, **kwargs: object) -> None:
            raise ssl.SSLEOFError("EOF occurred in violation of protocol")

        monkeypatch.setattr(kept, "request", ended)
        assert connections.post(server.url, b"second", {}, 5.0) == 204
    finally:
        server.close()
    assert server.bodies == [b"first", b"second"]
    assert server.accepted == 2


def test_a_redirect_is_an_answer_not_followed(connections):
    server = _Server(status=302)
    try:
        assert connections.post(server.url, b"x", {}, 5.0) == 302
    finally:
        server.close()
    assert server.bodies == [b"x"]


def test_no_receiver_is_a_transport_error(connections):
    server = _Server()
    url = server.url
    server.close()
    with pytest.raises(TransportError):
        connections.post(url, b"x", {}, 5.0)
    with pytest.raises(TransportError):
        connections.post("ftp://127.0.0.1/hook", b"x", {}, 5.0)


def test_the_simulated_receiver_keeps_connections_and_ends_them_when_it_stops(connections):
    inbox = Inbox({})
    receiver = WebhookReceiver(inbox).start()
    try:
        for _ in range(3):  # unsigned: 401, answered on the same connection
            assert connections.post(receiver.url, b"{}", {}, 5.0) == 401
        assert len(receiver.server._open) == 1
        (served,) = receiver.server._open
        # the answer's body is not held back for the sender's delayed ACK (Nagle)
        assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        receiver.stop()
    assert inbox.stats.rejected == 3
    assert not receiver.server._open
    # The connection kept to the stopped receiver is gone: no answer, not a stale one.
    with pytest.raises(TransportError):
        connections.post(receiver.url, b"{}", {}, 5.0)
