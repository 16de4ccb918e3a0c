"""A minimal client of ClamAV's daemon (clamd): the INSTREAM command (no Django).

Protocol (clamd(8)): send ``zINSTREAM\\0``, then the data in chunks, each preceded by its
length as a 4-byte big-endian unsigned integer, then a zero length. clamd answers one
NUL-terminated line: ``stream: OK``, ``stream: <signature> FOUND`` or ``... ERROR``
(e.g. ``INSTREAM size limit exceeded. ERROR``).

Anything but a clear OK or FOUND raises `ScannerUnavailable`: the caller refuses the upload
(fail closed) rather than storing an unscanned file.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

CHUNK = 64 * 1024
MAX_REPLY = 4096


class ScannerUnavailable(Exception):
    """clamd could not be reached or gave no clear verdict."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""

    def __str__(self) -> str:
        return "OK" if self.clean else f"{self.signature} FOUND"


def _connect(address: str, timeout: float) -> socket.socket:
    """``address`` is a unix socket path (``/run/clamav/clamd.ctl``, or ``unix:`` + path)
    or ``host:port`` (``127.0.0.1:3310``)."""
    path = address.removeprefix("unix:")
    if path.startswith("/") or path.startswith("."):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return sock
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ScannerUnavailable(f"not a clamd address: {address!r}")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def instream(data: bytes, *, address: str, timeout: float = 30.0) -> Verdict:
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start : start + CHUNK]
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
            reply = b""
            while b"\0" not in reply and len(reply) < MAX_REPLY:
                part = sock.recv(1024)
                if not part:
                    break
                reply += part
    except OSError as exc:  # refused, missing socket, timeout, reset
        raise ScannerUnavailable(f"clamd unreachable: {type(exc).__name__}") from None
    line = reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    if line.endswith(" OK"):
        return Verdict(clean=True)
    if line.endswith(" FOUND"):
        signature = line.removeprefix("stream:").removesuffix(" FOUND").strip()
        return Verdict(clean=False, signature=signature or "unknown")
    raise ScannerUnavailable(f"clamd gave no verdict: {line[:80]!r}")
