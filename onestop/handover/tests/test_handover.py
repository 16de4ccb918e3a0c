"""The BMC archive hand-over over HTTP, with the database effects checked: batches built
from the issued certificates, each certificate once, who may send and receive, the due
days from the packs, the reminder once, and the overdue list of supervisors."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.handover import domain
from onestop.handover import views as handover_views
from onestop.handover.models import HandoverBatch, HandoverEntry
from onestop.handover.services import (
    _added_to_open_batch,
    _entry_written,
    handover_certificate_add,
    handover_reminders_send,
    handover_rule,
    handover_send,
)
from onestop.integration.tests.support import Api, current, hospital
from onestop.supervision.models import StaffMessage
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer, staff
from onestop.testing.locks import Rival, until_waiting
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _issue(case, number: str, at) -> CaseItem:
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(item_id=bmc.pk, actor=None, result={"bmc_number": number}, now=at)
    bmc.refresh_from_db()
    return bmc


def _qinbei_case(example, beijing, *, n: int = 0):
    document = example("qinbei-accept")
    if n:
        another_newborn(document, n)
    return case_submit(document=document, actor=None, now=beijing("2026-11-20T09:30:00+08:00")).case


@pytest.fixture
def qinbei(example, beijing, media_root):
    case = _qinbei_case(example, beijing)
    _issue(case, "Q450123456", beijing("2026-11-20T10:00:00+08:00"))
    return case


@pytest.fixture
def hospital_officer(db):
    return officer("hospital", "hospital", "qinbei-mch", "韦敏")


@pytest.fixture
def police_officer(db):
    return officer("police", "police_station", "qinbei-xintang", "黄警官")


def _batch() -> HandoverBatch:
    return HandoverBatch.objects.get()


def test_an_issued_qinbei_bmc_joins_the_quarterly_batch_due_on_the_30th(qinbei):
    batch = _batch()
    assert (batch.hospital_code, batch.station_code, batch.period) == (
        "qinbei-mch",
        "qinbei-xintang",
        "2026Q4",
    )
    assert batch.due_on == date(2026, 12, 30)
    assert batch.remind_on == date(2026, 12, 23)
    assert batch.documents == ["bmc_sub_page"] and batch.method == "in_person"
    entry = HandoverEntry.objects.get()
    assert entry.batch == batch and entry.bmc_number == "Q450123456"
    assert entry.certificate.item == "birth_certificate" and entry.issued_period == "2026Q4"


def test_the_hospital_sees_prints_and_sends_its_batch(qinbei, hospital_officer):
    client = client_for(hospital_officer)
    listing = client.get("/work/handovers/").content.decode()
    assert "2026年第四季度" in listing and "2026年12月30日" in listing
    assert "qinbei-xintang" not in listing  # names, not codes
    batch = _batch()
    page = client.get(f"/work/handovers/{batch.pk}/").content.decode()
    assert "Q450123456" in page and "出生医学证明副页移交清单" in page
    pdf = client.get(f"/work/handovers/{batch.pk}/list.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    sent = client.post(f"/work/handovers/{batch.pk}/send/", {"version": batch.version})
    assert sent.status_code == 302
    batch.refresh_from_db()
    assert batch.state == "sent" and batch.sent_count == 1 and batch.sent_by == hospital_officer
    audit = AuditRecord.objects.get(stream=f"handover-{batch.pk}", action="handover_sent")
    assert audit.actor == hospital_officer and audit.detail["count"] == 1
    # A second send changes nothing.
    client.post(f"/work/handovers/{batch.pk}/send/")
    assert AuditRecord.objects.filter(stream=f"handover-{batch.pk}").count() == 1


def test_the_station_receives_with_a_count_and_both_sides_are_logged(
    qinbei, hospital_officer, police_officer
):
    batch = _batch()
    police = client_for(police_officer)
    # Not sent yet: the station does not see it.
    assert police.get(f"/work/handovers/{batch.pk}/").status_code == 404
    client_for(hospital_officer).post(f"/work/handovers/{batch.pk}/send/")
    assert StaffMessage.objects.filter(user=police_officer, body__contains="1份").exists()
    page = police.get(f"/work/handovers/{batch.pk}/").content.decode()
    assert "Q450123456" in page and "钦北区妇幼保健院" in page
    # A count that differs needs a note.
    police.post(f"/work/handovers/{batch.pk}/receive/", {"received_count": "0"})
    batch.refresh_from_db()
    assert batch.state == "sent"
    police.post(
        f"/work/handovers/{batch.pk}/receive/", {"received_count": "1", "version": batch.version}
    )
    batch.refresh_from_db()
    assert batch.state == "received" and batch.received_count == 1
    assert batch.received_by == police_officer
    actions = list(
        AuditRecord.objects.filter(stream=f"handover-{batch.pk}")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["handover_sent", "handover_received"]
    assert StaffMessage.objects.filter(user=hospital_officer, body__contains="清点无误").exists()


def test_a_discrepancy_is_noted(qinbei, hospital_officer, police_officer):
    batch = _batch()
    client_for(hospital_officer).post(f"/work/handovers/{batch.pk}/send/")
    client_for(police_officer).post(
        f"/work/handovers/{batch.pk}/receive/", {"received_count": "0", "note": "缺 Q450123456"}
    )
    batch.refresh_from_db()
    assert batch.state == "received" and batch.received_count == 0
    assert batch.discrepancy == "缺 Q450123456"


@pytest.mark.parametrize(
    ("department", "kind", "code"),
    [
        ("hospital", "hospital", "qinbei-people"),  # another hospital
        ("police", "police_station", "qinbei-ps"),  # another station
        ("cdc", "hospital", "qinbei-mch"),  # the right place, another department
        ("hospital", "division", "45"),  # a division-wide officer is not the hospital
    ],
)
def test_others_neither_see_nor_act_on_the_batch(qinbei, hospital_officer, department, kind, code):
    batch = _batch()
    client_for(hospital_officer).post(f"/work/handovers/{batch.pk}/send/")
    batch.refresh_from_db()
    intruder = client_for(officer(department, kind, code))
    for url in ("", "list.pdf"):
        assert intruder.get(f"/work/handovers/{batch.pk}/{url}").status_code == 404
    assert intruder.post(f"/work/handovers/{batch.pk}/send/").status_code == 404
    assert (
        intruder.post(f"/work/handovers/{batch.pk}/receive/", {"received_count": "1"}).status_code
        == 404
    )
    batch.refresh_from_db()
    assert batch.state == "sent" and batch.received_by is None
    assert AccessRecord.objects.filter(what=f"handover:{batch.pk}", granted=False).exists()


def test_the_hospital_cannot_receive_and_the_station_cannot_send(
    qinbei, hospital_officer, police_officer
):
    batch = _batch()
    hospital = client_for(hospital_officer)
    hospital.post(f"/work/handovers/{batch.pk}/send/")
    refused = hospital.post(f"/work/handovers/{batch.pk}/receive/", {"received_count": "1"})
    assert refused.status_code == 403
    assert client_for(police_officer).post(f"/work/handovers/{batch.pk}/send/").status_code == 403
    batch.refresh_from_db()
    assert batch.state == "sent"


def test_parents_and_supervisors_get_no_workbench_page(qinbei):
    batch = _batch()
    supervisor = staff("supervisor", kind="division", code="4507")
    assert client_for(supervisor).get(f"/work/handovers/{batch.pk}/").status_code == 404
    assert client_for(supervisor).get("/work/handovers/").status_code == 404


def test_each_certificate_is_in_one_batch_and_late_ones_go_to_the_next_open_one(
    example, beijing, qinbei, hospital_officer
):
    batch = _batch()
    entry = HandoverEntry.objects.get()
    rows = {row.item: row for row in CaseItem.objects.filter(case=qinbei)}
    # Handled twice (a replayed event): still one entry.
    again = handover_certificate_add(
        case=qinbei, certificate=rows["birth_certificate"], rows=rows, now=entry.added_at
    )
    assert again is None and HandoverEntry.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        HandoverEntry.objects.create(
            batch=batch,
            certificate=rows["birth_certificate"],
            case=qinbei,
            bmc_number="Q450123456",
            newborn_names="x",
            issued_at=entry.issued_at,
            issued_period="2026Q4",
            added_at=entry.added_at,
        )
    client_for(hospital_officer).post(f"/work/handovers/{batch.pk}/send/")
    # A Q4 certificate issued after the Q4 batch went: it goes with the Q1 2027 batch.
    late_case = _qinbei_case(example, beijing, n=1)
    _issue(late_case, "Q450123457", beijing("2026-12-31T10:00:00+08:00"))
    late = HandoverEntry.objects.get(bmc_number="Q450123457")
    assert late.batch.period == "2027Q1" and late.issued_period == "2026Q4" and late.late
    assert late.batch.due_on == date(2027, 3, 30)
    assert HandoverBatch.objects.get(pk=batch.pk).entries.count() == 1


def test_a_completion_replayed_through_the_api_leaves_one_entry(example, media_root):
    """The completion adds the entry without asking whether the certificate is in a batch
    (``completed_now=True``: done is final, issue 10 part 2); a replayed completion, as a
    department system retries, and the effect handled a second time still leave one entry
    (the replay answered from its key, the second effect refused by the one-to-one
    constraint and rolled back)."""
    api = Api(hospital().token)
    number = api.post("/cases", current(example("qinbei-accept")), key="case").json()["number"]
    [bmc] = [t for t in api.get("/tasks").json()["tasks"] if t["item"] == "birth_certificate"]
    body = {"result": RESULTS["birth_certificate"], "expected_version": bmc["version"]}
    first = api.post(f"/tasks/{bmc['id']}/complete", body, key="complete")
    assert first.status_code == 200, first.content
    assert HandoverEntry.objects.filter(certificate_id=bmc["id"]).count() == 1
    again = api.post(f"/tasks/{bmc['id']}/complete", body, key="complete")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    unkeyed = api.post(f"/tasks/{bmc['id']}/complete", {"result": body["result"]})
    assert unkeyed.status_code == 409, unkeyed.content  # done is final: not completed again
    entry = HandoverEntry.objects.get()
    assert entry.certificate_id == bmc["id"] and entry.case.number == number
    # The effect itself handled again (an event delivered twice): refused whole.
    case = Case.objects.get(number=number)
    rows = {row.item: row for row in CaseItem.objects.filter(case=case)}
    with pytest.raises(IntegrityError), transaction.atomic():
        handover_certificate_add(
            case=case,
            certificate=rows["birth_certificate"],
            rows=rows,
            now=entry.added_at,
            completed_now=True,
        )
    assert list(HandoverEntry.objects.all()) == [entry]
    assert HandoverBatch.objects.get().entries.count() == 1


def test_yuanling_hands_household_copies_over_monthly_by_post(example, beijing, media_root):
    case = case_submit(
        document=example("yuanling-accept-trustee"),
        actor=None,
        now=beijing("2026-11-16T10:20:00+08:00"),
    ).case
    assert case.decision["decision"] == "accept", case.decision
    _issue(case, "H431222001", beijing("2026-11-16T10:30:00+08:00"))
    batch = _batch()
    assert (batch.period, batch.due_on, batch.method) == ("2026-11", date(2026, 11, 30), "post")
    assert batch.documents == ["bmc_household_copy", "ethnicity_confirmation_form"]
    hospital = client_for(officer("hospital", "hospital", batch.hospital_code))
    page = hospital.get(f"/work/handovers/{batch.pk}/").content.decode()
    assert "出生医学证明上户联移交清单" in page and "2026年11月" in page
    hospital.post(f"/work/handovers/{batch.pk}/send/")  # by post: no tracking number
    batch.refresh_from_db()
    assert batch.state == "open"
    hospital.post(f"/work/handovers/{batch.pk}/send/", {"tracking_number": "YZ 9876 5432 1"})
    batch.refresh_from_db()
    assert batch.state == "sent" and batch.tracking_number == "YZ 9876 5432 1"


def test_regions_without_a_handover_make_no_batch(example, beijing, media_root):
    case = case_submit(
        document=example("lanzhou-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    _issue(case, "G620100001", beijing("2026-11-20T10:00:00+08:00"))
    assert not HandoverBatch.objects.exists()


def test_a_certificate_joins_an_existing_batch_in_two_statements(example, beijing, qinbei):
    from django.test.utils import CaptureQueriesContext

    case = _qinbei_case(example, beijing, n=2)
    _issue(case, "Q450123459", beijing("2026-11-21T10:00:00+08:00"))
    rows = {row.item: row for row in CaseItem.objects.filter(case=case)}
    HandoverEntry.objects.filter(certificate=rows["birth_certificate"]).delete()
    case.typed_document()  # parsed once per document by the completion already
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        entry = handover_certificate_add(
            case=case, certificate=rows["birth_certificate"], rows=rows, now=case.submitted_at
        )
    assert entry is not None and entry.batch == _batch()
    # Is it already batched? · the entry written in the open batch, which it locks
    # (FOR SHARE) and takes its id from: one INSERT … SELECT (3 before session 26).
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2, statements


@pytest.mark.parametrize(
    ("documents", "wanted", "carried"),
    [
        (["bmc_sub_page"], True, False),
        (["bmc_sub_page", "ethnicity_confirmation_form"], True, True),
        (["bmc_sub_page", "ethnicity_confirmation_form"], False, False),
    ],
)
def test_the_one_statement_takes_the_batch_and_its_ethnicity_forms_from_the_batch(
    qinbei, documents, wanted, carried
):
    """The entry's INSERT … SELECT (session 26) writes the batch's id, and an ethnicity
    form only where the case has one and the batch carries them, as the batch read did;
    a batch no longer open takes nothing."""
    batch = _batch()
    entry = HandoverEntry.objects.get()
    HandoverBatch.objects.filter(pk=batch.pk).update(documents=documents)
    HandoverEntry.objects.all().delete()
    fresh = HandoverEntry(
        certificate_id=entry.certificate_id,
        case=qinbei,
        bmc_number=entry.bmc_number,
        newborn_names=entry.newborn_names,
        issued_at=entry.issued_at,
        issued_period=entry.issued_period,
        ethnicity_form=wanted,
        added_at=entry.added_at,
    )
    assert _added_to_open_batch(fresh, batch.hospital_code, batch.station_code, batch.period)
    stored = HandoverEntry.objects.get()
    assert (fresh.batch_id, fresh.ethnicity_form) == (batch.pk, carried)
    assert (stored.pk, stored.batch_id, stored.ethnicity_form) == (fresh.pk, batch.pk, carried)
    assert stored.newborn_names == entry.newborn_names  # encrypted as the ORM writes it
    HandoverEntry.objects.all().delete()
    HandoverBatch.objects.filter(pk=batch.pk).update(state="sent")
    fresh.pk = None
    assert not _added_to_open_batch(fresh, batch.hospital_code, batch.station_code, batch.period)
    assert not HandoverEntry.objects.exists()


def test_twins_are_one_entry_each_with_its_name(example, beijing, media_root):
    """One certificate per newborn (多胞胎, ADR 0036): each twin's sub-page is its own entry."""
    document = example("qinbei-accept")
    second = dict(document["newborns"][0], name="覃沐晨", record_number="ZY-TWIN-2")
    document["newborns"].append(second)
    if isinstance(document.get("maternity"), dict):
        document["maternity"]["plurality"] = 2
    case = case_submit(document=document, actor=None, now=beijing("2026-11-20T09:30:00+08:00")).case
    at = beijing("2026-11-20T10:00:00+08:00")
    for newborn, number in ((0, "Q450123458"), (1, "Q450123459")):
        bmc = CaseItem.objects.get(case=case, item="birth_certificate", newborn=newborn)
        item_complete(item_id=bmc.pk, actor=None, result={"bmc_number": number}, now=at)
    entries = HandoverEntry.objects.order_by("bmc_number")
    assert [(e.bmc_number, e.newborn_names) for e in entries] == [
        ("Q450123458", "覃沐阳"),
        ("Q450123459", "覃沐晨"),
    ]


def test_the_reminder_goes_once_and_only_for_open_batches(
    example, beijing, qinbei, hospital_officer
):
    other = officer("hospital", "hospital", "qinbei-mch", "李护士")
    assert handover_reminders_send(now=beijing("2026-12-22T09:00:00+08:00")).batches == 0
    first = handover_reminders_send(now=beijing("2026-12-23T09:00:00+08:00"))
    assert (first.batches, first.messages) == (1, 2)
    assert StaffMessage.objects.filter(user__in=[hospital_officer, other]).count() == 2
    message = StaffMessage.objects.filter(user=hospital_officer).get()
    assert "2026年12月30日" in message.body and "钦州市公安局钦北分局" in message.body
    again = handover_reminders_send(now=beijing("2026-12-24T09:00:00+08:00"))
    assert (again.batches, again.messages) == (0, 0)
    assert StaffMessage.objects.count() == 2
    # A batch already sent is never reminded.
    batch = _batch()
    batch.reminded_at = None
    batch.save(update_fields=["reminded_at"])
    client_for(hospital_officer).post(f"/work/handovers/{batch.pk}/send/")
    assert handover_reminders_send(now=beijing("2026-12-28T09:00:00+08:00")).batches == 0
    batch.refresh_from_db()
    assert batch.reminded_at is None


def test_supervisors_see_overdue_batches_with_filters_and_a_count(
    qinbei, monkeypatch, hospital_officer
):
    monkeypatch.setattr(handover_views, "today_in_beijing", lambda: date(2027, 1, 5))
    supervisor = client_for(staff("supervisor", kind="division", code="4507"))
    page = supervisor.get("/supervise/handovers/").content.decode()
    assert 'data-overdue="1"' in page and "钦北区妇幼保健院" in page and "2026年第四季度" in page
    batch = _batch()
    assert f'data-batch="{batch.pk}"' in page
    other_hospital = supervisor.get("/supervise/handovers/?hospital=qinbei-people").content
    assert f'data-batch="{batch.pk}"'.encode() not in other_hospital
    other_region = supervisor.get("/supervise/handovers/?region=yuanling").content
    assert f'data-batch="{batch.pk}"'.encode() not in other_region
    # Another region's supervisor sees nothing of it.
    elsewhere = client_for(staff("supervisor", kind="division", code="6201"))
    assert 'data-overdue="0"' in elsewhere.get("/supervise/handovers/").content.decode()
    # Sent and received: no longer overdue, visible as closed.
    client_for(hospital_officer).post(f"/work/handovers/{batch.pk}/send/")
    page = supervisor.get("/supervise/handovers/").content.decode()
    assert 'data-overdue="0"' in page
    closed = supervisor.get("/supervise/handovers/?state=all").content.decode()
    assert f'data-batch="{batch.pk}" data-state="sent"' in closed
    # Officers do not get the supervisors' page.
    assert client_for(hospital_officer).get("/supervise/handovers/").status_code == 404


def test_the_reminder_is_a_declared_periodic_job(qinbei):
    from onestop.ops.schedule import SCHEDULE

    job = next(job for job in SCHEDULE if job.name == "handover_remind")
    result = job.run()
    assert isinstance(result, dict) and set(result) == {"batches", "messages"}


# --- two real transactions on PostgreSQL (session 26: the batch locked FOR SHARE) ----------


def _again(entry: HandoverEntry) -> HandoverEntry:
    """A new entry of ``entry``'s certificate, not yet written."""
    return HandoverEntry(
        certificate_id=entry.certificate_id,
        case_id=entry.case_id,
        bmc_number=entry.bmc_number,
        newborn_names=entry.newborn_names,
        issued_at=entry.issued_at,
        issued_period=entry.issued_period,
        added_at=entry.added_at,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_certificates_join_side_by_side_and_the_send_waits_for_them(
    example, beijing, media_root, hospital_officer
):
    """Two completions add to one open batch at once (neither waits for the other); the
    hospital's send waits for the one still open, then counts both entries."""
    for n, number in ((0, "Q450123456"), (1, "Q450123457")):
        _issue(_qinbei_case(example, beijing, n=n), number, beijing("2026-11-20T10:00:00+08:00"))
    batch = _batch()
    first, second = (_again(e) for e in HandoverEntry.objects.order_by("bmc_number"))
    HandoverEntry.objects.all().delete()
    key = (batch.hospital_code, batch.station_code, batch.period)

    def add_second() -> bool:
        with transaction.atomic():
            return _added_to_open_batch(second, *key)

    def send() -> int | None:
        return handover_send(batch_id=batch.pk, actor=hospital_officer).sent_count

    with transaction.atomic():
        assert _added_to_open_batch(first, *key)  # holds the batch FOR SHARE
        adder = Rival(add_second)
        adder.join(20)
        assert not adder.alive() and adder.result is True, adder.error  # did not wait
        sender = Rival(send)
        if not until_waiting(sender):  # until the send waits on the batch's lock
            pytest.fail("the send never waited for the completion holding the batch")
    sender.join(30)
    assert sender.error is None, sender.error
    assert sender.result == 2
    batch.refresh_from_db()
    assert (batch.state, batch.sent_count, batch.entries.count()) == ("sent", 2, 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_two_certificates_that_waited_for_a_send_go_on_to_the_next_batch(
    example, beijing, media_root
):
    """Two completions wait behind the hospital's send of their batch; when it commits,
    each finds the batch gone and goes on to the next period's batch — without a deadlock
    (the statement that found it gone keeps its FOR SHARE lock: locking the gone batch
    again FOR UPDATE made each wait for the other; review of session 26)."""
    cases = [_qinbei_case(example, beijing, n=n) for n in (0, 1)]
    for case, number in zip(cases, ("Q450123456", "Q450123457"), strict=True):
        _issue(case, number, beijing("2026-11-20T10:00:00+08:00"))
    batch = _batch()
    entries = [_again(e) for e in HandoverEntry.objects.order_by("bmc_number")]
    HandoverEntry.objects.all().delete()
    rule = handover_rule(cases[0])
    assert rule is not None
    period = domain.parse_period(batch.period, rule.period)

    def add(entry: HandoverEntry) -> Rival:
        def work() -> int | None:
            with transaction.atomic():
                _entry_written(
                    entry,
                    rule=rule,
                    region=batch.region,
                    hospital=batch.hospital_code,
                    station=batch.station_code,
                    division=batch.division,
                    period=period,
                    now=entry.added_at,
                )
            return entry.batch_id

        return Rival(work)

    with transaction.atomic():  # the send: the batch locked, then no longer open
        HandoverBatch.objects.select_for_update().get(pk=batch.pk)
        HandoverBatch.objects.filter(pk=batch.pk).update(state=HandoverBatch.State.SENT)
        adders = [add(entry) for entry in entries]
        if not until_waiting(*adders):  # until both wait on the batch's lock
            pytest.fail("the completions never waited for the send")
    for adder in adders:
        adder.join(30)
    assert not [a.error for a in adders if a.error], [a.error for a in adders]
    following = HandoverBatch.objects.get(period=period.next().code)
    assert adders[0].result == adders[1].result == following.pk
    assert following.state == HandoverBatch.State.OPEN and following.entries.count() == 2
    assert HandoverBatch.objects.get(pk=batch.pk).entries.count() == 0
