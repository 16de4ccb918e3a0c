"""Size limits of the case document and a check of any decoded JSON value against them.

Issue 8, defect 8: "An 11 MB case document was stored (15 MB per row). Documents and every
field have size limits." The limits sit far above anything a real application needs (the
largest shipped example is under 3 KB) and far below what hurts a database row, a PDF or a
notice. A document beyond them is refused whole (`DocumentRefused`, nothing stored): it is
abuse or a broken client, not a field for the parent to correct. See ADR 0016.

``check_document`` walks the decoded value once, depth first, and stops at the first limit
passed, so an oversized input costs no more than the limit to reject. The per-field limits
of known fields (names, addresses, codes…) are declared with the field types in
``document.py``; the ones here hold for every value, known or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from onestop.core.errors import DocumentRefused
from onestop.core.text import printable, text_problem

# Whole document, as serialized JSON (UTF-8). A request body may be up to twice that: JSON
# written with \uXXXX escapes is twice as long as the same text in UTF-8.
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_BODY_BYTES = 2 * MAX_DOCUMENT_BYTES
# Nesting: the document's own structure is 3 levels deep (delivery.address.recipient,
# newborns[0].name); extensions get a little more room.
MAX_DEPTH = 8
# Any text anywhere, any list, any object, any key.
MAX_TEXT = 2000
MAX_LIST = 50
MAX_KEYS = 64
MAX_KEY_LENGTH = 64

# Per type of known field (characters, after surrounding blanks are removed).
NAME_MAX = 50  # a person's name; minority names written in full (阿卜杜热合曼·买买提) fit
ID_NUMBER_MAX = 32  # 18 for a resident ID, up to ~20 for passports and permits
CODE_MAX = 64  # region, hospital, police station, ethnic group, bank, item, material codes
REFERENCE_MAX = 64  # record, marriage-certificate and BMC numbers
ADDRESS_MAX = 200  # an address, an employer, a bank branch
TEXT_MAX = 100  # other short text (relation to the householder)
TIME_MAX = 64
# Lists of the document.
NEWBORNS_MAX = 9  # as maternity.plurality (1–9)
ITEMS_MAX = 20  # 8 item codes; repeats are tolerated and removed
MATERIALS_MAX = 30  # 10 material codes


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _utf8_size(text: str) -> int:
    # Surrogates were refused before; each code point is 1–4 bytes.
    return len(text.encode("utf-8"))


def _int_size(value: int) -> int:
    # Without str(value): Python refuses to print integers of more than 4300 digits.
    return value.bit_length() * 30103 // 100000 + 2


def check_document(
    value: object,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    label: Callable[[str], str] = printable,
) -> int:
    """Raise `DocumentRefused` when ``value`` (decoded JSON) passes any limit; return its
    approximate serialized size in bytes. ``label`` names a path for people (Chinese)."""
    budget = [max_bytes]

    def named(path: str) -> str:
        return printable(label(path)) if path else "申请表"

    def spend(amount: int) -> None:
        budget[0] -= amount
        if budget[0] < 0:
            raise DocumentRefused(
                "document_too_large",
                f"申请表过大：最多 {max_bytes // 1024} KB",
            )

    def text(item: str, path: str, what: str) -> None:
        # The field's name for people is only worked out for a refusal: this runs for
        # every string of every submitted document.
        problem = text_problem(item)
        if problem is not None:
            raise DocumentRefused("invalid_text", f"{named(path)}{what}{problem}", printable(path))
        limit = MAX_KEY_LENGTH if what == "的字段名" else MAX_TEXT
        if len(item) > limit:
            raise DocumentRefused(
                "field_too_long",
                f"{named(path)}{what}过长：最多{limit}个字符，当前{len(item)}个",
                printable(path),
            )
        spend(_utf8_size(item) + 2)

    def walk(item: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise DocumentRefused(
                "document_too_deep",
                f"申请表嵌套层次过深（{named(path)}）：最多{MAX_DEPTH}层",
                printable(path),
            )
        if isinstance(item, str):
            text(item, path, "")
        elif isinstance(item, bool) or item is None:
            spend(5)
        elif isinstance(item, int):
            spend(_int_size(item))
        elif isinstance(item, float):
            spend(24)
        elif isinstance(item, dict):
            if len(item) > MAX_KEYS:
                raise DocumentRefused(
                    "too_many_fields",
                    f"{named(path)}的字段过多：最多{MAX_KEYS}个",
                    printable(path),
                )
            spend(2)
            for key, inner in item.items():
                name = str(key)
                text(name, _path(path, name), "的字段名")
                spend(1)
                walk(inner, _path(path, name), depth + 1)
        elif isinstance(item, list | tuple):
            if len(item) > MAX_LIST:
                raise DocumentRefused(
                    "list_too_long",
                    f"{named(path)}的条目过多：最多{MAX_LIST}条",
                    printable(path),
                )
            spend(2)
            for index, inner in enumerate(item):
                spend(1)
                walk(inner, _path(path, index), depth + 1)
        else:
            spend(32)

    walk(value, "", 0)
    return max_bytes - budget[0]
