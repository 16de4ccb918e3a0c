"""Errors the domain cores raise. Each has a stable machine code and a Chinese message."""

from __future__ import annotations


class OnestopError(Exception):
    """Base class: ``code`` is stable for machines, ``message`` is Chinese for people."""

    code: str = "onestop_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class UnreadableDocument(OnestopError):
    """The input is not a case document at all (not JSON, not an object, no known region)."""

    code = "unreadable_document"


class CalendarNotCovered(OnestopError):
    """A date lies in a year the working-day table has no data for."""

    code = "calendar_year_not_covered"

    def __init__(self, year: int, first: int | None = None, last: int | None = None) -> None:
        span = f"（已有 {first}–{last} 年）" if first is not None and last is not None else ""
        super().__init__(
            f"工作日历没有 {year} 年的数据{span}，请管理员先录入该年度的节假日和调休安排",
        )
        self.year = year


class PackError(OnestopError):
    """A policy pack file is invalid or missing."""

    code = "policy_pack_invalid"


class ReferenceDataError(OnestopError):
    """A reference data file is invalid."""

    code = "reference_data_invalid"


class DocumentRefused(UnreadableDocument):
    """A document (or a part of it) beyond the product's limits or not storable as text:
    refused whole, nothing stored. ``code`` says which limit (``document_too_large``,
    ``document_too_deep``, ``field_too_long``, ``list_too_long``, ``too_many_fields``,
    ``invalid_text``); ``path`` is where (``newborns[0].name``), empty for the whole."""

    code = "document_refused"

    def __init__(self, code: str, message: str, path: str = "") -> None:
        super().__init__(message, code=code)
        self.path = path
