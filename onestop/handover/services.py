"""The hand-over's writes: a certificate joins its batch, the hospital sends, the station
receives, the reminder goes out. Each is one transaction holding the state change, its
audit record and the work messages (rows read after commit) — ADR 0030."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from onestop.accounts.models import JurisdictionKind, Role, User, actor_label
from onestop.audit.services import audit_record
from onestop.calendar.clock_rules import weekends_beyond
from onestop.calendar.selectors import current_calendar
from onestop.cases.models import Case
from onestop.common.compiled import CompiledInsert
from onestop.core.clock import to_beijing
from onestop.core.errors import CalendarNotCovered, OnestopError
from onestop.core.written import written
from onestop.handover import domain
from onestop.handover.models import HandoverBatch, HandoverEntry
from onestop.handover.selectors import PlaceNames
from onestop.policy.loader import default_packs
from onestop.policy.schema import ArchiveHandover
from onestop.supervision.models import StaffMessage
from onestop.supervision.services import staff_message_send
from onestop.workflow.domain.newborns import item_key
from onestop.workflow.models import CaseItem, ItemState

TRACKING_MAX = 40
# The entry's (every BMC's completion) and the batch's INSERTs, built once per process
# (issue 10); ``save_new`` writes what ``objects.create`` wrote.
_ENTRY_INSERT: CompiledInsert[HandoverEntry] = CompiledInsert(HandoverEntry)
_BATCH_INSERT: CompiledInsert[HandoverBatch] = CompiledInsert(HandoverBatch)
NOTE_MAX = 500


class HandoverRefused(OnestopError):
    code = "handover_refused"


class HandoverConflict(OnestopError):
    code = "handover_conflict"


def handover_rule(case: Case) -> ArchiveHandover | None:
    """The hand-over the case's pack (the version it was judged by) asks for, if any."""
    packs = default_packs()
    pack = packs.version(case.region, case.pack_version) or packs.current(case.region)
    return pack.archive_handover if pack is not None else None


def _remind_on(due: date, working_days: int) -> date:
    calendar = current_calendar()
    try:
        return domain.remind_on(due, working_days, calendar)
    except CalendarNotCovered:  # the table ends before: count weekends only, never guess late
        return domain.remind_on(due, working_days, weekends_beyond(calendar))


def hospital_officers(hospital_code: str) -> list[User]:
    return list(
        User.objects.filter(
            role=Role.OFFICER,
            is_active=True,
            department="hospital",
            jurisdiction_kind=JurisdictionKind.HOSPITAL,
            jurisdiction_code=hospital_code,
        ).order_by("pk")
    )


def station_officers(station_code: str) -> list[User]:
    return list(
        User.objects.filter(
            role=Role.OFFICER,
            is_active=True,
            department="police",
            jurisdiction_kind=JurisdictionKind.POLICE_STATION,
            jurisdiction_code=station_code,
        ).order_by("pk")
    )


def is_batch_hospital_officer(user: User, batch: HandoverBatch) -> bool:
    return (
        user.is_active
        and user.role == Role.OFFICER
        and user.department == "hospital"
        and user.jurisdiction_kind == JurisdictionKind.HOSPITAL
        and user.jurisdiction_code == batch.hospital_code
    )


def is_batch_station_officer(user: User, batch: HandoverBatch) -> bool:
    return (
        user.is_active
        and user.role == Role.OFFICER
        and user.department == "police"
        and user.jurisdiction_kind == JurisdictionKind.POLICE_STATION
        and user.jurisdiction_code == batch.station_code
    )


def _newborn_names(case: Case, newborn: int | None = None) -> tuple[str, bool]:
    """The newborns' names (twins: each, joined; or the one ``newborn`` a certificate of
    twins is for, ADR 0036) and whether an ethnicity form goes too."""
    doc = case.typed_document()
    babies = doc.newborns
    if newborn is not None and 0 <= newborn < len(babies) and len(babies) > 1:
        babies = [babies[newborn]]
    names = "、".join(baby.name for baby in babies if baby.name) or "（未命名）"
    mother, father = doc.mother, doc.father
    differ = bool(
        mother is not None
        and father is not None
        and mother.ethnicity
        and father.ethnicity
        and mother.ethnicity != father.ethnicity
    )
    return names, differ or doc.ethnicity_confirmation is not None


def _open_batch(
    *,
    rule: ArchiveHandover,
    region: str,
    hospital: str,
    station: str,
    division: str,
    period: domain.Period,
    now: datetime,
) -> HandoverBatch:
    """The open batch of ``period`` or, when that one has gone, of the next period still
    open, locked for the caller's transaction (created when missing).

    A batch seen gone (sent or received) is passed by without a lock: a batch's state only
    moves forward, so that reading is final. Locking it would deadlock: two completions
    that waited behind the send, each still holding the batch FOR SHARE from the
    statement that then found it no longer open (`_added_to_open_batch`), would each wait
    for the other's share lock (review of session 26)."""
    while True:
        key = {"hospital_code": hospital, "station_code": station, "period": period.code}
        seen = HandoverBatch.objects.filter(**key).values_list("state", flat=True).first()
        if seen is not None and seen != HandoverBatch.State.OPEN:
            period = period.next()
            continue
        batch = HandoverBatch.objects.select_for_update().filter(**key).first()
        if batch is None:
            due = domain.due_on(period, rule.due.day)
            try:
                with transaction.atomic():  # a savepoint: a concurrent creator wins cleanly
                    batch = HandoverBatch(
                        hospital_code=hospital,
                        station_code=station,
                        period=period.code,
                        region=region,
                        division=division,
                        period_kind=period.kind,
                        period_start=period.start,
                        period_end=period.end,
                        due_on=due,
                        remind_on=_remind_on(due, rule.remind_working_days),
                        documents=list(rule.documents),
                        method=rule.method,
                        created_at=now,
                    )
                    _BATCH_INSERT.save_new(batch)
            except IntegrityError:
                continue  # created meanwhile by another transaction: lock that one
        if batch.state == HandoverBatch.State.OPEN:
            return batch
        period = period.next()


def handover_certificate_add(
    *,
    case: Case,
    certificate: CaseItem,
    rows: Mapping[str, CaseItem],
    now: datetime,
    completed_now: bool = False,
) -> HandoverEntry | None:
    """Put a just-issued BMC in its hospital's batch for the registering police station
    (inside the transaction of the completion). None when the region hands nothing over,
    the case registers no birth, or the certificate is already in a batch.

    ``completed_now``: the caller is the completion that just made the certificate done
    (its one ``ItemCompleted``: done is final, and an entry is only ever added for a done
    certificate), so it is in no batch yet and that is not asked (issue 10 part 2: one
    statement of the BMC's completion). Were it somehow in one, the entry's one-to-one
    constraint refuses the second and the completion fails: never two batches."""
    rule = handover_rule(case)
    # The same newborn's registration (twins: each certificate its own, ADR 0036).
    registration = rows.get(item_key("birth_registration", certificate.newborn))
    if (
        rule is None
        or certificate.item != "birth_certificate"
        or certificate.state != ItemState.DONE
        or certificate.jurisdiction_kind != JurisdictionKind.HOSPITAL
        or registration is None
        or registration.state == ItemState.CANCELLED
        or registration.jurisdiction_kind != JurisdictionKind.POLICE_STATION
        or not registration.jurisdiction_code
    ):
        return None
    if not completed_now and HandoverEntry.objects.filter(certificate=certificate).exists():
        return None
    issued = certificate.finished_at or now
    issued_period = domain.period_of(to_beijing(issued).date(), rule.period)
    hospital, station = certificate.jurisdiction_code, registration.jurisdiction_code
    names, ethnicity_form = _newborn_names(case, certificate.newborn)
    result = certificate.result if isinstance(certificate.result, dict) else {}
    entry = HandoverEntry(
        certificate=certificate,
        case=case,
        bmc_number=str(result.get("bmc_number", ""))[:16],
        newborn_names=names,
        issued_at=issued,
        issued_period=issued_period.code,
        ethnicity_form=ethnicity_form,
        added_at=now,
    )
    _entry_written(
        entry,
        rule=rule,
        region=case.region,
        hospital=hospital,
        station=station,
        division=certificate.division or case.division,
        period=issued_period,
        now=now,
    )
    return entry


def _entry_written(
    entry: HandoverEntry,
    *,
    rule: ArchiveHandover,
    region: str,
    hospital: str,
    station: str,
    division: str,
    period: domain.Period,
    now: datetime,
) -> None:
    """``entry`` written in the open batch of ``period`` or the next one still open."""
    if _added_to_open_batch(entry, hospital, station, period.code):
        return
    # No open batch of the period (none yet, or it has gone): found or made, locked.
    batch = _open_batch(
        rule=rule,
        region=region,
        hospital=hospital,
        station=station,
        division=division,
        period=period,
        now=now,
    )
    entry.batch = batch
    entry.ethnicity_form = entry.ethnicity_form and _FORM in batch.documents
    _ENTRY_INSERT.save_new(entry)


_FORM = "ethnicity_confirmation_form"


def _added_to_open_batch(entry: HandoverEntry, hospital: str, station: str, period: str) -> bool:
    """``entry`` written in the open batch of ``hospital``, ``station`` and ``period`` if
    there is one, in ONE statement (issue 10, session 26, h-completion: were the batch's
    locked read and the entry's INSERT): ``INSERT … SELECT`` from the batch's row (by its
    unique key), the batch's id and whether it carries ethnicity forms taken from it.
    The row is locked FOR SHARE: certificates join a batch side by side, and the
    hospital's send (``FOR UPDATE``, then counting the entries) waits for them, or they
    for it — a send that came first leaves the batch no longer open, the statement then
    writes nothing, and the caller goes to the next open batch. False: nothing written."""
    connection = connections[router.db_for_write(HandoverEntry)]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        form = f"(%s AND b.documents @> '[\"{_FORM}\"]'::jsonb)"
        lock = " FOR SHARE OF b"
    else:  # SQLite (one writer at a time: no row locks)
        form = f"(%s AND EXISTS (SELECT 1 FROM json_each(b.documents) WHERE value = '{_FORM}'))"
        lock = ""
    table = quote(HandoverBatch._meta.db_table)
    tail = (
        f"FROM {table} b WHERE b.hospital_code = %s AND b.station_code = %s "
        f"AND b.period = %s AND b.state = %s{lock}"
    )
    written = _ENTRY_INSERT.insert_selecting(
        entry,
        {"batch_id": "b.id", "ethnicity_form": form},
        tail,
        [hospital, station, period, HandoverBatch.State.OPEN.value],
    )
    return bool(written)


def _audit(
    batch: HandoverBatch, action: str, actor: User | None, now: datetime, **detail: Any
) -> None:
    audit_record(
        stream=f"handover-{batch.pk}",
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type="handover_batch",
        object_id=str(batch.pk),
        detail={"state": batch.state, "period": batch.period, **detail},
    )


def _lock(batch_id: int, expected_version: int | None) -> HandoverBatch:
    batch = HandoverBatch.objects.select_for_update().get(pk=batch_id)
    if expected_version is not None and expected_version != batch.version:
        raise HandoverConflict("该批次已被其他人员更新，请刷新后重试")
    return batch


def period_label(batch: HandoverBatch) -> str:
    """The batch's period as people write it (2026年第四季度)."""
    kind: domain.PeriodKind = "quarterly" if batch.period_kind == "quarterly" else "monthly"
    return domain.parse_period(batch.period, kind).label()


def _names(batch: HandoverBatch) -> tuple[str, str]:
    names = PlaceNames()
    return names("hospital", batch.hospital_code), names("police_station", batch.station_code)


@transaction.atomic
def handover_send(
    *,
    batch_id: int,
    actor: User,
    tracking_number: str = "",
    now: datetime | None = None,
    expected_version: int | None = None,
) -> HandoverBatch:
    """The hospital hands the batch over (in person, or posts it with a tracking number)."""
    now = now or timezone.now()
    batch = _lock(batch_id, expected_version)
    if not is_batch_hospital_officer(actor, batch):
        raise HandoverRefused("只有本机构的出生医学证明签发人员可以移交本批次")
    if batch.state != HandoverBatch.State.OPEN:
        raise HandoverConflict("该批次已移交，不能重复移交")
    tracking = " ".join(tracking_number.split())
    if batch.method == HandoverBatch.Method.POST and not tracking:
        raise HandoverRefused("邮寄移交须填写快递单号")
    if len(tracking) > TRACKING_MAX:
        raise HandoverRefused(f"快递单号不能超过{TRACKING_MAX}个字符")
    count = batch.entries.count()
    if count == 0:
        raise HandoverRefused("该批次没有出生医学证明，无需移交")
    batch.state = HandoverBatch.State.SENT
    batch.sent_at, batch.sent_by, batch.sent_count = now, actor, count
    batch.tracking_number = tracking
    batch.version += 1
    batch.save()
    _audit(batch, "handover_sent", actor, now, count=count, tracking_number=tracking)
    hospital, _station = _names(batch)
    how = f"（快递单号 {tracking}）" if tracking else ""
    staff_message_send(
        users=station_officers(batch.station_code),
        key=f"handover:{batch.pk}:sent",
        kind=StaffMessage.Kind.WARNING,
        body=(
            f"{hospital}已于{written(now)}移交{_period_label(batch)}出生医学证明档案"
            f"{count}份{how}，请清点后在系统中确认接收。"
        ),
        at=now,
    )
    return batch


def _period_label(batch: HandoverBatch) -> str:
    return period_label(batch)


@transaction.atomic
def handover_receive(
    *,
    batch_id: int,
    actor: User,
    received_count: int,
    note: str = "",
    now: datetime | None = None,
    expected_version: int | None = None,
) -> HandoverBatch:
    """The police station counts what arrived and confirms receipt; a count that differs
    from what was sent needs a note saying what is missing or extra."""
    now = now or timezone.now()
    batch = _lock(batch_id, expected_version)
    if not is_batch_station_officer(actor, batch):
        raise HandoverRefused("只有接收派出所的户籍民警可以确认接收本批次")
    if batch.state != HandoverBatch.State.SENT:
        raise HandoverConflict(
            "该批次已确认接收" if batch.state == HandoverBatch.State.RECEIVED else "该批次尚未移交"
        )
    if received_count < 0 or received_count > 100_000:
        raise HandoverRefused("实收份数无效")
    note = " ".join(note.split())
    if len(note) > NOTE_MAX:
        raise HandoverRefused(f"差异说明不能超过{NOTE_MAX}个字符")
    count = domain.Count(sent=batch.sent_count or 0, received=received_count)
    if not count.matches and not note:
        raise HandoverRefused(f"{count.words()}，请填写差异说明")
    batch.state = HandoverBatch.State.RECEIVED
    batch.received_at, batch.received_by, batch.received_count = now, actor, received_count
    batch.discrepancy = note
    batch.version += 1
    batch.save()
    _audit(batch, "handover_received", actor, now, count=received_count, matches=count.matches)
    _hospital, station = _names(batch)
    body = (
        f"{station}已于{written(now)}接收{_period_label(batch)}出生医学证明档案：{count.words()}。"
    )
    if note:
        body += f"差异说明：{note}"
    staff_message_send(
        users=hospital_officers(batch.hospital_code),
        key=f"handover:{batch.pk}:received",
        kind=StaffMessage.Kind.WARNING,
        body=body,
        at=now,
    )
    return batch


@dataclass
class ReminderReport:
    batches: int = 0
    messages: int = 0
    skipped: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"batches": self.batches, "messages": self.messages}


def handover_reminders_send(*, now: datetime | None = None, limit: int = 500) -> ReminderReport:
    """The periodic job: each open batch whose reminder day has come gets one work message
    to its hospital's staff. Only open, not yet reminded batches are read or changed; each
    batch is its own transaction (its state checked again under the row lock)."""
    now = now or timezone.now()
    today = to_beijing(now).date()
    report = ReminderReport()
    due = list(
        HandoverBatch.objects.filter(
            state=HandoverBatch.State.OPEN, reminded_at__isnull=True, remind_on__lte=today
        )
        .order_by("remind_on", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for batch_id in due:
        with transaction.atomic():
            batch = HandoverBatch.objects.select_for_update().get(pk=batch_id)
            if batch.state != HandoverBatch.State.OPEN or batch.reminded_at is not None:
                report.skipped.append(batch_id)
                continue
            batch.reminded_at = now
            batch.save(update_fields=["reminded_at"])
            count = batch.entries.count()
            _audit(batch, "handover_reminded", None, now, count=count)
            _hospital, station = _names(batch)
            overdue = batch.due_on < today
            when = "已超过" if overdue else "将于"
            report.messages += staff_message_send(
                users=hospital_officers(batch.hospital_code),
                key=f"handover:{batch.pk}:reminder",
                kind=StaffMessage.Kind.OVERDUE if overdue else StaffMessage.Kind.WARNING,
                body=(
                    f"{_period_label(batch)}移交{station}的出生医学证明档案（{count}份）"
                    f"{when}{written(batch.due_on, date_only=True)}的移交期限，"
                    f"请打印移交清单并按时移交。"
                ),
                at=now,
            )
            report.batches += 1
    return report
