"""The deadline sweep with frozen time (every call is given its ``now``) across National Day
2026: Thu 1 – Wed 7 October off, Thu 8 and Fri 9 working, Sat 10 a make-up working day,
Sun 11 off. Items are received on 29 and 30 September with 1–2 working-day limits."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection, transaction

from onestop.audit.models import AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.ops.demo import shift_dates
from onestop.supervision.models import DeadlineEvent, StaffMessage
from onestop.supervision.services import deadlines_sweep
from onestop.testing.costs import count_decryptions
from onestop.testing.factories import officer, staff
from onestop.testing.newborns import another_newborn
from onestop.testing.preview import preview_sign
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete, item_return

pytestmark = pytest.mark.django_db


babies = itertools.count()


@pytest.fixture
def submit(example, beijing, media_root):
    def go(name: str, at: str):
        now = beijing(at)
        document = another_newborn(example(name), next(babies))
        shift_dates(document, now)
        case = case_submit(document=document, actor=None, now=now).case
        assert case.status == "in_progress", case.decision
        return case

    return go


@pytest.fixture
def people(db):
    return {
        "hospital": officer("hospital", "hospital", "qinbei-mch"),
        "cdc": officer("cdc", "division", "450703"),
        "police": officer("police", "police_station", "qinbei-xintang"),
        "fz_hospital": officer("hospital", "hospital", "fujian-mch"),
        "district": staff("supervisor", kind="division", code="450703"),
        "city": staff("supervisor", kind="division", code="4507"),
        "province": staff("supervisor", kind="division", code="45"),
        "other": staff("supervisor", kind="division", code="6201"),
    }


@pytest.fixture
def week(submit, beijing, people):
    """Four cases received around the holiday, with their items as the tests expect."""
    q1 = submit("qinbei-accept", "2026-09-29T10:00:00+08:00")
    q2 = submit("qinbei-accept", "2026-09-30T10:00:00+08:00")
    bmc2 = CaseItem.objects.get(case=q2, item="birth_certificate")
    item_complete(
        item_id=bmc2.pk,
        actor=people["hospital"],
        result={"bmc_number": "Q450123456"},
        now=beijing("2026-09-30T11:00:00+08:00"),
    )
    q3 = submit("qinbei-accept", "2026-09-30T10:00:00+08:00")
    item_return(
        item_id=CaseItem.objects.get(case=q3, item="birth_certificate").pk,
        actor=people["hospital"],
        reasons=["出生时间与分娩记录不一致"],
        now=beijing("2026-09-30T15:00:00+08:00"),
    )
    f1 = submit("fuzhou-accept", "2026-09-30T09:00:00+08:00")
    # the applicant signs the previews at once (ADR 0035): the BMC goes to the hospital then
    preview_sign(f1, now=beijing("2026-09-30T09:00:00+08:00"))
    return {"q1": q1, "q2": q2, "q3": q3, "f1": f1}


def lights(case) -> dict[str, str]:
    return {
        i.item: i.urgency
        for i in CaseItem.objects.filter(case=case, due_at__isnull=False)
        .exclude(state__in=["done", "waiting"])
        .order_by("position")
    }


def test_the_week_has_the_due_times_the_clock_rules_give(week, beijing):
    def due(case, item):
        return CaseItem.objects.get(case=case, item=item).due_at

    assert due(week["q1"], "birth_certificate") == beijing("2026-09-30T23:59:59+08:00")
    assert due(week["q2"], "vaccination_certificate") == beijing("2026-10-08T23:59:59+08:00")
    assert due(week["q2"], "birth_registration") == beijing("2026-10-09T23:59:59+08:00")
    assert due(week["f1"], "birth_certificate") == beijing("2026-10-08T12:00:00+08:00")


# (instant, {case: {item: light}}): q3's returned BMC never gets a light.
TIMELINE = [
    (
        "2026-09-30T16:00:00+08:00",
        {
            "q1": {"birth_certificate": "warning", "vaccination_certificate": "warning"},
            "q2": {"vaccination_certificate": "normal", "birth_registration": "normal"},
            "q3": {"birth_certificate": "normal", "vaccination_certificate": "normal"},
            # Fuzhou, received 09:00 → due 12:00 on 8 Oct; after noon less than a day is left
            "f1": {"birth_certificate": "warning", "vaccination_certificate": "warning"},
        },
    ),
    (
        "2026-10-03T10:00:00+08:00",  # in the holiday
        {
            "q1": {"birth_certificate": "overdue", "vaccination_certificate": "overdue"},
            "q2": {"vaccination_certificate": "normal", "birth_registration": "normal"},
            "q3": {"birth_certificate": "normal", "vaccination_certificate": "normal"},
            "f1": {"birth_certificate": "warning"},
        },
    ),
    (
        "2026-10-08T09:00:00+08:00",  # first working day after the holiday
        {
            "q1": {"birth_certificate": "overdue"},
            "q2": {"vaccination_certificate": "warning", "birth_registration": "normal"},
            "q3": {"birth_certificate": "normal", "vaccination_certificate": "warning"},
            "f1": {"birth_certificate": "warning"},
        },
    ),
    (
        "2026-10-08T12:00:01+08:00",
        {"f1": {"birth_certificate": "overdue", "vaccination_certificate": "overdue"}},
    ),
    (
        "2026-10-09T08:00:00+08:00",
        {
            "q2": {"vaccination_certificate": "overdue", "birth_registration": "warning"},
            "q3": {"birth_certificate": "normal", "vaccination_certificate": "overdue"},
        },
    ),
    (
        "2026-10-10T10:00:00+08:00",  # Saturday, a make-up working day
        {
            "q2": {"birth_registration": "overdue"},
            "q3": {"birth_certificate": "normal"},
        },
    ),
]


def test_lights_across_the_holiday_week(week, beijing):
    for at, expected in TIMELINE:
        deadlines_sweep(beijing(at))
        for key, items in expected.items():
            got = lights(week[key])
            assert {k: got[k] for k in items} == items, (at, key)
    returned = CaseItem.objects.get(case=week["q3"], item="birth_certificate")
    assert returned.state == "returned"
    assert not DeadlineEvent.objects.filter(item=returned).exists()


def test_the_sweep_records_each_transition_once_and_a_second_run_changes_nothing(
    week, beijing, people
):
    at = beijing("2026-10-08T09:00:00+08:00")
    first = deadlines_sweep(at)
    assert first.events["overdue"] == 2  # q1's BMC and vaccination
    assert first.events["warning"] == 4  # q2 vaccination, q3 vaccination, f1 BMC + vaccination
    counts = (
        DeadlineEvent.objects.count(),
        StaffMessage.objects.count(),
        TimelineEntry.objects.count(),
        AuditRecord.objects.count(),
    )
    again = deadlines_sweep(at)
    assert sum(again.events.values()) == 0 and again.messages == 0
    assert sum(again.lights.values()) == 0
    later = deadlines_sweep(beijing("2026-10-08T10:00:00+08:00"))
    assert sum(later.events.values()) == 0 and later.messages == 0
    assert counts == (
        DeadlineEvent.objects.count(),
        StaffMessage.objects.count(),
        TimelineEntry.objects.count(),
        AuditRecord.objects.count(),
    )


def test_transitions_are_on_the_staff_timeline_and_reach_the_right_people(week, beijing, people):
    deadlines_sweep(beijing("2026-10-03T10:00:00+08:00"))
    q1 = week["q1"]
    entries = TimelineEntry.objects.filter(case=q1, kind="deadline_overdue")
    assert entries.count() == 2
    assert all(not e.visible_to_parent for e in entries)
    assert "已超过办理期限" in entries[0].message
    assert AuditRecord.objects.filter(stream=q1.number, action="item_deadline_overdue").count() == 2
    overdue = StaffMessage.objects.filter(kind="overdue", case=q1)
    # the hospital's officer hears about the BMC, the CDC officer about the vaccination, and
    # the district supervisor about both; nobody else
    assert sorted((m.user.username, m.item.item if m.item else "") for m in overdue) == sorted(
        [
            (people["hospital"].username, "birth_certificate"),
            (people["cdc"].username, "vaccination_certificate"),
            (people["district"].username, "birth_certificate"),
            (people["district"].username, "vaccination_certificate"),
        ]
    )
    warned = StaffMessage.objects.filter(kind="warning", case=week["f1"])
    assert {m.user_id for m in warned} == {people["fz_hospital"].pk}
    assert "即将到期" in warned[0].body
    assert not StaffMessage.objects.filter(user=people["other"]).exists()
    assert not StaffMessage.objects.filter(user=people["police"]).exists()


def test_escalation_after_one_and_three_working_days_overdue(week, beijing, people):
    q1 = week["q1"]  # due at the end of 30 Sep; overdue from 1 Oct, the holiday not counting
    bmc = CaseItem.objects.get(case=q1, item="birth_certificate")

    def kinds() -> list[str]:
        return sorted(DeadlineEvent.objects.filter(item=bmc).values_list("kind", flat=True))

    deadlines_sweep(beijing("2026-10-07T20:00:00+08:00"))
    assert kinds() == ["overdue"]
    deadlines_sweep(beijing("2026-10-08T23:00:00+08:00"))
    assert kinds() == ["overdue"]
    deadlines_sweep(beijing("2026-10-09T00:00:00+08:00"))  # all of 8 Oct has passed
    assert kinds() == ["escalated_1", "overdue"]
    supervised = StaffMessage.objects.filter(item=bmc, kind="escalated")
    assert {m.user_id for m in supervised} == {people["district"].pk, people["hospital"].pk}
    deadlines_sweep(beijing("2026-10-10T23:00:00+08:00"))
    assert kinds() == ["escalated_1", "overdue"]
    deadlines_sweep(beijing("2026-10-11T00:00:00+08:00"))  # 8, 9 and Sat 10 Oct
    assert kinds() == ["escalated_1", "escalated_2", "overdue"]
    upward = StaffMessage.objects.filter(item=bmc, kind="escalated", body__contains="上报")
    # one level up from the district (450703) is the city (4507), not the province
    assert {m.user_id for m in upward} == {people["city"].pk, people["district"].pk}
    assert TimelineEntry.objects.filter(case=q1, kind="deadline_escalated_2").count() == 2
    # the batches' records (two items of a case in one batch) extend each case's chain
    for case in week.values():
        assert verify_chain(case.number) == []
    assert (
        AuditRecord.objects.filter(stream=q1.number, action__startswith="item_deadline").count()
        == 6
    )


def test_a_returned_item_is_paused_and_a_resumed_one_is_judged_on_its_new_due_time(
    week, beijing, people
):
    from onestop.cases.services import case_supplement

    q3 = week["q3"]
    bmc = CaseItem.objects.get(case=q3, item="birth_certificate")
    deadlines_sweep(beijing("2026-10-09T10:00:00+08:00"))
    bmc.refresh_from_db()
    assert (bmc.state, bmc.urgency) == ("returned", "normal")
    # the parents supplement on Fri 9 Oct: the BMC was due at the end of 8 Oct; the two
    # working days paused (8, 9 Oct) move it to the end of Sat 10 Oct, a make-up working day
    case_supplement(case_id=q3.pk, actor=None, now=beijing("2026-10-09T10:00:00+08:00"))
    bmc.refresh_from_db()
    assert bmc.state == "ready"
    assert bmc.due_at == beijing("2026-10-10T23:59:59+08:00")
    for at, light in [
        ("2026-10-09T10:05:00+08:00", "normal"),
        ("2026-10-10T00:00:01+08:00", "warning"),
        ("2026-10-11T00:00:00+08:00", "overdue"),
    ]:
        deadlines_sweep(beijing(at))
        bmc.refresh_from_db()
        assert bmc.urgency == light, at


def test_finished_items_are_left_alone(week, beijing, people):
    q1 = week["q1"]
    bmc = CaseItem.objects.get(case=q1, item="birth_certificate")
    item_complete(
        item_id=bmc.pk,
        actor=people["hospital"],
        result={"bmc_number": "Q450123457"},
        now=beijing("2026-09-30T17:00:00+08:00"),
    )
    deadlines_sweep(beijing("2026-10-09T10:00:00+08:00"))
    assert not DeadlineEvent.objects.filter(item=bmc).exists()
    assert DeadlineEvent.objects.filter(case=q1, item__item="vaccination_certificate").exists()


# What a batch of transitions costs, in its own transaction (issue 10, session 24: "the
# deadline sweep touches only open items", p99 < 500 ms a run): the savepoint pair, the
# cases' lock, the items, the ledger's check, the items' marks, the events, the audit
# chains' last records and the records, the staff timeline lines, the messages (existing
# keys, new rows) — and the recipients and place names the run has not read yet (officers,
# supervisors, divisions, institutions and the reference stamp). The same whatever the
# number of transitions in the batch; no encrypted column is read.
BATCH_STATEMENTS = 17


def _blocks(queries: list[dict[str, str]]) -> list[int]:
    """The statements of each outermost savepoint (a transaction inside the test's) that
    writes audit records: the batches of transitions (not the lights' relocking)."""
    blocks: list[list[str]] = []
    depth = 0
    for query in queries:
        sql = query["sql"]
        if sql.startswith("SAVEPOINT"):
            if depth == 0:
                blocks.append([])
            depth += 1
        if depth:
            blocks[-1].append(sql)
        if sql.startswith("RELEASE SAVEPOINT") or sql.startswith("ROLLBACK TO SAVEPOINT"):
            depth -= 1
    return [len(b) for b in blocks if any("audit_auditrecord" in sql for sql in b)]


def test_a_batch_of_transitions_costs_a_fixed_number_of_statements_and_decrypts_nothing(
    week, beijing, people, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    at = beijing("2026-10-08T09:00:00+08:00")
    decrypted = count_decryptions(monkeypatch)
    with CaptureQueriesContext(connection) as run:
        report = deadlines_sweep(at)
    assert report.events["warning"] == 4 and report.events["overdue"] == 2
    blocks = _blocks(run.captured_queries)
    # one transaction per kind of transition, not one per transition
    assert len(blocks) == sum(1 for n in report.events.values() if n), blocks
    assert max(blocks) <= BATCH_STATEMENTS, blocks
    assert decrypted == []


class _Undone(Exception):
    pass


def _statements_of_a_run(at, batch_size: int) -> tuple[int, int]:
    """(statements, transitions) of a run, undone after it (the same state for the next)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as run:
        try:
            with transaction.atomic():
                report = deadlines_sweep(at, batch_size=batch_size)
                raise _Undone
        except _Undone:
            pass
    return len(run.captured_queries), sum(report.events.values())


def test_the_statements_of_a_run_do_not_grow_with_its_transitions(week, submit, beijing, people):
    """Eight more cases received with q1: a run at 9 Oct records q1's items' transitions for
    nine cases. The statements of the run with one transition of each kind and with all of
    them differ only by the recipients and places the larger run looks up (one query each
    for every kind of place, whatever their number) — on the code before session 24 each
    transition cost 12 more."""
    for _ in range(8):
        submit("qinbei-accept", "2026-09-29T10:00:00+08:00")
    at = beijing("2026-10-09T00:00:00+08:00")  # overdue, escalated once (see below)
    few, one_each = _statements_of_a_run(at, batch_size=1)
    many, transitions = _statements_of_a_run(at, batch_size=500)
    assert transitions >= one_each + 30, (one_each, transitions)
    assert many <= few + 2, (few, many)


def test_a_batch_that_fails_is_recorded_one_transition_at_a_time(week, beijing, monkeypatch):
    """A failure costs the transition that fails (the run stops there, as before the
    batches), never the records of the transitions before it."""
    from onestop.supervision import services

    at = beijing("2026-10-08T09:00:00+08:00")
    real = services._transition
    failing = CaseItem.objects.get(case=week["q3"], item="vaccination_certificate")

    def transition(kind, item, case, recipients):
        if item.pk == failing.pk:
            raise RuntimeError("boom")
        return real(kind, item, case, recipients)

    monkeypatch.setattr(services, "_transition", transition)
    with pytest.raises(RuntimeError):
        deadlines_sweep(at)
    warned = set(DeadlineEvent.objects.filter(kind="warning").values_list("item_id", flat=True))
    order = list(
        CaseItem.objects.filter(urgency="warning")
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    )
    assert order.index(failing.pk) > 0  # some warnings come before it, in due order
    assert warned == set(order[: order.index(failing.pk)])
    assert TimelineEntry.objects.filter(kind="deadline_warning").count() == len(warned)
    assert AuditRecord.objects.filter(action="item_deadline_warning").count() == len(warned)
    monkeypatch.setattr(services, "_transition", real)
    report = deadlines_sweep(at)  # the next run records the rest, each once
    assert report.events["warning"] == 4 - len(warned)
    assert DeadlineEvent.objects.filter(kind="warning").count() == 4


# --- the items' marks (session 19, issue 10 part 4: the sweep walks only what it records) --


def test_a_recorded_transition_marks_its_item_and_the_next_run_does_not_select_it(week, beijing):
    from onestop.supervision.services import _unrecorded
    from onestop.workflow.domain.urgency import DEADLINE_MARKS

    q1 = week["q1"]
    bmc = CaseItem.objects.get(case=q1, item="birth_certificate")
    at = beijing("2026-10-11T00:00:00+08:00")  # overdue, escalated twice (see above)
    deadlines_sweep(at)
    bmc.refresh_from_db()
    recorded = set(DeadlineEvent.objects.filter(item=bmc).values_list("kind", flat=True))
    assert recorded == {"overdue", "escalated_1", "escalated_2"}
    assert bmc.deadline_marks == sum(DEADLINE_MARKS[k] for k in recorded)
    for kind in DEADLINE_MARKS:
        assert not _unrecorded(CaseItem.objects.filter(pk=bmc.pk), kind).exists(), kind


def test_the_database_clears_the_marks_whenever_the_due_time_changes(week, beijing):
    """The trigger of workflow migration 0014, for every way a row is written: a model
    save, a queryset update, raw SQL (an administrator in psql). A write that leaves the
    due time alone keeps the marks."""
    from django.db import connection

    bmc = CaseItem.objects.get(case=week["q1"], item="birth_certificate")
    deadlines_sweep(beijing("2026-10-11T00:00:00+08:00"))
    bmc.refresh_from_db()
    marked = bmc.deadline_marks
    assert marked

    def marks() -> int:
        return CaseItem.objects.values_list("deadline_marks", flat=True).get(pk=bmc.pk)

    CaseItem.objects.filter(pk=bmc.pk).update(urgency="normal", version=bmc.version + 1)
    assert marks() == marked  # the due time did not change
    bmc.refresh_from_db()
    bmc.save()  # every column written, the same due time
    assert marks() == marked

    bmc.due_at = beijing("2026-10-20T23:59:59+08:00")
    bmc.save(update_fields=["due_at"])
    assert marks() == 0

    CaseItem.objects.filter(pk=bmc.pk).update(deadline_marks=marked)
    CaseItem.objects.filter(pk=bmc.pk).update(due_at=beijing("2026-10-21T23:59:59+08:00"))
    assert marks() == 0

    CaseItem.objects.filter(pk=bmc.pk).update(deadline_marks=marked)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE workflow_caseitem SET due_at = %s WHERE id = %s",
            [beijing("2026-10-22T23:59:59+08:00"), bmc.pk],
        )
    assert marks() == 0


def test_a_transition_recorded_but_not_marked_is_marked_and_not_recorded_again(week, beijing):
    """Rows written before the marks existed (the migration fills them from the ledger;
    this is the sweep's own repair if one was missed): the ledger decides, nothing is
    recorded or sent twice."""
    at = beijing("2026-10-11T00:00:00+08:00")
    deadlines_sweep(at)
    counts = (DeadlineEvent.objects.count(), StaffMessage.objects.count())
    CaseItem.objects.update(deadline_marks=0)
    again = deadlines_sweep(at)
    assert sum(again.events.values()) == 0 and again.messages == 0
    assert counts == (DeadlineEvent.objects.count(), StaffMessage.objects.count())
    marked = CaseItem.objects.filter(deadline_events__isnull=False).distinct()
    assert marked.exists() and all(i.deadline_marks for i in marked)


# --- a clerk acts while the sweep runs (two real transactions on PostgreSQL) --------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
def test_an_item_completed_while_the_batch_waits_for_its_case_is_not_recorded(
    week, beijing, people
):
    """The clerk holds q1's case (completing its BMC) when the sweep's escalation batch
    selects the BMC and asks for the case's lock: the batch waits, then reads the item
    finished and records only the vaccination; q1's audit chain follows the clerk's record."""
    import threading
    import time

    def waits_for_a_case(pid: int) -> bool:
        """Whether ``pid`` waits for a case's row: a waiter of ``FOR UPDATE`` holds the row's
        tuple lock while it waits for the holder's transaction."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = %s AND l.locktype = 'tuple' AND c.relname = %s)"
                " AND EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)",
                [pid, "cases_case", pid],
            )
            return bool(cursor.fetchone()[0])

    q1 = week["q1"]
    bmc = CaseItem.objects.get(case=q1, item="birth_certificate")
    vaccination = CaseItem.objects.get(case=q1, item="vaccination_certificate")
    deadlines_sweep(beijing("2026-10-03T10:00:00+08:00"))  # both red, overdue recorded
    at = beijing("2026-10-09T00:00:00+08:00")  # both escalated once now
    clerk_holds = threading.Event()
    sweep: dict[str, object] = {}
    errors: list[BaseException] = []

    def run() -> None:
        try:
            clerk_holds.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                sweep["pid"] = cursor.fetchone()[0]
            sweep["report"] = deadlines_sweep(at)
        except BaseException as exc:  # the main thread reports it
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    with transaction.atomic():
        item_complete(
            item_id=bmc.pk,
            actor=people["hospital"],
            result={"bmc_number": "Q450123458"},
            now=beijing("2026-10-08T23:30:00+08:00"),
        )
        clerk_holds.set()
        for _ in range(1000):  # until the sweep's batch waits for q1's row
            if "pid" in sweep and waits_for_a_case(int(sweep["pid"])):  # type: ignore[call-overload]
                break
            time.sleep(0.01)
        else:
            pytest.fail("the sweep's batch never waited for the clerk's case")
    thread.join(30)
    assert not errors, errors
    escalated = DeadlineEvent.objects.filter(case=q1, kind="escalated_1")
    assert list(escalated.values_list("item_id", flat=True)) == [vaccination.pk]
    assert verify_chain(q1.number) == []
    actions = list(
        AuditRecord.objects.filter(stream=q1.number)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["item_completed", "item_deadline_escalated_1"]
    again = deadlines_sweep(at)
    assert sum(again.events.values()) == 0 and again.messages == 0
