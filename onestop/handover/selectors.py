"""Reads of the hand-over: whose batches a user sees, the list of a batch, the overdue ones.

Every query is narrowed by the user's role and jurisdiction, so a guessed batch id finds
nothing: the hospital's officers see their hospital's batches, the police station's
officers the batches sent to their station, supervisors those of their division."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.core.clock import to_beijing
from onestop.handover.domain import PeriodKind, parse_period
from onestop.handover.models import HandoverBatch, HandoverEntry
from onestop.reference.idnumber import mask_name
from onestop.reference.selectors import institution_contact


def today_in_beijing(now: datetime | None = None) -> date:
    return to_beijing(now or timezone.now()).date()


def _with_count(qs: QuerySet[HandoverBatch]) -> QuerySet[HandoverBatch]:
    return qs.annotate(certificates=Count("entries"))


def is_hospital_officer(user: User) -> bool:
    return (
        user.role == Role.OFFICER
        and user.department == "hospital"
        and user.jurisdiction_kind == JurisdictionKind.HOSPITAL
        and bool(user.jurisdiction_code)
    )


def is_station_officer(user: User) -> bool:
    return (
        user.role == Role.OFFICER
        and user.department == "police"
        and user.jurisdiction_kind == JurisdictionKind.POLICE_STATION
        and bool(user.jurisdiction_code)
    )


def batches_for_officer(user: User) -> QuerySet[HandoverBatch]:
    """The hospital's batches (every state), or the batches sent to the station."""
    qs = HandoverBatch.objects.all()
    if not user.is_active:
        return qs.none()
    if is_hospital_officer(user):
        return _with_count(qs.filter(hospital_code=user.jurisdiction_code))
    if is_station_officer(user):
        return _with_count(
            qs.filter(station_code=user.jurisdiction_code).exclude(state=HandoverBatch.State.OPEN)
        )
    return qs.none()


def batch_for_officer(user: User, batch_id: int) -> HandoverBatch | None:
    return batches_for_officer(user).filter(pk=batch_id).first()


def overdue_q(today: date) -> Q:
    """An open batch past its due day (the due day itself is still on time)."""
    return Q(state=HandoverBatch.State.OPEN, due_on__lt=today)


def batches_for_supervisor(
    user: User,
    *,
    region: str = "",
    hospital: str = "",
    state: str = "",
    today: date | None = None,
) -> QuerySet[HandoverBatch]:
    if (
        not user.is_active
        or user.role != Role.SUPERVISOR
        or user.jurisdiction_kind != JurisdictionKind.DIVISION
        or not user.jurisdiction_code
    ):
        return HandoverBatch.objects.none()
    qs = HandoverBatch.objects.filter(division__startswith=user.jurisdiction_code)
    if region:
        qs = qs.filter(region=region)
    if hospital:
        qs = qs.filter(hospital_code=hospital)
    if state == "overdue":
        qs = qs.filter(overdue_q(today or today_in_beijing()))
    elif state in HandoverBatch.State.values:
        qs = qs.filter(state=state)
    return _with_count(qs).order_by("due_on", "hospital_code", "station_code")


@dataclass(frozen=True)
class EntryRow:
    number: int
    bmc_number: str
    names: str
    issued_at: datetime
    ethnicity_form: bool
    late: bool
    issued_period: str

    @property
    def issued_period_label(self) -> str:
        """The period it was issued in, as people write it (for a late one: 补交)."""
        kind: PeriodKind = "quarterly" if "Q" in self.issued_period else "monthly"
        try:
            return parse_period(self.issued_period, kind).label()
        except ValueError:
            return self.issued_period


def entry_rows(batch: HandoverBatch, *, masked: bool) -> list[EntryRow]:
    """The certificates of a batch in issue order; names masked unless the reader may see
    them in full (the hospital's and the station's officers)."""
    entries = HandoverEntry.objects.filter(batch=batch).order_by("issued_at", "pk")
    return [
        EntryRow(
            number=index,
            bmc_number=entry.bmc_number,
            names="、".join(mask_name(n) for n in entry.newborn_names.split("、"))
            if masked
            else entry.newborn_names,
            issued_at=entry.issued_at,
            ethnicity_form=entry.ethnicity_form,
            late=entry.issued_period != batch.period,
            issued_period=entry.issued_period,
        )
        for index, entry in enumerate(entries, 1)
    ]


class PlaceNames:
    """Names of hospitals and police stations as people call them (the reference tables,
    else the packaged reference data, else the code), each looked up once per page."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, code: str) -> str:
        key = (kind, code)
        if key not in self._known:
            found = institution_contact(kind, code)
            self._known[key] = found[0] if found else code
        return self._known[key]
