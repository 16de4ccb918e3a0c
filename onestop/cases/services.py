"""Writes to cases: submission (pre-review, persistence, dispatch) and supplements.

`case_submit` is one transaction: the case, its people, newborns, materials, decision,
timeline, audit record, the accepted case's items with their first dispatch, and the
messages to send — all or nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Func, QuerySet, Subquery, TextField
from django.utils import timezone

from onestop.accounts.models import Role, User, actor_label
from onestop.audit.services import LAST_LINK, audit_record, last_link_columns, last_link_read
from onestop.cases.claims import (
    DuplicateNewborn,
    Standing,
    active_holder,
    claims_refresh,
    claims_standing,
    duplicate_error,
    ssc_chosen,
    ssc_error,
    ssc_holder,
)
from onestop.cases.domain.document import (
    CaseDocument,
    field_label,
    parse_case,
    without_unknown_fields,
)
from onestop.cases.domain.limits import check_document
from onestop.cases.events import CaseDecided, CaseSubmitted, CaseSupplemented, Office
from onestop.cases.filers import OutsideJurisdiction, filer_admit
from onestop.cases.models import (
    Case,
    CaseNumberCounter,
    CaseStatus,
    Material,
    Newborn,
    Person,
)
from onestop.cases.uploads import files_removed_on_failure, store_material
from onestop.catalogue.loader import catalogue
from onestop.catalogue.schema import Routing
from onestop.common.compiled import (
    CompiledAllOfIds,
    CompiledFirst,
    CompiledInsert,
    CompiledPerKey,
)
from onestop.common.fields import index_of, read_sealed, unseal
from onestop.common.inserts import Part
from onestop.core.clock import to_beijing
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.eligibility.check import check_case, check_parsed
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import Outcome
from onestop.policy.loader import default_packs
from onestop.reference.domain import ReferenceData
from onestop.reference.selectors import current_reference

__all__ = [
    "CaseStateError",
    "DuplicateNewborn",
    "OutsideJurisdiction",
    "Submission",
    "case_submit",
    "case_supplement",
]


# The submission's rows, their INSERTs built once per process (issue 10, helper h-submission).
_CASE_INSERT = CompiledInsert(Case)
_PERSON_INSERT = CompiledInsert(Person)
_NEWBORN_INSERT = CompiledInsert(Newborn)
_MATERIAL_INSERT = CompiledInsert(Material)


class CaseStateError(OnestopError):
    code = "case_state"


@dataclass(frozen=True)
class Submission:
    case: Case
    decision: dict[str, Any]
    created: bool


def body_digest(document: object) -> str:
    """SHA-256 of the document in canonical JSON. Total: text a document may not hold (a
    lone surrogate) is digested too, so the digest can be taken before the document is
    checked (and refused)."""
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def case_number_next(region: str, at: datetime) -> str:
    """``QINBEI-20261120-0001``: region, Beijing date, sequence of the day (gap-free)."""
    day = to_beijing(at).date()
    # One statement (issue 10 part 2; it was get_or_create's SELECT, a SELECT … FOR UPDATE
    # and an UPDATE): the day's row created at 1 or counted on, and locked by the upsert
    # until the caller's transaction ends — a rollback gives the number back (gap-free),
    # a concurrent submission waits for the row as it did for the FOR UPDATE.
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (region, day, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (region, day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [region, connection.ops.adapt_datefield_value(day)],
        )
        (last,) = cursor.fetchone()
    return f"{region.upper()}-{day:%Y%m%d}-{last:04d}"


def _section(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _registering_division(form: CaseDocument) -> str:
    follows = form.birth_registration.follows if form.birth_registration else None
    for side in (follows, "mother", "father"):
        parent = form.parent(side) if side else None
        if parent is not None and parent.hukou_division:
            return parent.hukou_division
    return ""


def _hospital(form: CaseDocument) -> str:
    """The (first) newborn's hospital code."""
    return (form.newborns[0].hospital or "") if form.newborns else ""


def _hospital_division(form: CaseDocument, reference: ReferenceData) -> str:
    inst = reference.hospitals.get(_hospital(form))
    return inst.division if inst else ""


def _jurisdiction(
    form: CaseDocument,
    routing: Routing,
    case_division: str,
    hospital_division: str,
    reference: ReferenceData,
) -> tuple[str, str, str]:
    """(kind, code, division) of the office that works an item routed by ``routing`` (the
    catalogue's vocabulary, onestop/catalogue/schema.py); the registering division when the
    case lacks what the rule needs. Read from the typed document pre-review judged."""
    if routing == "birth_hospital" and (hospital := _hospital(form)):
        return "hospital", hospital, hospital_division or case_division
    if routing == "police_station":
        station = (form.birth_registration.police_station if form.birth_registration else "") or ""
        inst = reference.police_stations.get(station)
        if inst is not None:
            return "police_station", station, inst.division
    if routing == "insurance_division":
        division = form.medical_insurance.division if form.medical_insurance else None
        if division:
            return "division", division, division
    if routing == "hospital_division" and hospital_division:
        return "division", hospital_division, hospital_division
    return "division", case_division, case_division


def _people(case: Case, doc: Mapping[str, Any]) -> tuple[list[Person], list[Newborn]]:
    """The people and newborns as the applicant wrote them (a malformed value is kept, so
    staff see what the one-time notice asks to correct); every derived value is read from
    the typed document instead. Built, not written: the claims' statement writes them
    (`_claim_newborns`)."""
    people: list[Person] = []
    for role in ("mother", "father", "applicant"):
        section = _section(doc, role)
        if not section:
            continue
        id_number = _str(section.get("id_number")) or None
        people.append(
            _PERSON_INSERT.new(
                case=case,
                role=role,
                name=_str(section.get("name")) or None,
                id_number=id_number,
                id_index=index_of(id_number, purpose="id") if id_number else "",
                phone=_str(section.get("phone")) or None,
                residency=_str(section.get("residency")),
                hukou_division=_str(section.get("hukou_division"))[:6],
            )
        )
    trustee = _section(_section(doc, "authorization"), "trustee")
    if trustee:
        id_number = _str(trustee.get("id_number")) or None
        people.append(
            _PERSON_INSERT.new(
                case=case,
                role="trustee",
                name=_str(trustee.get("name")) or None,
                id_number=id_number,
                id_index=index_of(id_number, purpose="id") if id_number else "",
            )
        )
    babies: list[Newborn] = []
    newborns = doc.get("newborns")
    for position, baby in enumerate(newborns if isinstance(newborns, list) else []):
        if not isinstance(baby, dict):
            continue
        medical = {
            k: baby.get(k) for k in ("gestational_weeks", "weight_g", "length_cm", "blood_type")
        }
        babies.append(
            _NEWBORN_INSERT.new(
                case=case,
                position=position,
                name=_str(baby.get("name")) or None,
                sex=_str(baby.get("sex"))[:1],
                born_at=_str(baby.get("born_at")) or None,
                hospital_code=_str(baby.get("hospital"))[:32],
                medical=medical,
            )
        )
    return people, babies


def _declared(
    case: Case,
    doc: Mapping[str, Any],
    files: Mapping[str, UploadedFile[Any]],
    actor: User | None,
    now: datetime,
) -> list[Material]:
    """The materials the document declares (not uploaded with it), built, not written."""
    declared = doc.get("materials")
    codes = [c for c in declared if isinstance(c, str)] if isinstance(declared, list) else []
    return [
        Material(
            case=case,
            code=code,
            source=Material.Source.DECLARED,
            token=secrets.token_hex(16),
            uploaded_at=now,
            uploaded_by=actor,
        )
        for code in dict.fromkeys(codes)
        if code not in files
    ]


def _store_uploads(
    case: Case, files: Mapping[str, UploadedFile[Any]], actor: User | None, now: datetime
) -> None:
    # At a counter the clerk scans the originals (窗口扫描, 高拍仪); online the parents upload.
    source = Material.Source.SCAN if case.channel == "counter" else Material.Source.UPLOAD
    for code, upload in files.items():
        store_material(case=case, code=code, upload=upload, actor=actor, now=now, source=source)


DECISION_WORDS = {"accept": "予以受理", "supplement": "需要补正", "reject": "不予受理"}


def _decide(document: object, now: datetime, reference: ReferenceData) -> Decision:
    return check_case(document, packs=default_packs(), reference=reference, now=now)


def case_submit(
    *,
    document: object,
    actor: User | None,
    now: datetime | None = None,
    idempotency_key: str | None = None,
    files: Mapping[str, UploadedFile[Any]] | None = None,
    counter: tuple[str, str] | None = None,
    signature: Mapping[str, Any] | None = None,
    filer: User | None = None,
    savepoint: bool = True,
    digest: str | None = None,
) -> Submission:
    """Pre-review and store a case. Raises `UnreadableDocument` for a non-document,
    `OutsideJurisdiction` when the filer (a clerk, or an API client's account) may not file
    this case, and `DuplicateNewborn` when a newborn of it already has an active case.

    ``idempotency_key`` marks the case as an API client's submission (unique: a second case
    with the key is an IntegrityError); replays of a key are answered by the integration
    API's idempotency service (`onestop.integration.idempotency`), not here.

    ``savepoint=False``: the writes take no savepoint of their own inside the caller's
    atomic block — for a caller whose block holds nothing before this call and is left by
    any error this raises (the integration API's idempotent answer: its block rolls back
    whole, as the savepoint did; issue 10, helper h-submission).

    ``digest``: the caller's `body_digest` of ``document`` when it took one (the API's
    idempotency, the e-signature): not taken a second time."""
    now = now or timezone.now()
    check_document(document, label=field_label)  # DocumentRefused before anything reads it
    if digest is None:
        digest = body_digest(document)  # of the body as sent
    if filer is None and actor is not None and actor.role != Role.PARENT:
        filer = actor
    viewer = filer or actor
    reference = current_reference()  # read once per submission, used by every step
    admitted = filer_admit(document, filer, reference)
    # UnreadableDocument for a non-document. Its limits were checked above, on the
    # document as sent (one walk: session 23, h-tidyapi); a document the filer's
    # admission filled in (a hospital code added to a newborn) is checked again, as it
    # was before: what is stored stays within the limits.
    parsed = parse_case(admitted, limits_checked=admitted is document)
    document = admitted
    decision = check_parsed(parsed, packs=default_packs(), reference=reference, now=now)
    assert isinstance(document, dict)  # parse_case raised otherwise
    # A newborn with an active case gets no second case, not even a rejected one: the
    # parents are told which case exists. Checked early here; for cases that claim
    # (all but rejected ones) the claims inserted with the case decide under races.
    # (Both read in one statement with what the claims of this case need to know:
    # `claims_standing`; the holder is named by its own read, on refusal only.)
    standing = claims_standing(document)
    holder = active_holder(document) if standing.held else None
    if holder is not None:
        raise duplicate_error(holder, viewer)
    # One card per newborn, by any channel (seed 002 (五)): an application that stands
    # (a card made, even in a case since ended) refuses a second one.
    if ssc_chosen(document) and standing.card_held:
        card_holder = ssc_holder(document)
        if card_holder is not None:
            raise ssc_error(card_holder, viewer)
    document = parsed.known  # without the unknown fields, told in decision.warnings
    with files_removed_on_failure(), transaction.atomic(savepoint=savepoint):
        case = _create(
            document,
            decision,
            actor=actor,
            now=now,
            digest=digest,
            idempotency_key=idempotency_key,
            files=files or {},
            counter=counter,
            signature=signature,
            reference=reference,
            viewer=viewer,
            typed=parsed.document,
            standing=standing,
        )
    return Submission(case=case, decision=case.decision, created=True)


def _create(
    document: dict[str, Any],
    decision: Decision,
    *,
    actor: User | None,
    now: datetime,
    digest: str,
    idempotency_key: str | None,
    files: Mapping[str, UploadedFile[Any]],
    counter: tuple[str, str] | None,
    signature: Mapping[str, Any] | None,
    reference: ReferenceData,
    viewer: User | None,
    typed: CaseDocument,
    standing: Standing,
) -> Case:
    status = {
        Outcome.ACCEPT: CaseStatus.IN_PROGRESS,
        Outcome.SUPPLEMENT: CaseStatus.SUPPLEMENT,
        Outcome.REJECT: CaseStatus.REJECTED,
    }[decision.outcome]
    form = decision.document  # the typed document pre-review read
    assert form is not None
    hospital = _hospital(form)
    hospital_division = _hospital_division(form, reference)
    division = _registering_division(form) or hospital_division
    people = {"applicant": form.applicant, "mother": form.mother, "father": form.father}
    phones = {role: (p.phone if p else None) or "" for role, p in people.items()}
    ids = {role: (p.id_number if p else None) or "" for role, p in people.items()}
    station = (form.birth_registration.police_station if form.birth_registration else "") or ""
    case = Case(
        number=case_number_next(decision.region, now),
        region=decision.region,
        pack_version=decision.pack_version,
        channel=form.channel or "online",
        counter_kind=counter[0] if counter else "",
        counter_code=counter[1] if counter else "",
        clerk=actor if counter else None,
        status=status,
        decision=decision.as_json(),
        document=document,
        hospital_code=hospital[:32],
        police_station_code=station[:32],
        division=division,
        applicant_phone_index=index_of(phones["applicant"], purpose="phone")
        if phones["applicant"]
        else "",
        mother_phone_index=index_of(phones["mother"], purpose="phone") if phones["mother"] else "",
        father_phone_index=index_of(phones["father"], purpose="phone") if phones["father"] else "",
        mother_id_index=index_of(ids["mother"], purpose="id") if ids["mother"] else "",
        father_id_index=index_of(ids["father"], purpose="id") if ids["father"] else "",
        idempotency_key=idempotency_key or None,
        body_digest=digest,
        signature=dict(signature) if signature else None,
        submitted_at=now,
        decided_at=now,
    )
    _CASE_INSERT.save_new(case)  # compiled once (issue 10, helper h-submission)
    # The stored document is the parsed one without its unknown fields, which the parse
    # leaves out too: its typed document is the parse's (not `form`, which pre-review may
    # have routed), so the effects read it without parsing it again.
    case.typed_document_is(typed)
    persons, newborns = _people(case, document)
    declared = _declared(case, document, files, actor, now)
    # The people, newborns and declared materials go in the newborns' claims' statement
    # (PostgreSQL: one WITH of the five INSERTs; session 28, helper h-submit).
    riders: tuple[Part, ...] = (
        (_PERSON_INSERT, persons),
        (_NEWBORN_INSERT, newborns),
        (_MATERIAL_INSERT, declared),
    )
    _claim_newborns(case, document, now, viewer, fresh=True, standing=standing, riders=riders)
    _store_uploads(case, files, actor, now)
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="case_submitted",
        object_type="case",
        object_id=case.number,
        detail={
            "decision": decision.outcome.value,
            "reasons": [r.code for r in decision.reasons],
            "pack_version": decision.pack_version,
        },
        new=True,  # the new case's number starts its stream (one statement, session 26)
    )
    emit(
        CaseSubmitted(case=case, at=now, actor=actor, at_counter=counter is not None),
        CaseDecided(
            case=case,
            at=now,
            decision=decision,
            offices=_offices(decision, case.division, reference),
        ),
    )
    return case


def _claim_newborns(
    case: Case,
    document: Mapping[str, Any],
    now: datetime,
    viewer: User | None,
    *,
    fresh: bool = False,
    standing: Standing | None = None,
    riders: tuple[Part, ...] = (),
) -> None:
    """One newborn, one active case: the claims go in with the case, and a second active
    claim of a key is refused by the database (the answer to a concurrent submission).
    ``standing``: what the submission read of the keys before (`claims_standing`), so the
    takes release only claims it saw left by ended cases; refused, the keys are taken
    again as without it (releasing any such claim made since). ``riders``: other new rows
    written with the claims (`claims_refresh`), again where the keys are taken again."""
    try:
        with transaction.atomic():
            claims_refresh(case, document, now, fresh=fresh, standing=standing, riders=riders)
        return
    except IntegrityError as exc:
        _claims_refused(case, document, viewer, exc, final=standing is None)
    try:
        with transaction.atomic():
            claims_refresh(case, document, now, fresh=fresh, riders=riders)
    except IntegrityError as exc:
        _claims_refused(case, document, viewer, exc, final=True)


def _claims_refused(
    case: Case,
    document: Mapping[str, Any],
    viewer: User | None,
    exc: IntegrityError,
    *,
    final: bool,
) -> None:
    """`DuplicateNewborn` (or the card's) for the case holding a key; else ``exc`` again
    where ``final``, and nothing (the caller tries once more) where not."""
    holder = active_holder(document, exclude=case)
    if holder is not None:
        raise duplicate_error(holder, viewer) from None
    card_holder = ssc_holder(document, exclude=case)
    if card_holder is not None:
        raise ssc_error(card_holder, viewer) from None
    if final:
        raise exc


def _offices(decision: Decision, division: str, reference: ReferenceData) -> dict[str, Office]:
    """Who works each item of an accepted case (none for another decision), routed by the
    catalogue and read from the typed document pre-review judged."""
    form = decision.document
    if decision.outcome is not Outcome.ACCEPT or form is None:
        return {}
    hospital_division = _hospital_division(form, reference)
    return {
        planned.item: Office(
            *_jurisdiction(
                form,
                catalogue().routing(planned.item, planned.department),
                division,
                hospital_division,
                reference,
            )
        )
        for planned in decision.plan
    }


# --- the case's lock ---------------------------------------------------------------------

# The case's encrypted columns, read by the lock as they are stored and decrypted only where
# the change reads them (a claim reads none; issue 10, session 23).
_SEALED = ("decision", "document", "signature")


def _case_locked(case_id: int) -> QuerySet[Case]:
    return _lock_reads(Case.objects.filter(pk=case_id))


def _lock_reads(cases: QuerySet[Case]) -> QuerySet[Case]:
    """What the lock of ``cases`` reads (`case_locked`), locked in id order."""
    locked = read_sealed(cases.select_for_update().order_by("pk"), *_SEALED)
    if connection.vendor == "postgresql":
        # The stream's last record read after the row's lock is granted, in a fresh
        # snapshot (migration 0009): right also where the lock waited for another
        # writer of the case, whose record a subquery of this statement misses.
        last_link = Func(
            F("pk"), function="onestop_case_locked_last_link", output_field=TextField()
        )
        return locked.annotate(**{LAST_LINK: last_link})
    return locked.annotate(**last_link_columns("number"))


# The case row every change of a case locks first, compiled once per database in this
# process (issue 10 part 2: the statement differs by the case's id only; `CompiledFirst`).
_CASE_LOCKED = CompiledFirst(Case, _case_locked, -7_340_029_117)


def case_locked(case_id: int) -> Case:
    """The case, its row locked to the end of the transaction (``SELECT … FOR UPDATE``):
    every column, the encrypted ones decrypted when first read, and in the same statement
    its audit stream's last record, which the change's records then follow without reading
    it again (`audit.services.last_link_read`; issue 10, session 23). ``Case.DoesNotExist``
    as ``get`` raises it."""
    case = _CASE_LOCKED.first(case_id)
    if case is None:
        raise Case.DoesNotExist("Case matching query does not exist.")
    return _locked_read(case)


# The case of a row a caller's read selects, locked in that read's statement
# (`case_locked_of`), compiled once per key (the caller's scope) and database.
_CASE_LOCKED_OF = CompiledPerKey(Case, -7_340_029_117)


def case_locked_of(
    key: Hashable, case_ids: Callable[[], Callable[[Any], QuerySet[Any]]], value: Any
) -> Case | None:
    """`case_locked` of the case whose id ``case_ids()(value)`` selects (a ``values
    ("case_id")`` queryset: an API client's task among those it may act on), the check
    and the lock one statement (issue 10, session 26): ``SELECT … FROM cases_case WHERE
    id = (SELECT case_id … LIMIT 1) FOR UPDATE``. None where it selects nothing, and then
    nothing is locked. ``key``: everything ``case_ids`` is built from but ``value`` (one
    statement is compiled per key); the lock is the case row's only, as `case_locked`'s."""

    def build() -> Callable[[Any], QuerySet[Case]]:
        ids = case_ids()
        return lambda v: _lock_reads(Case.objects.filter(pk=Subquery(ids(v)[:1])))

    case = _CASE_LOCKED_OF.first(key, build, value)
    return None if case is None else _locked_read(case)


def _locked_read(case: Case) -> Case:
    unseal(case, *_SEALED)
    last_link_read(case.number, case)
    return case


# `cases_locked` of up to 64 cases in one statement compiled once (`CompiledAllOfIds`):
# built and compiled anew each time, the statement cost ~10 ms of CPU per API batch, which
# locked its cases one compiled statement each instead (issue 10, session 28).
_CASES_LOCKED = CompiledAllOfIds(
    Case, lambda *ids: _lock_reads(Case.objects.filter(pk__in=ids)), -7_340_029_117
)


def cases_locked(case_ids: Iterable[int]) -> dict[int, Case]:
    """`case_locked` of many cases in one statement, by id (those that exist): the rows
    locked in id order, the order a lock of several cases takes, so two such locks never
    wait for each other in a cycle (the deadline sweep's run: issue 10, session 24; an API
    batch's, session 28)."""
    ids = sorted(set(case_ids))
    cases = _CASES_LOCKED.all(ids)
    if cases is None:
        cases = list(_lock_reads(Case.objects.filter(pk__in=ids)))
    return {case.pk: _locked_read(case) for case in cases}


def case_supplement(
    *,
    case_id: int,
    actor: User | None,
    document: Mapping[str, Any] | None = None,
    files: Mapping[str, UploadedFile[Any]] | None = None,
    now: datetime | None = None,
) -> Case:
    """The applicant supplements.

    - A case waiting for a pre-review supplement is judged again on the corrected
      document; if it now passes it is accepted and dispatched under the same number.
    - A case in progress with returned items: the materials are stored and every returned
      item resumes with its paused clock.
    """
    now = now or timezone.now()
    with files_removed_on_failure(), transaction.atomic():
        case = case_locked(case_id)
        if case.status == CaseStatus.SUPPLEMENT:
            new_document = dict(document) if document is not None else dict(case.document)
            check_document(new_document, label=field_label)
            if new_document.get("region") != case.region:
                raise CaseStateError("补正不能更改办件所属地区")
            _store_uploads(case, files or {}, actor, now)
            codes = new_document.get("materials")
            codes = list(codes) if isinstance(codes, list) else []
            new_document["materials"] = list(dict.fromkeys([*codes, *(files or {})]))
            reference = current_reference()
            decision = _decide(new_document, now, reference)
            case.document, _unknown = without_unknown_fields(new_document)
            case.decision = decision.as_json()
            case.decided_at = now
            case.version += 1
            if decision.outcome is Outcome.ACCEPT:
                case.status = CaseStatus.IN_PROGRESS
                case.pack_version = decision.pack_version
            elif decision.outcome is Outcome.REJECT:
                case.status = CaseStatus.REJECTED
            case.save()
            _claim_newborns(case, new_document, now, actor)  # a rejection releases them
            audit_record(
                stream=case.number,
                at=now,
                actor=actor,
                actor_label=actor_label(actor),
                action="case_supplemented",
                object_type="case",
                object_id=case.number,
                detail={
                    "decision": decision.outcome.value,
                    "reasons": [r.code for r in decision.reasons],
                },
            )
            # The new decision is an event like the first one: the timeline, the parents'
            # message, the webhook to the hospital system that submitted the case (it was
            # missed before: issue 9) and, when accepted, the dispatch of its items.
            emit(
                CaseSupplemented(case=case, at=now, actor=actor),
                CaseDecided(
                    case=case,
                    at=now,
                    decision=decision,
                    supplemented=True,
                    offices=_offices(decision, case.division, reference),
                ),
            )
            return case
        if case.status == CaseStatus.IN_PROGRESS:
            _store_uploads(case, files or {}, actor, now)
            # The returned items resume (the workflow's handler); none returned: refused.
            emit(CaseSupplemented(case=case, at=now, actor=actor, items_waiting=True))
            return case
        raise CaseStateError(f"办件状态为“{case.get_status_display()}”，不能补正")
