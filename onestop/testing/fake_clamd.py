"""A tiny stand-in for ClamAV's daemon, for tests: it speaks the INSTREAM protocol on a
unix socket or a TCP port and answers FOUND for the EICAR test string, OK otherwise (or a
fixed reply). The process boundary is the socket, so the client code runs unchanged."""

from __future__ import annotations

import os
import socket
import struct
import tempfile
import threading
from pathlib import Path

EICAR_MARK = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


class FakeClamd:
    def __init__(self, *, tcp: bool = False, reply: bytes | None = None) -> None:
        self.reply = reply
        self.scanned: list[int] = []  # sizes of the streams received
        if tcp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        else:
            self.folder = tempfile.mkdtemp(prefix="clamd-")  # short: unix paths are limited
            path = os.path.join(self.folder, "clamd.sock")
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            self.address = path
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            part = conn.recv(size - len(data))
            if not part:
                raise ConnectionError("client closed")
            data += part
        return data

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                try:
                    command = b""
                    while not command.endswith(b"\0"):
                        command += self._read(conn, 1)
                    assert command == b"zINSTREAM\0", command
                    body = b""
                    while True:
                        (length,) = struct.unpack(">I", self._read(conn, 4))
                        if length == 0:
                            break
                        body += self._read(conn, length)
                    self.scanned.append(len(body))
                    if self.reply is not None:
                        answer = self.reply
                    elif EICAR_MARK in body:
                        answer = b"stream: Eicar-Test-Signature FOUND\0"
                    else:
                        answer = b"stream: OK\0"
                    conn.sendall(answer)
                except (OSError, AssertionError):
                    continue

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)
        self.sock.close()
        if not self.address[0].isdigit():
            Path(self.address).unlink(missing_ok=True)
            Path(self.address).parent.rmdir()
