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
from onestop.core.text import MAY_REFUSE, printable, text_problem

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


# A string without a character `text_problem` may refuse (`core.text.MAY_REFUSE`), and
# not too long, passes without a call. Surrogates are refused before a string is encoded.


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
    approximate serialized size in bytes. ``label`` names a path for people (Chinese).

    Every value is checked and spent for in the order of a depth-first walk, the first
    limit passed refusing. A value's path is made into text only for a refusal or for a
    container's values, and a string or a key is checked in place (issue 10, helper
    h-submission: this runs twice for every submitted document; it made ~1,500 Python
    calls for one before)."""
    budget = max_bytes

    def named(path: str) -> str:
        return printable(label(path)) if path else "申请表"

    def too_large() -> DocumentRefused:
        return DocumentRefused("document_too_large", f"申请表过大：最多 {max_bytes // 1024} KB")

    def too_deep(path: str) -> DocumentRefused:
        return DocumentRefused(
            "document_too_deep",
            f"申请表嵌套层次过深（{named(path)}）：最多{MAX_DEPTH}层",
            printable(path),
        )

    def check_text(item: str, path: str, what: str, limit: int) -> None:
        # Only for a string that may be refused (a character to look at, or too long): the
        # field's name for people is worked out here.
        problem = text_problem(item)
        if problem is not None:
            raise DocumentRefused("invalid_text", f"{named(path)}{what}{problem}", printable(path))
        if len(item) > limit:
            raise DocumentRefused(
                "field_too_long",
                f"{named(path)}{what}过长：最多{limit}个字符，当前{len(item)}个",
                printable(path),
            )

    def scalar_spend(item: Any) -> int:
        if isinstance(item, bool) or item is None:
            return 5
        if isinstance(item, int):
            return _int_size(item)
        if isinstance(item, float):
            return 24
        return 32

    def visit(item: Any, parent: str, key: str | int | None, depth: int) -> None:
        """``item`` at ``parent``'s ``key`` (None: at ``parent`` itself)."""
        nonlocal budget
        if depth > MAX_DEPTH:
            raise too_deep(parent if key is None else _path(parent, key))
        if isinstance(item, str):
            if len(item) > MAX_TEXT or MAY_REFUSE.search(item) is not None:
                check_text(item, parent if key is None else _path(parent, key), "", MAX_TEXT)
            budget -= len(item.encode("utf-8")) + 2
        elif isinstance(item, dict):
            path = parent if key is None else _path(parent, key)
            if len(item) > MAX_KEYS:
                raise DocumentRefused(
                    "too_many_fields",
                    f"{named(path)}的字段过多：最多{MAX_KEYS}个",
                    printable(path),
                )
            budget -= 2
            if budget < 0:
                raise too_large()
            for name_key, inner in item.items():
                name = str(name_key)
                if len(name) > MAX_KEY_LENGTH or MAY_REFUSE.search(name) is not None:
                    check_text(name, _path(path, name), "的字段名", MAX_KEY_LENGTH)
                budget -= len(name.encode("utf-8")) + 3  # the name and its quotes, the colon
                if budget < 0:
                    raise too_large()
                visit(inner, path, name, depth + 1)
            return
        elif isinstance(item, list | tuple):
            path = parent if key is None else _path(parent, key)
            if len(item) > MAX_LIST:
                raise DocumentRefused(
                    "list_too_long",
                    f"{named(path)}的条目过多：最多{MAX_LIST}条",
                    printable(path),
                )
            budget -= 2
            if budget < 0:
                raise too_large()
            for index, inner in enumerate(item):
                budget -= 1
                if budget < 0:
                    raise too_large()
                visit(inner, path, index, depth + 1)
            return
        else:
            budget -= scalar_spend(item)
        if budget < 0:
            raise too_large()

    visit(value, "", None, 0)
    return max_bytes - budget
