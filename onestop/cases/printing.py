"""The decision notice of a stored case, rendered on demand (portal and counter)."""

from __future__ import annotations

from collections.abc import Mapping

from onestop.cases.channels import item_channels, still_open_sentence
from onestop.cases.models import Case, CaseStatus
from onestop.cases.notices import FaqLink, render_notice
from onestop.cases.promise import case_promise, promise_sentence
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.policy.loader import default_packs


def case_notice_pdf(case: Case, *, faq: Mapping[str, FaqLink] | None = None) -> bytes:
    """The decision notice, with the overall promise where the region gives one, and
    under each reason its FAQ answer (``faq`` by reason code; the hotline app's
    ``notice_faq``)."""
    pack = default_packs().version(case.region, case.pack_version)
    refused = case.status == CaseStatus.REJECTED
    return render_notice(
        case_number=case.number,
        region_name=pack.name if pack else case.region,
        decision=case.decision,
        decided_at=case.decided_at,
        item_names=dict(ITEM_NAMES),
        department_names=dict(DEPARTMENT_NAMES),
        promise=promise_sentence(case_promise(case)),
        channels=[c.text for c in item_channels(case)] if refused else None,
        still_open=still_open_sentence(case) if refused else "",
        faq=faq,
    )
