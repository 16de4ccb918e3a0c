"""Reads of e-licences for the people allowed to see them in full."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import F, Q, TextField
from django.db.models.functions import Cast

from onestop.accounts.models import Role, User
from onestop.accounts.permissions import cases_visible_to, items_for_officer
from onestop.cases.models import Case
from onestop.certificates.models import ELicence
from onestop.certificates.seal import PublicKey
from onestop.certificates.services import published_keys, stored_payload, verify_record
from onestop.common.compiled import CompiledAll, padded
from onestop.common.kept import Kept
from onestop.common.names import item_label
from onestop.workflow.domain.newborns import split_key
from onestop.workflow.models import CaseItem


def _item_name(code: str) -> str:
    return item_label(code)


def _prior_query(after: tuple[str, ...]) -> Any:
    """The case's licences of the items ``after`` names, as a query of the case's id."""
    # ``after`` holds keys: twins' items wait for their own baby's (``code-2``, ADR 0036).
    wanted = Q(pk__in=[])
    for key in after:
        code, newborn = split_key(key)
        wanted |= Q(kind=code, item__newborn=newborn)
    # The licences in force: a corrected one stands in for the one it superseded (ADR 0042).
    # The stored ciphertext comes with the row: the seal's check and the result read it
    # without two more queries per licence (issue 10: web CPU per case).
    return lambda case_id: (
        ELicence.objects.filter(case_id=case_id)
        .filter(wanted, superseded_at__isnull=True)
        .defer("payload")
        .annotate(payload_raw=Cast("payload", TextField()))
        .order_by("issued_at")
    )


# The read compiled once per process for each list of awaited items (a pack's item waits
# for the same ones in every case: a handful of lists), the case's id put in per call
# (issue 10: every task's detail — the claim's answer — built and compiled it).
_PRIOR: Kept[tuple[str, ...], CompiledAll[ELicence]] = Kept(size=256)
_CASE_STAND_IN = -7_340_029_511


def _prior_shown(licence: ELicence, keys: dict[str, PublicKey]) -> dict[str, Any]:
    """A prior licence as `prior_elicences` shows it, its seal checked."""
    verdict = verify_record(licence, keys)
    payload = stored_payload(licence) if verdict.valid else None
    return {
        "name": _item_name(licence.kind),
        "kind": licence.kind,
        "serial": licence.serial,
        "issuer": licence.issuer_name,
        "issuer_code": licence.issuer_code,
        "issued_at": licence.issued_at,
        # Only a verified result stands in for the paper certificate.
        "result": payload.get("result", {}) if isinstance(payload, dict) else {},
        "valid": verdict.valid,
        "reason": verdict.reason,
    }


def prior_elicences(item: CaseItem) -> list[dict[str, Any]]:
    """The e-licences of the items ``item`` waits for (证照免交), each with its seal checked:
    the later department reads the verified result instead of asking for paper."""
    if not item.after:  # waits for nothing: no licence to read (the query would match none)
        return []
    keys = published_keys()
    after = tuple(item.after)
    compiled = _PRIOR.get_or_make(
        after, lambda: CompiledAll(ELicence, _prior_query(after), _CASE_STAND_IN)
    )
    case = item.case
    out = []
    for licence in compiled.all(case.pk):
        licence.case = case  # as the case's related manager sets it
        out.append(_prior_shown(licence, keys))
    return out


# `prior_elicences` of several items (an API batch claim's task details, issue 10, session
# 29: one statement per task): the licences in force of the items' cases of the kinds any
# of them waits for, in one statement, each item's then taken from them by kind and baby
# (the join to the licence's item, as `_prior_query`'s filter makes it). Compiled once per
# number of cases and of kinds, each rounded up to a power of two (the last repeated).
_NEWBORN_OF = "prior_item_newborn"
_PRIORS: Kept[tuple[int, int], CompiledAll[ELicence]] = Kept(size=64)


def _priors_query(cases: int) -> Any:
    def build(*values: Any) -> Any:
        return (
            ELicence.objects.filter(case_id__in=values[:cases], kind__in=values[cases:])
            .filter(superseded_at__isnull=True)
            .defer("payload")
            .annotate(payload_raw=Cast("payload", TextField()), **{_NEWBORN_OF: F("item__newborn")})
            .order_by("issued_at", "pk")
        )

    return build


def prior_elicences_of(items: Sequence[CaseItem]) -> dict[int, list[dict[str, Any]]]:
    """`prior_elicences` of each of ``items`` (by the item's id), the licences of all of
    them read in one statement (none where none waits for anything), each licence's seal
    checked once however many of them wait for it."""
    out: dict[int, list[dict[str, Any]]] = {item.pk: [] for item in items}
    waiting = [item for item in items if item.after]
    if not waiting:
        return out
    wanted = {item.pk: {split_key(key) for key in item.after} for item in waiting}
    case_ids = padded(sorted({item.case_id for item in waiting}))
    kinds = padded(sorted({code for keys in wanted.values() for code, _ in keys}))
    sizes = (len(case_ids), len(kinds))
    compiled = _PRIORS.get_or_make(
        sizes,
        lambda: CompiledAll(
            ELicence,
            _priors_query(sizes[0]),
            *(_CASE_STAND_IN - n for n in range(sizes[0])),
            *(f"onestop-stand-in-prior-kind-{n}" for n in range(sizes[1])),
        ),
    )
    by_case: dict[int, list[ELicence]] = {}
    for licence in compiled.all(*case_ids, *kinds):
        by_case.setdefault(licence.case_id, []).append(licence)
    keys = published_keys()
    shown: dict[int, dict[str, Any]] = {}
    for item in waiting:
        for licence in by_case.get(item.case_id, ()):
            if (licence.kind, getattr(licence, _NEWBORN_OF)) not in wanted[item.pk]:
                continue
            if licence.pk not in shown:
                licence.case = item.case  # as the case's related manager sets it
                shown[licence.pk] = _prior_shown(licence, keys)
            out[item.pk].append(dict(shown[licence.pk]))
    return out


# The parents' card's columns of a case's licences (`case_elicences`).
CARD_COLUMNS = (
    "case",  # (the related manager sets ``case`` on each: its id must be read)
    "serial",
    "kind",
    "issuer_name",
    "issued_at",
    "sealed",
    "signature",
    "item__item",
    "item__newborn",
    "superseded_by__serial",
)
# ``case.elicences`` of `case_elicences` by the case's id, compiled once per process (issue
# 10: building and compiling this queryset with its two joins was ~a third of the card on
# a finished case's page, cProfile).
_CASE_ELICENCES = CompiledAll(
    ELicence,
    lambda case_id: (
        ELicence.objects.filter(case_id=case_id)
        .select_related("item", "superseded_by")
        .only(*CARD_COLUMNS)
        .order_by("issued_at")
    ),
    -7_340_029_601,
)


def case_elicences(case: Case) -> list[ELicence]:
    """The case's licences with only the columns the parents' card shows
    (``certificates.templatetags.elicence_tags``: serial, kind, issuer, time, the seal for the QR
    link, the item's code and baby, the serial that replaced it): no payload or result is
    read or decrypted — the joined item's and replacing licence's were, whole rows (issue
    10 part 3). A column read after all is loaded on access (the statement-count tests).
    Each has its ``case`` set, as ``case.elicences`` sets it."""
    found = _CASE_ELICENCES.all(case.pk)
    for licence in found:
        licence.case = case
    return found


def elicence_for_parent(user: User, serial: str) -> ELicence | None:
    """A licence of one of the signed-in parent's own cases."""
    if user.role != Role.PARENT:
        return None
    cases = cases_visible_to(user, Case.objects.all())
    return ELicence.objects.filter(serial=serial, case__in=cases).first()


def elicence_for_officer(user: User, serial: str) -> ELicence | None:
    """A licence the officer works with: one their item issued, or one an item of theirs in
    the same case waits for."""
    licence = ELicence.objects.filter(serial=serial).select_related("case", "item").first()
    if licence is None or user.role != Role.OFFICER:
        return None
    mine = items_for_officer(user, CaseItem.objects.filter(case=licence.case))
    for row in mine.only("pk", "after"):
        if row.pk == licence.item_id or licence.item.key in (row.after or []):
            return licence
    return None
