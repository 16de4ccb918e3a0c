"""A logging filter that removes personal data from every log record.

Resident ID numbers (15/18 characters), mainland mobile numbers and long digit runs such as
bank accounts are replaced before any handler sees the record. It is a last line of
defence: code should not log personal data in the first place.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    # 18-character resident ID (last may be X) and 15-digit old IDs; bank accounts 16–19 digits.
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[身份证号已隐去]"),
    (re.compile(r"(?<!\d)\d{15,19}(?!\d)"), "[号码已隐去]"),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"), "[手机号已隐去]"),
)


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ScrubPersonalData(logging.Filter):
    """Formats the message with its arguments, then scrubs it (and any exception text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            del exc
        return True
