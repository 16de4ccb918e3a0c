"""One call from a decoded case document to its decision: parse, find the pack, pre-review.

Shared by the command line, and later the web and the API, so that all of them judge a
document the same way.
"""

from __future__ import annotations

from datetime import datetime

from onestop.cases.domain.document import ParsedCase, parse_case
from onestop.core.clock import to_beijing
from onestop.core.errors import UnreadableDocument
from onestop.eligibility.prereview import Decision, pre_review
from onestop.policy.loader import PackRegistry
from onestop.reference.domain import ReferenceData


def check_case(
    raw: object,
    *,
    packs: PackRegistry,
    reference: ReferenceData,
    now: datetime,
    at: datetime | None = None,
) -> Decision:
    """Pre-review a decoded case document.

    The evaluation time is ``at`` if given, else the document's ``submitted_at``, else
    ``now``. The pack is the region's version in force at that time. Raises
    `UnreadableDocument` when the value is not a case document of a known region.
    """
    return check_parsed(parse_case(raw), packs=packs, reference=reference, now=now, at=at)


def check_parsed(
    parsed: ParsedCase,
    *,
    packs: PackRegistry,
    reference: ReferenceData,
    now: datetime,
    at: datetime | None = None,
) -> Decision:
    """`check_case` of a document already parsed (``parse_case(raw)``): for a caller that
    keeps the parse (the submission keeps its typed document for the stored case)."""
    document = parsed.document
    evaluation = to_beijing(at or document.submitted_at or now)
    pack = packs.current(document.region, evaluation)
    if pack is None:
        known = "、".join(packs.regions)
        raise UnreadableDocument(f"未知的地区代码“{document.region}”（已有：{known}）")
    return pre_review(parsed, pack, reference, evaluation, packs.catalogue)
