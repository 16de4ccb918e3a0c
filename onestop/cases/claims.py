"""One newborn, one active case (issue 8, defect 3: "One newborn (hospital + record number,
and mother's ID + birth time) may have one active case across all channels (online,
counter, API)").

Every case that is active holds a `NewbornClaim` per key of each of its newborns, inserted
in the case's own transaction; the partial UNIQUE constraint on the active keys makes the
database refuse the second of two racing submissions. Active means the case can still lead
to a certificate or has led to one: 待补正 (supplement), 办理中 (in progress) and 已办结
(completed). 不予受理 (rejected) and 已撤回 (withdrawn) cases release their claims, so the
newborn can be submitted again (ADR 0015).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import connections, router, transaction
from django.db.models import Q, QuerySet, TextField, Value, sql

from onestop.accounts.models import User
from onestop.accounts.permissions import can_view_case
from onestop.cases.domain.newborns import (
    NewbornKey,
    birth_minute,
    close_births,
    mask_case_number,
    newborn_keys,
)
from onestop.cases.models import Case, CaseStatus, Newborn, NewbornClaim, SscApplication
from onestop.common.compiled import CompiledInsert, CompiledValues, Statement
from onestop.common.fields import index_of
from onestop.common.inserts import Part, insert_together
from onestop.common.kept import Kept
from onestop.common.reuse import reused
from onestop.core.errors import OnestopError

ACTIVE_STATUSES = (CaseStatus.SUPPLEMENT, CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED)

# The claims' INSERTs, built once per process (issue 10, helper h-submission).
_CLAIM_INSERT = CompiledInsert(NewbornClaim)
_CARD_INSERT = CompiledInsert(SscApplication)

# "Staff see possible duplicates (same mother, close birth time) before they issue."
POSSIBLE_DUPLICATE_WINDOW = timedelta(hours=48)


class DuplicateNewborn(OnestopError):
    """The newborn already has an active case; ``existing`` is its number as the
    submitter may see it (masked unless they may open that case)."""

    code = "duplicate_newborn"

    def __init__(self, message: str, *, existing: str) -> None:
        super().__init__(message)
        self.existing = existing


def _indexes(keys: Iterable[NewbornKey]) -> dict[str, NewbornKey]:
    return {index_of(key.text, purpose="newborn"): key for key in keys}


def active_holder(document: Mapping[str, Any], *, exclude: Case | None = None) -> Case | None:
    """The active case already holding a key of this document's newborns, if any."""
    indexes = list(_indexes(newborn_keys(document)))
    if not indexes:
        return None
    claims = NewbornClaim.objects.filter(
        key_index__in=indexes, active=True, case__status__in=ACTIVE_STATUSES
    ).select_related("case")
    if exclude is not None:
        claims = claims.exclude(case=exclude)
    claim = claims.order_by("pk").first()
    return claim.case if claim is not None else None


def shown_number(existing: Case, viewer: User | None) -> str:
    """The number in full only to someone who may already open that case."""
    if viewer is not None and can_view_case(viewer, existing):
        return existing.number
    return mask_case_number(existing.number)


def duplicate_error(existing: Case, viewer: User | None) -> DuplicateNewborn:
    number = shown_number(existing, viewer)
    return DuplicateNewborn(
        f"该新生儿已有申请（办件编号 {number}，{existing.get_status_display()}），"
        "同一新生儿不能重复申请。如需更正信息，请在原办件中补正，或联系原受理机构。",
        existing=number,
    )


def claims_take(
    case: Case,
    document: Mapping[str, Any],
    now: datetime,
    standing: Standing | None = None,
    *,
    pending: list[Part] | None = None,
) -> int:
    """Claim the newborns of ``case`` (caller's transaction). Raises IntegrityError when an
    active case holds a key: the caller turns it into `DuplicateNewborn`. ``standing``:
    what `claims_standing` read of the keys in this transaction (none left active by an
    ended case: none to release). ``pending``: the claims' rows are put there for the
    caller to write (`insert_together`), not written here."""
    if case.status not in ACTIVE_STATUSES:
        return 0
    indexed = standing.indexed if standing is not None else _indexes(newborn_keys(document))
    if not indexed:
        return 0
    # Claims left active by a case that is no longer active (a status set by a path that
    # did not release them) must not block the newborn forever.
    if standing is None or standing.stale_claims:
        NewbornClaim.objects.filter(key_index__in=list(indexed), active=True).exclude(
            case__status__in=ACTIVE_STATUSES
        ).update(active=False, released_at=now)
    claims = [
        _CLAIM_INSERT.new(
            case=case, position=key.position, kind=key.kind, key_index=index, claimed_at=now
        )
        for index, key in indexed.items()
    ]
    if pending is not None:
        pending.append((_CLAIM_INSERT, claims))
    else:
        _CLAIM_INSERT.insert(claims)
    return len(indexed)


def claims_release(case: Case, now: datetime) -> int:
    """A rejected or withdrawn case lets its newborns go (caller's transaction)."""
    released: int = NewbornClaim.objects.filter(case=case, active=True).update(
        active=False, released_at=now
    )
    return released


def claims_refresh(
    case: Case,
    document: Mapping[str, Any],
    now: datetime,
    *,
    fresh: bool = False,
    standing: Standing | None = None,
    riders: Sequence[Part] = (),
) -> None:
    """After a supplement changed the document or the status: the claims follow (the
    newborns' and, where the card is chosen, the social security card's). A ``fresh``
    case (just created) holds none yet: nothing to release; ``standing`` (a fresh case's
    only): what `claims_standing` read of its keys. The claims and card applications
    taken are written in one statement (PostgreSQL; `insert_together`), with ``riders``
    (other new rows of the caller's: a submission's people, newborns and materials;
    issue 10, session 28, helper h-submit: were five statements)."""
    if not fresh:
        claims_release(case, now)
        ssc_claims_release(case, now)
    pending: list[Part] = []
    claims_take(case, document, now, standing, pending=pending)
    ssc_claims_take(case, document, now, fresh=fresh, standing=standing, pending=pending)
    insert_together(*pending, *riders)


# --- one social security card per newborn (seed 002 (五)) ----------------------------------

SSC_ITEM = "social_security_card"
# While the case can still lead to the card (or has: an issued card is kept regardless).
SSC_CLAIMING_STATUSES = (CaseStatus.SUPPLEMENT, CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED)


class DuplicateSscApplication(DuplicateNewborn):
    """The newborn's social security card was already applied for (seed 002 (五): 未在其他
    渠道或省市申领社会保障卡的新生儿). A `DuplicateNewborn`, so every channel that answers a
    duplicate (API 409, the online form, the counter) answers this one, with its own code."""

    code = "ssc_already_applied"


def ssc_chosen(document: Mapping[str, Any]) -> bool:
    items = document.get("items")
    return isinstance(items, list) and SSC_ITEM in items


def ssc_holder(document: Mapping[str, Any], *, exclude: Case | None = None) -> Case | None:
    """The case holding an active card application for a newborn of this document."""
    indexes = list(_indexes(newborn_keys(document)))
    if not indexes:
        return None
    # An application stands while its case can still lead to the card, or once the card
    # was made; one left active by a case since rejected (a path that did not release it)
    # does not.
    rows = (
        SscApplication.objects.filter(key_index__in=indexes, active=True)
        .filter(Q(issued=True) | Q(case__status__in=SSC_CLAIMING_STATUSES))
        .select_related("case")
    )
    if exclude is not None:
        rows = rows.exclude(case=exclude)
    row = rows.order_by("pk").first()
    return row.case if row is not None else None


def ssc_error(existing: Case, viewer: User | None) -> DuplicateSscApplication:
    number = shown_number(existing, viewer)
    return DuplicateSscApplication(
        f"该新生儿已申领过社会保障卡（办件编号 {number}），同一新生儿不能重复申领。"
        "请取消勾选“社会保障卡申领”后重新提交；如需补领或换领，请到人力资源社会保障部门办理。",
        existing=number,
    )


@dataclass(frozen=True)
class Standing:
    """What a document's newborn keys stand in, read in one statement before a submission
    (`claims_standing`; issue 10, helper h-submission: were the two holders' reads, and
    each take's release of claims left by ended cases, four statements)."""

    indexed: dict[str, NewbornKey]  # the keys by their blind index
    held: bool  # a claim of an active case holds a key (`active_holder` names it)
    card_held: bool  # a card application stands for a key (`ssc_holder` names it)
    stale_claims: bool  # a claim left active by a case no longer active
    stale_ssc: bool  # a card application left active by one that can no longer lead to it


def _standing_of(keys: int) -> CompiledValues:
    """The active claims and card applications of ``keys`` key indexes, with their cases'
    statuses: one statement, compiled once per number of keys."""

    def build(*indexes: str) -> QuerySet[Any]:
        claims = NewbornClaim.objects.filter(key_index__in=indexes[:keys], active=True)
        cards = SscApplication.objects.filter(key_index__in=indexes[keys:], active=True)
        return (
            claims.values_list(Value(False), "case__status", Value(False))
            .union(cards.values_list(Value(True), "case__status", "issued"), all=True)
            .order_by()
        )

    return CompiledValues(
        NewbornClaim,
        build,
        *(f"onestop-stand-in-claim-{n}" for n in range(keys)),
        *(f"onestop-stand-in-card-{n}" for n in range(keys)),
    )


_STANDING: Kept[int, CompiledValues] = Kept(size=32)


def claims_standing(document: Mapping[str, Any]) -> Standing:
    """What the keys of ``document``'s newborns stand in now (`Standing`)."""
    indexed = _indexes(newborn_keys(document))
    if not indexed:
        return Standing(indexed, False, False, False, False)
    indexes = list(indexed)
    compiled = _STANDING.get_or_make(len(indexes), lambda: _standing_of(len(indexes)))
    held = card_held = stale_claims = stale_ssc = False
    for card, status, issued in compiled.rows(*indexes, *indexes):
        if not card:
            if status in ACTIVE_STATUSES:
                held = True
            else:
                stale_claims = True
        elif issued or status in SSC_CLAIMING_STATUSES:
            card_held = True
        else:
            stale_ssc = True
    return Standing(indexed, held, card_held, stale_claims, stale_ssc)


def ssc_claims_take(
    case: Case,
    document: Mapping[str, Any],
    now: datetime,
    *,
    fresh: bool = False,
    standing: Standing | None = None,
    pending: list[Part] | None = None,
) -> int:
    """Record the card application of ``case``'s newborns (caller's transaction). Raises
    IntegrityError when another active application holds a key. ``standing``, ``pending``:
    as for `claims_take`."""
    if case.status not in SSC_CLAIMING_STATUSES or not ssc_chosen(document):
        return 0
    if not fresh and SscApplication.objects.filter(case=case, active=True).exists():
        return 0  # kept (an issued card) or already taken
    indexed = standing.indexed if standing is not None else _indexes(newborn_keys(document))
    if standing is None or standing.stale_ssc:
        SscApplication.objects.filter(
            key_index__in=list(indexed), active=True, issued=False
        ).exclude(case__status__in=SSC_CLAIMING_STATUSES).update(active=False, released_at=now)
    cards = [
        _CARD_INSERT.new(case=case, position=key.position, key_index=index, claimed_at=now)
        for index, key in indexed.items()
    ]
    if pending is not None:
        pending.append((_CARD_INSERT, cards))
    else:
        _CARD_INSERT.insert(cards)
    return len(indexed)


def ssc_claims_release(case: Case, now: datetime, newborn: int | None = None) -> int:
    """The card was refused or cancelled, or the case ended before it was made: the
    application no longer stands (an issued card's is kept). ``newborn``: only that baby's
    (twins: each baby's card is its own item, ADR 0036); None: every baby's."""
    rows = SscApplication.objects.filter(case=case, active=True, issued=False)
    if newborn is not None:
        rows = rows.filter(position=newborn)
    released: int = rows.update(active=False, released_at=now)
    return released


def _issuing(case_id: Any, position: Any = None) -> QuerySet[SscApplication]:
    rows = SscApplication.objects.filter(case_id=case_id, active=True)
    return rows if position is None else rows.filter(position=position)


# `ssc_claims_issue`'s UPDATE, compiled once per database and form (issue 10, session 28,
# h-elicence: a card item's completion had Django build it each time). A case id and a
# newborn's position no row has stand in for the values.
_ISSUING: Kept[tuple[str, str, bool], Statement | None] = Kept(size=8)
_ISSUING_CASE, _ISSUING_POSITION = -7_340_029_613, 32_113


def _issuing_statement(alias: str, by_position: bool) -> Statement | None:
    query = _issuing(_ISSUING_CASE, _ISSUING_POSITION if by_position else None).query
    update = cast(sql.UpdateQuery, query.chain(sql.UpdateQuery))  # (typed as a Query)
    update.add_update_values({"issued": True})
    compiler = update.get_compiler(alias)
    text, params = compiler.as_sql()
    if not text or update.get_related_updates():
        return None
    stand_ins = [_ISSUING_CASE, *([_ISSUING_POSITION] if by_position else [])]
    return Statement.of(text, params, stand_ins)


def ssc_claims_issue(case: Case, newborn: int | None = None) -> int:
    """The card was made: its application stands for good (``newborn``: only that baby's)."""
    alias = router.db_for_write(SscApplication)
    connection = connections[alias]
    key = (alias, connection.vendor, newborn is not None)
    statement = _ISSUING.get_or_make(key, lambda: _issuing_statement(alias, key[2]))
    if statement is None:  # not compiled as expected: the queryset runs
        issued: int = _issuing(case.pk, newborn).using(alias).update(issued=True)
        return issued
    values = [case.pk, *([newborn] if newborn is not None else [])]
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(*values))
        written: int = max(cursor.rowcount, 0)
    return written


def claims_of_others(case_id: Any, indexes: Sequence[Any]) -> QuerySet[NewbornClaim]:
    """The claims (released ones too) of any of ``indexes`` by cases other than
    ``case_id``: the one definition of "another case claimed this newborn"."""
    return NewbornClaim.objects.filter(key_index__in=indexes).exclude(case_id=case_id)


def claims_of_keys(indexes: Sequence[Any]) -> QuerySet[NewbornClaim]:
    """The claims (released ones too) of any of ``indexes`` by any case: `claims_of_others`
    of several cases at once, each case's own claims left out by the caller (an API batch's
    task details, issue 10, session 29)."""
    return NewbornClaim.objects.filter(key_index__in=indexes)


def _claimed_by(keys: int) -> CompiledValues:
    """The other cases that claimed any of ``keys`` key indexes, compiled once."""
    return CompiledValues(
        NewbornClaim,
        lambda case_id, *indexes: claims_of_others(case_id, indexes).values_list("case_id"),
        -7_340_029_127,
        *(f"onestop-stand-in-key-index-{n}" for n in range(keys)),
    )


# Per number of the newborns' keys (one for a single birth; issue 10 part 2: every task's
# detail, claim and completion asks, for the duplicate check).
_CLAIMED_TOGETHER: Kept[int, CompiledValues] = Kept(size=32)


def _claimed_together(case: Case) -> set[int]:
    """Other cases that ever claimed a key of this case's newborns (released ones too)."""
    document = case.document if isinstance(case.document, dict) else {}
    indexes = list(_indexes(newborn_keys(document)))
    if not indexes:
        return set()
    compiled = _CLAIMED_TOGETHER.get_or_make(len(indexes), lambda: _claimed_by(len(indexes)))
    return {case_id for (case_id,) in compiled.rows(case.pk, *indexes)}


def newborns_of_case_or_mother(case_id: Any, mother: Any) -> QuerySet[Newborn]:
    """The newborns of case ``case_id`` and of every case of the mother whose ID number's
    blind index is ``mother``: the one definition of the births a duplicate check reads.

    The test is on the cases' table alone (``case_id IN (SELECT id FROM cases_case WHERE
    id = … OR mother_id_index = …)``): a ``BitmapOr`` of its primary key and
    ``case_mother_id_index``, then the newborns by ``case_id``. Written as ``case_id = …
    OR case.mother_id_index = …`` over the join, the test spans two tables and no index
    answers it: PostgreSQL joined every newborn with every case (140 ms at 50,000 cases,
    growing with them; issue 10, session 27)."""
    return Newborn.objects.filter(
        case__in=Case.objects.filter(Q(pk=case_id) | Q(mother_id_index=mother)).values("pk")
    )


def newborns_of_mothers(mothers: Sequence[Any]) -> QuerySet[Newborn]:
    """The newborns of every case of the mothers whose ID numbers' blind indexes are
    ``mothers``: `newborns_of_case_or_mother` of several cases at once, each with a mother's
    index (its own newborns are among its mother's). The test is on the cases' table alone
    (``case_mother_id_index``), as there."""
    return Newborn.objects.filter(
        case__in=Case.objects.filter(mother_id_index__in=mothers).values("pk")
    )


# The case's and the mother's other cases' birth times, compiled once per process (issue
# 10 part 2: asked by every task's detail and claim, `possible_duplicates`).
_BIRTHS_WITH_MOTHERS = CompiledValues(
    Newborn,
    lambda case_id, mother: newborns_of_case_or_mother(case_id, mother).values_list(
        "case_id", "born_at"
    ),
    -7_340_029_123,
    "onestop-stand-in-mother-index",
)


def _births_with_mothers(case: Case) -> tuple[list[str], dict[int, list[str]]]:
    """The birth times of ``case``'s newborns, and those of the mother's other cases by
    case, in one statement (none without the mother's ID number: no other case)."""
    if not case.mother_id_index:
        return [], {}
    births: dict[int, list[str]] = {}
    for case_id, born_at in _BIRTHS_WITH_MOTHERS.rows(case.pk, case.mother_id_index):
        births.setdefault(case_id, []).append(born_at or "")
    return births.pop(case.pk, []), births


# What an e-licence's issue reads of its case, in ONE statement (issue 10, session 26,
# h-completion: were three — the claims of `_claimed_together`, the births of
# `_births_with_mothers` and the newborns the licence names): a ``UNION ALL`` whose rows
# are tagged with their part — the case's newborns (``n``: position, name, sex, birth
# time), the other cases that claimed a key of them (``c``) and the births of the
# mother's other cases (``b``). Compiled once per database, number of keys and whether
# the mother's ID index is known (the parts present); the case's id goes in three
# places, one stand-in each. The first part's columns are the encrypted fields: their
# converters decrypt every part's rows (NULL stays None).
_NEWBORN, _CLAIMED, _BIRTH = "n", "c", "b"
_ISSUE_CASE_AT = (-7_340_029_213, -7_340_029_217, -7_340_029_219)
_ISSUE_MOTHER_AT = "onestop-stand-in-issue-mother-index"
_ISSUE_READS: Kept[tuple[str, str, int, bool], Statement | None] = Kept(size=64)
_NONE = Value(None, output_field=TextField())


def _issue_reads(
    case_id: Any, claimed_by: Any, mothers_other: Any, mother: Any, *keys: Any
) -> QuerySet[Any]:
    """The reads of `newborns_and_same` (``claimed_by``, ``mothers_other``: the case's
    id where the parts exclude it; ``mother`` falsy: no mother's part)."""
    newborns = (
        Newborn.objects.filter(case_id=case_id)
        .order_by()
        .values_list(Value(_NEWBORN), "case_id", "position", "name", "sex", "born_at")
    )
    parts: list[QuerySet[Any]] = []
    if keys:
        parts.append(
            claims_of_others(claimed_by, keys)
            .order_by()
            .values_list(Value(_CLAIMED), "case_id", Value(0), _NONE, _NONE, _NONE)
        )
    if mother:
        parts.append(
            Newborn.objects.filter(case__mother_id_index=mother)
            .exclude(case_id=mothers_other)
            .order_by()
            .values_list(Value(_BIRTH), "case_id", Value(0), _NONE, _NONE, "born_at")
        )
    return newborns.union(*parts, all=True) if parts else newborns


def _keys_of(document: Any) -> tuple[NewbornKey, ...]:
    """`newborn_keys` of a stored document (not an object: none)."""
    return tuple(newborn_keys(document if isinstance(document, dict) else {}))


def newborns_and_same(case: Case) -> tuple[list[tuple[Any, ...]], set[int]]:
    """(name, sex, born_at) of ``case``'s newborns in order, and the other cases of the
    same newborn: a shared key (released claims too), or the same mother and birth
    minute. The second test needs no claim, so it also finds cases filed before claims
    existed. One statement (see above)."""
    keys = list(_indexes(case.stored_fact("newborn_keys", _keys_of)))
    mother = case.mother_id_index or ""
    alias = router.db_for_read(Newborn)
    connection = connections[alias]

    # Only the stand-ins of the parts present (a part left out leaves its stand-in out of
    # the statement, and one missing stand-in makes it not compile: review of session 26).
    def make() -> Statement | None:
        key_at = [f"onestop-stand-in-issue-key-{n}" for n in range(len(keys))]
        claimed_by = _ISSUE_CASE_AT[1] if keys else 0
        mothers_other = _ISSUE_CASE_AT[2] if mother else 0
        stand_ins = [
            _ISSUE_CASE_AT[0],
            *([claimed_by] if keys else []),
            *([mothers_other, _ISSUE_MOTHER_AT] if mother else []),
            *key_at,
        ]
        built = _issue_reads(
            _ISSUE_CASE_AT[0],
            claimed_by,
            mothers_other,
            _ISSUE_MOTHER_AT if mother else "",
            *key_at,
        )
        return Statement.compiled(built.query.get_compiler(alias), stand_ins)

    def read() -> list[tuple[Any, ...]]:
        statement = _ISSUE_READS.get_or_make(
            (alias, connection.vendor, len(keys), bool(mother)), make
        )
        if statement is None:  # not compiled as expected: the queryset runs
            return [
                tuple(row)
                for row in _issue_reads(case.pk, case.pk, case.pk, mother, *keys).using(alias)
            ]
        return statement.rows(
            connection,
            case.pk,
            *([case.pk] if keys else []),
            *([case.pk, mother] if mother else []),
            *keys,
        )

    # Inside an API batch (`common.reuse`), the items of one case read it once (issue 10,
    # session 29: one statement per completed item). No task action writes newborns or
    # claims (a case's own claims released on completion are still read, and excluded).
    rows = reused((_NEWBORN, alias, case.pk, mother, *keys), read)
    named: list[tuple[int, tuple[Any, ...]]] = []
    ids: set[int] = set()
    theirs: dict[int, set[str]] = {}
    for part, case_id, position, name, sex, born_at in rows:
        if part == _NEWBORN:
            named.append((position, (name, sex, born_at)))
        elif part == _CLAIMED:
            ids.add(case_id)
        else:
            theirs.setdefault(case_id, set()).add(birth_minute(born_at or ""))
    named.sort(key=lambda row: row[0])
    newborns = [row for _, row in named]
    # Without the mother's ID number there is no other case of hers (no ``b`` rows).
    mine = {birth_minute(born_at or "") for _, _, born_at in newborns} - {""}
    for other, minutes in theirs.items():
        if mine & minutes:
            ids.add(other)
    return newborns, ids


def possible_duplicate_ids(
    claimed: Iterable[int],
    mine: Sequence[str],
    theirs: Mapping[int, Sequence[str]],
    window: timedelta = POSSIBLE_DUPLICATE_WINDOW,
) -> set[int]:
    """The rule of `possible_duplicates`, over the rows it reads: the cases that claimed a
    key of the case's newborns (``claimed``, released claims too), and those of the mother's
    other cases (``theirs``: birth times, decrypted, by case) with a birth within ``window``
    of one of the case's (``mine``). Of these, the caller keeps the active ones
    (`ACTIVE_STATUSES`). Pure: the API's task detail reads the same rows in its one
    statement and applies this (session 23, h-tidyapi: it restated the rule)."""
    ids = set(claimed)
    for other, births in theirs.items():
        if other not in ids and any(close_births(a, b, window) for a in mine for b in births):
            ids.add(other)
    return ids


def possible_duplicates(case: Case, window: timedelta = POSSIBLE_DUPLICATE_WINDOW) -> list[Case]:
    """Active cases that may be the same newborn: a shared key, or the same mother with a
    birth within ``window`` (birth times are encrypted: compared after decrypting)."""
    mine, births = _births_with_mothers(case)
    ids = possible_duplicate_ids(_claimed_together(case), mine, births, window)
    if not ids:
        return []
    return list(
        Case.objects.filter(Q(pk__in=ids), status__in=ACTIVE_STATUSES).order_by("submitted_at")
    )
