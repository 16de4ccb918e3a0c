"""The public verification of a serial answered from a kept rendering (issue 10 part 3,
ADR 0042 amendment "the kept answer").

``/verify/<serial>/`` and ``/verify/<serial>.json`` answer the same bytes for as long as
the licence's row, the rows of the licences it replaces and is replaced by, and the state
of the key that sealed it stay the same: a correction (ADR 0042) supersedes the row, a
revoked or replaced key changes the key, a changed byte changes the row. So the view
first reads ONE statement — the licence's row with every column as stored (the payload's
ciphertext, not decrypted) and the two serials of its corrections, compiled once per
process — and hashes it with the sealing key's public state, the language, the path (the
page links to itself) and `KEPT_VERSION`. The same digest as an answer this process gave
before: that answer's bytes are sent again; else the view verifies and renders as it
always did, and its 200 answer is kept under that digest.

- The answer is the same for everyone who asks (no personal data beyond the masked summary,
  which a serial alone does not show). The only per-person part of the HTML, the CSRF token
  of the language switch, is kept as a placeholder and filled per request with this
  person's own token (`get_token`, which also sets their CSRF cookie as rendering did).
- Only for people not signed in (the page's header shows a signed-in person's menus) and
  with no flash message waiting; the JSON has neither.
- The per-address rate limit is checked before (`views._limit`): every request still
  counts. A serial not on record is not kept (it is answered as before).
- What the statement does not read (an item's name in the reference data, a deploy)
  shows within ``ONESTOP_PAGE_CACHE_SECONDS`` (the entry's lifetime, 300 s).
- Per process memory only, bounded LRU (``ONESTOP_VERIFY_KEPT_ENTRIES``, 4,096).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import get_template, render_to_string
from django.utils.html import escape
from django.utils.translation import get_language

from onestop.certificates.models import ELicence
from onestop.certificates.services import (
    VERIFY_CACHE_CLEARS,
    Verification,
    elicence_verify_read,
    published_keys,
    unloaded_by_serial,
)
from onestop.common.compiled import CompiledFirst
from onestop.common.kept import Kept
from onestop.common.replica import read_with_fallback
from onestop.common.revalidate import PAGE_SECONDS

# Raise when the page or the JSON shows something else from the same rows.
KEPT_VERSION = "1"
KEPT: Kept[tuple[str], tuple[bytes, str]] = Kept(
    size=int(getattr(settings, "ONESTOP_VERIFY_KEPT_ENTRIES", 4096)), ttl=PAGE_SECONDS
)
CSRF_PLACEHOLDER = b"\x00onestop-csrf-token\x00"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

# The stamp is the read the verification makes anyway (`services.unloaded_by_serial`: the
# row without its payload decrypted, its stored ciphertext and the serials of its
# corrections), compiled once per database in this process (`CompiledFirst`); its raw row
# is hashed. Rendering a miss costs no statement more than before.
_BY_SERIAL = CompiledFirst(ELicence, unloaded_by_serial, "onestop-verify-stand-in-serial")


def _read(serial: str) -> tuple[tuple[Any, ...], ELicence] | None:
    """(the stamp: the database and the row as it sent it, the licence) or None: not on
    record. An empty stamp: the statement was not as expected, nothing is kept."""
    found = _BY_SERIAL.first_with_row(serial)
    if found is None:
        return None
    raw, licence = found
    if not raw:
        return (), licence
    alias = licence._state.db or ""
    return (alias, *(bytes(v) if isinstance(v, memoryview) else v for v in raw)), licence


def _digest(request: HttpRequest, row: tuple[Any, ...], licence: ELicence, *, json: bool) -> str:
    key = published_keys().get(licence.key_id)  # every field: revoked, retired, …
    digest = hashlib.sha256()
    for part in (
        KEPT_VERSION,
        "json" if json else "html",
        get_language() or "",
        request.get_full_path(),
        repr(row),
        repr(key),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _flash_waiting(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


def _with_placeholder(body: bytes) -> bytes | None:
    """The body with its CSRF token as the placeholder (None: not one token as expected)."""
    tokens = set(CSRF_INPUT.findall(body))
    if not tokens:
        return body
    if len(tokens) != 1:
        return None
    [token] = tokens
    if body.count(token) != len(CSRF_INPUT.findall(body)):
        return None
    return body.replace(token, CSRF_PLACEHOLDER)


def kept_answer(
    request: HttpRequest,
    serial: str,
    *,
    json: bool,
    answer: Callable[[Verification], HttpResponse],
    public: Callable[[HttpResponse], HttpResponse],
) -> HttpResponse:
    """``answer(verification)`` (the answer rendered), or the bytes it gave before for the
    same row, key state, language and path (module docstring)."""
    found = read_with_fallback(lambda: _read(serial.strip()))
    if found is None:
        return answer(elicence_verify_read(None, serial))
    stamp, licence = found
    if not json:
        signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
        if signed_in or _flash_waiting(request):
            return answer(elicence_verify_read(licence, serial))
    if not stamp:
        return answer(elicence_verify_read(licence, serial))
    digest = _digest(request, stamp, licence, json=json)
    kept = KEPT.get((digest,))
    if kept is not None:
        body, content_type = kept
        return public(HttpResponse(with_token(request, body), content_type=content_type))
    made = answer(elicence_verify_read(licence, serial))
    if made.status_code == 200 and not made.streaming and not _flash_waiting(request):
        keep = made.content if json else _with_placeholder(made.content)
        if keep is not None:
            KEPT.put((digest,), (keep, made["Content-Type"]))
    return made


# --- the page's frame, kept per language --------------------------------------------------
# A serial asked for the first time in this process (the public ask about thousands of
# different licences) is rendered too, but only its answer card
# (`certificates/verify_answer.html`, ~a third of the page's template work): the rest of
# the page — the header, the language switch, the form — is the same for every anonymous
# person in a language but for the path the language switch returns to and the CSRF token,
# so it is rendered once per language and process and kept with those two as
# placeholders. `test_verify_kept` compares it with the whole page rendered.

PATH_PLACEHOLDER = b"\x00onestop-path\x00"
CARD_AFTER = b"</h1>\n"  # verify.html: the answer card follows the page's heading
_FRAMES: dict[tuple[str, str], tuple[bytes, bytes] | None] = {}
_LOCK = threading.Lock()


def kept_clear() -> None:
    """Forget the kept answers and frames (tests; `services.verify_cache_clear`)."""
    KEPT.clear()
    with _LOCK:
        _FRAMES.clear()


VERIFY_CACHE_CLEARS.append(kept_clear)


def _frame(request: HttpRequest) -> tuple[bytes, bytes] | None:
    """(before the card, after it) with the path's and the CSRF token's placeholders."""
    key = (KEPT_VERSION, get_language() or "")
    with _LOCK:
        if key in _FRAMES:
            return _FRAMES[key]
    page = render_to_string(
        "certificates/verify.html", {"answer": None, "json_url": ""}, request=request
    ).encode()
    body = _with_placeholder(page)
    if body is None or CSRF_PLACEHOLDER not in body or body.count(CARD_AFTER) != 1:
        with _LOCK:  # not the page this expects: render every page whole
            _FRAMES[key] = None
        return None
    path = escape(request.get_full_path()).encode()
    if body.count(path) != 1:  # this path is also elsewhere on the page (``/verify/``)
        return None
    body = body.replace(path, PATH_PLACEHOLDER)
    at = body.index(CARD_AFTER) + len(CARD_AFTER)
    frame = (body[:at], body[at:])
    with _LOCK:
        _FRAMES[key] = frame
    return frame


def framed_page(request: HttpRequest, answer: Verification | None, json_url: str) -> bytes | None:
    """verify.html for this answer, with the CSRF token as its placeholder: the kept frame
    and the answer card rendered now; None: render the whole page (signed in, a flash
    message waiting, or the frame not as expected)."""
    signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
    if signed_in or _flash_waiting(request):
        return None
    frame = _frame(request)
    if frame is None:
        return None
    card = b""
    if answer:
        card = (
            "\n"
            + get_template("certificates/verify_answer.html").render(
                {"answer": answer, "json_url": json_url}
            )
            + "\n"
        ).encode()
    path = escape(request.get_full_path()).encode()
    return (
        frame[0].replace(PATH_PLACEHOLDER, path) + card + frame[1].replace(PATH_PLACEHOLDER, path)
    )


def with_token(request: HttpRequest, body: bytes) -> bytes:
    """The body with this person's CSRF token (and their CSRF cookie, as rendering sets it)."""
    if CSRF_PLACEHOLDER in body:
        return body.replace(CSRF_PLACEHOLDER, get_token(request).encode())
    return body
