"""Ratings (好差评, ADR 0038): the invitation after the case ends, one rating per case and
step (online 一事一评 or at the counter 一次一评), never changed; a bad rating is followed
up by the responsible department until the parent is satisfied (国办发〔2019〕51号:
"every bad rating is followed up and rectified"); supervisors see follow-ups to closure.

Seed 002 (Qinbei) 十(一): "在事项办结后,向新生儿父母推送“好差评”服务,接受社会监督"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from onestop.accounts.models import Role
from onestop.audit.models import AccessRecord, AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import Case, TimelineEntry
from onestop.cases.services import case_submit
from onestop.core.clock import BEIJING
from onestop.notifications.models import Notification
from onestop.ops.demo import shift_dates
from onestop.ratings.models import FollowUp, FollowUpEntry, Rating
from onestop.ratings.selectors import summary
from onestop.ratings.services import Given, RatingRefused, case_rate
from onestop.supervision.models import StaffMessage
from onestop.supervision.selectors import item_officers
from onestop.testing.costs import audit_chain_reads
from onestop.testing.factories import SAMPLE_RESULTS, officer, parent, staff
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

MOTHER_PHONE = "13800000000"  # qinbei-accept: the mother applies
STEPS = ["birth_certificate", "birth_registration"]
SUBMITTED = "2026-11-20T09:30:00+08:00"  # a Friday


def row(case: Case, item: str) -> CaseItem:
    return CaseItem.objects.get(case=case, item=item)


def item_officer(case: Case, item: str):
    found = row(case, item)
    return officer(found.department, found.jurisdiction_kind, found.jurisdiction_code)


def complete(case: Case, item: str) -> None:
    found = row(case, item)
    client = Client()
    client.force_login(item_officer(case, item))
    response = client.post(
        f"/work/tasks/{found.pk}/complete/", {"version": found.version, **SAMPLE_RESULTS[item]}
    )
    assert response.status_code == 302
    assert row(case, item).state == "done"


@pytest.fixture
def finished(example, beijing, media_root) -> Case:
    now = beijing(SUBMITTED)
    document = example("qinbei-accept")
    shift_dates(document, now)
    document["items"] = STEPS
    case = case_submit(document=document, actor=None, now=now).case
    assert case.status == "in_progress", case.decision
    for item in STEPS:
        complete(case, item)
    case.refresh_from_db()
    assert case.status == "completed"
    return case


@pytest.fixture
def mother(db):
    return parent(MOTHER_PHONE)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rate_url(case: Case) -> str:
    return f"/my/cases/{case.number}/rate/"


def test_the_parents_are_invited_when_the_case_is_finished(finished, mother):
    sms = [
        n.body
        for n in Notification.objects.filter(
            case=finished, channel="sms", phone_index=mother.phone_index
        )
    ]
    assert any(f"/my/cases/{finished.number}/rate/" in body and "非常满意" in body for body in sms)
    in_app = Notification.objects.filter(case=finished, channel="in_app").values_list(
        "body", flat=True
    )
    assert any("作出评价" in body for body in in_app)
    page = client_for(mother).get(f"/my/cases/{finished.number}/").content.decode()
    assert 'id="rating"' in page and rate_url(finished) in page


def test_a_case_still_in_progress_cannot_be_rated(example, beijing, media_root, mother):
    document = example("qinbei-accept")
    shift_dates(document, beijing(SUBMITTED))
    case = case_submit(document=document, actor=None, now=beijing(SUBMITTED)).case
    response = client_for(mother).post(rate_url(case), {"grade-service": "5"}, follow=True)
    assert "办件办结后才能评价" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_refused_case_invites_and_rates_the_whole_service_only(example, beijing, media_root):
    document = example("qinbei-reject-hk-father-late-applicant")
    shift_dates(document, beijing(SUBMITTED))
    case = case_submit(document=document, actor=None, now=beijing(SUBMITTED)).case
    assert case.status == "rejected"
    bodies = list(
        Notification.objects.filter(case=case, channel="sms").values_list("body", flat=True)
    )
    assert any("/rate/" in b for b in bodies)
    applicant = case.typed_document().applicant
    assert applicant is not None and applicant.phone
    phone = applicant.phone
    client = client_for(parent(phone))
    page = client.get(rate_url(case)).content.decode()
    assert 'data-step="service"' in page and 'data-step="birth_certificate"' not in page
    client.post(rate_url(case), {"grade-service": "2", "comment-service": "材料要求没有提前说清"})
    rating = Rating.objects.get(case=case)
    assert (rating.step, rating.grade) == ("", 2)
    follow_up = FollowUp.objects.get(rating=rating)
    assert follow_up.department == "" and follow_up.division == case.division


def test_one_rating_per_case_and_step_a_second_post_changes_nothing(finished, mother):
    client = client_for(mother)
    page = client.get(rate_url(finished)).content.decode()
    for step in ("service", *STEPS):
        assert f'name="grade-{step}"' in page
    client.post(
        rate_url(finished),
        {
            "grade-service": "5",
            "grade-birth_certificate": "4",
            "comment-birth_certificate": "医生很耐心，手机号13912345678",
        },
    )
    assert sorted(Rating.objects.values_list("step", "grade", "channel")) == [
        ("", 5, "online"),
        ("birth_certificate", 4, "online"),
    ]
    # The comment is encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM ratings_rating WHERE step = %s", ["birth_certificate"])
        (stored,) = cursor.fetchone()
    assert "13912345678" not in stored and "耐心" not in stored
    assert "耐心" in Rating.objects.get(step="birth_certificate").comment

    # A second rating of the whole service is refused, with the step still unrated: nothing.
    again = client.post(
        rate_url(finished),
        {"grade-service": "1", "grade-birth_registration": "5"},
        follow=True,
    ).content.decode()
    assert "整体服务已评价" in again and "只能评价一次" in again
    assert Rating.objects.count() == 2
    assert Rating.objects.get(step="").grade == 5
    assert not FollowUp.objects.exists()
    # The step not yet rated can still be rated on its own.
    client.post(rate_url(finished), {"grade-birth_registration": "3"})
    assert Rating.objects.count() == 3
    page = client.get(rate_url(finished)).content.decode()
    assert "data-all-rated" in page and 'name="grade-service"' not in page
    audit = AuditRecord.objects.filter(stream=finished.number, action="case_rated")
    assert audit.count() == 3


def test_the_database_refuses_two_ratings_of_one_step_and_any_change(finished, mother):
    case_rate(case=finished, actor=mother, given=[Given("", 4)])
    with pytest.raises(RatingRefused) as caught:
        case_rate(case=finished, actor=mother, given=[Given("", 1)])
    assert caught.value.code == "rating_exists"
    with pytest.raises(DatabaseError), transaction.atomic():
        Rating.objects.create(
            case=finished, step="", grade=1, channel="online", rater=mother, at=timezone.now()
        )
    with pytest.raises(DatabaseError), transaction.atomic():
        Rating.objects.filter(case=finished).update(grade=1)
    assert Rating.objects.get().grade == 4


def test_other_parents_and_staff_cannot_rate(finished, mother):
    url = rate_url(finished)
    other = client_for(parent("13900000009"))
    assert other.get(url).status_code == 404
    assert other.post(url, {"grade-service": "1"}).status_code == 404
    clerk = staff(Role.CLERK, kind="hospital", code="qinbei-mch")
    for user in (
        item_officer(finished, "birth_certificate"),
        staff(Role.SUPERVISOR, kind="division", code="45"),
        clerk,
    ):
        response = client_for(user).post(url, {"grade-service": "1"})
        assert response.status_code == 404
    assert not Rating.objects.exists()
    assert (
        AccessRecord.objects.filter(
            case_number=finished.number, what="ratings:rate", granted=False
        ).count()
        == 3
    )
    # A counter rating only by a clerk of the counter that accepted the case (online case).
    assert (
        client_for(clerk)
        .post(f"/counter/cases/{finished.number}/rate/", {"grade-service": "1"})
        .status_code
        == 404
    )
    with pytest.raises(RatingRefused):
        case_rate(
            case=finished, actor=item_officer(finished, "birth_certificate"), given=[Given("", 1)]
        )
    assert not Rating.objects.exists()


def test_staff_cannot_edit_a_rating(finished, mother):
    case_rate(case=finished, actor=mother, given=[Given("birth_certificate", 1, "等了很久")])
    rating = Rating.objects.get()
    admin = staff(Role.ADMIN)
    admin.is_superuser = admin.is_staff = True
    admin.save()
    client = client_for(admin)
    change = f"/admin/ratings/rating/{rating.pk}/change/"
    response = client.post(change, {"grade": "5", "comment": "满意"})
    assert response.status_code == 403
    assert (
        client.post(f"/admin/ratings/rating/{rating.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    rating.refresh_from_db()
    assert (rating.grade, rating.comment) == (1, "等了很久")
    # The responsible officer's page has no way to change it either: a POST is a reply.
    follow_up = FollowUp.objects.get()
    officer_client = client_for(item_officer(finished, "birth_certificate"))
    officer_client.post(f"/work/ratings/{follow_up.pk}/", {"grade": "5", "text": "已核实"})
    rating.refresh_from_db()
    assert rating.grade == 1


def test_the_responsible_officers_get_a_work_message(finished, mother):
    step = row(finished, "birth_registration")
    officers = item_officers(step)
    assert officers and all(u.department == step.department for u in officers)
    case_rate(case=finished, actor=mother, given=[Given("birth_registration", 2)])
    told = StaffMessage.objects.filter(kind="rating")
    assert {m.user for m in told} == set(officers)
    message = told[0]
    assert message.case == finished
    assert "出生登记（户口登记）" in message.body and "“不满意”" in message.body
    inbox = client_for(officers[0]).get("/work/messages/").content.decode()
    assert "【差评整改】" in inbox and "差评整改" in inbox


def test_a_bad_step_rating_runs_to_closure_with_a_re_complaint(finished, mother, beijing):
    at = beijing("2026-11-27T10:00:00+08:00")  # Friday
    case_rate(
        case=finished,
        actor=mother,
        given=[Given("birth_registration", 1, "派出所让我跑了两次"), Given("", 4)],
        now=at,
    )
    follow_up = FollowUp.objects.get()
    item = row(finished, "birth_registration")
    assert (follow_up.department, follow_up.jurisdiction_code) == (
        item.department,
        item.jurisdiction_code,
    )
    # Five working days after Friday 27 Nov: the end of Friday 4 Dec.
    assert follow_up.due_at.astimezone(BEIJING).date().isoformat() == "2026-12-04"
    assert follow_up.status == "open"

    police = item_officer(finished, "birth_registration")
    hospital = item_officer(finished, "birth_certificate")
    work = client_for(police)
    listing = work.get("/work/ratings/").content.decode()
    assert f'data-follow-up="{follow_up.pk}"' in listing and finished.number in listing
    assert (
        f'data-follow-up="{follow_up.pk}"'
        not in client_for(hospital).get("/work/ratings/").content.decode()
    )
    assert (
        client_for(hospital).post(f"/work/ratings/{follow_up.pk}/", {"text": "x"}).status_code
        == 404
    )
    detail = work.get(f"/work/ratings/{follow_up.pk}/").content.decode()
    assert "派出所让我跑了两次" in detail
    assert AccessRecord.objects.filter(actor=police, what="rating_follow_up", granted=True).exists()

    work.post(f"/work/ratings/{follow_up.pk}/", {"text": "已约谈窗口人员，今后一次告知所需材料"})
    follow_up.refresh_from_db()
    assert follow_up.status == "replied"
    sms = list(
        Notification.objects.filter(case=finished, channel="sms", phone_index=mother.phone_index)
        .order_by("-pk")
        .values_list("body", flat=True)
    )
    assert "整改答复" in sms[0] and "出生登记（户口登记）" in sms[0]

    parent_client = client_for(mother)
    page = parent_client.get(rate_url(finished)).content.decode()
    assert "已约谈窗口人员" in page and 'data-action="confirm"' in page
    parent_client.post(
        f"/my/cases/{finished.number}/rate/follow-ups/{follow_up.pk}/",
        {"answer": "recomplain", "text": "还是没有说明要带什么"},
    )
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.round) == ("open", 2)
    again = StaffMessage.objects.get(user=police, kind="rating")
    assert "仍不满意" in again.body and "第2轮" in again.body and finished.number in again.body
    work.post(f"/work/ratings/{follow_up.pk}/", {"text": "已电话联系并当面说明"})
    other = client_for(parent("13900000008"))
    assert (
        other.post(
            f"/my/cases/{finished.number}/rate/follow-ups/{follow_up.pk}/", {"answer": "confirm"}
        ).status_code
        == 404
    )
    parent_client.post(
        f"/my/cases/{finished.number}/rate/follow-ups/{follow_up.pk}/", {"answer": "confirm"}
    )
    follow_up.refresh_from_db()
    assert follow_up.status == "closed" and follow_up.closed_at is not None
    assert list(
        FollowUpEntry.objects.filter(follow_up=follow_up)
        .order_by("pk")
        .values_list("kind", flat=True)
    ) == ["opened", "reply", "recomplained", "reply", "confirmed"]
    actions = list(
        AuditRecord.objects.filter(stream=finished.number, object_type="follow_up")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "follow_up_opened",
        "follow_up_replied",
        "follow_up_reopened",
        "follow_up_replied",
        "follow_up_confirmed",
    ]
    kinds = set(TimelineEntry.objects.filter(case=finished).values_list("kind", flat=True))
    assert {
        "rated",
        "follow_up_opened",
        "follow_up_replied",
        "follow_up_reopened",
        "follow_up_closed",
    } <= kinds
    # A closed follow-up takes no more replies.
    with pytest.raises(RatingRefused):
        from onestop.ratings.services import follow_up_reply

        follow_up_reply(follow_up_id=follow_up.pk, actor=police, text="again")


def test_a_bad_whole_service_rating_goes_to_the_supervisors(finished, mother):
    police = item_officer(finished, "birth_registration")
    near = staff(Role.SUPERVISOR, kind="division", code=finished.division[:4])
    top = staff(Role.SUPERVISOR, kind="division", code=finished.division[:2])
    far = staff(Role.SUPERVISOR, kind="division", code="62")
    case_rate(case=finished, actor=mother, given=[Given("", 2, "各部门之间等太久")])
    follow_up = FollowUp.objects.get()
    assert follow_up.department == ""
    # The nearest supervisors are told by work message; not the officers, not farther up.
    told = StaffMessage.objects.filter(kind="rating")
    assert [m.user for m in told] == [near]
    assert "整体服务" in told[0].body and "不满意" in told[0].body
    assert top not in [m.user for m in told]
    assert client_for(police).get(f"/work/ratings/{follow_up.pk}/").status_code == 404
    assert client_for(far).get(f"/supervise/ratings/{follow_up.pk}/").status_code == 404
    assert (
        f'data-follow-up="{follow_up.pk}"'
        not in client_for(far).get("/supervise/ratings/").content.decode()
    )
    client = client_for(near)
    nav = client.get("/supervise/ratings/").content.decode()
    assert 'class="nav-ratings"' in nav and f'data-follow-up="{follow_up.pk}"' in nav
    client.post(f"/supervise/ratings/{follow_up.pk}/", {"text": "已督促各部门压缩流转时间"})
    follow_up.refresh_from_db()
    assert follow_up.status == "replied"


def test_a_counter_rating_is_recorded_by_the_accepting_counter(finished, mother):
    Case.objects.filter(pk=finished.pk).update(counter_kind="hospital", counter_code="qinbei-mch")
    clerk = staff(Role.CLERK, kind="hospital", code="qinbei-mch")
    client = client_for(clerk)
    page = client.get(f"/counter/cases/{finished.number}/").content.decode()
    assert f"/counter/cases/{finished.number}/rate/" in page
    client.post(
        f"/counter/cases/{finished.number}/rate/",
        {"grade-service": "5", "grade-birth_certificate": "5"},
    )
    assert set(Rating.objects.values_list("channel", "rater")) == {("counter", clerk.pk)}
    # The parents' own page then shows those steps as rated (one rating per case and step).
    mine = (
        client_for(mother)
        .post(rate_url(finished), {"grade-service": "1"}, follow=True)
        .content.decode()
    )
    assert "只能评价一次" in mine and Rating.objects.count() == 2


def test_the_summary_equals_direct_counts_and_overdue_follows_the_due_time(
    finished, mother, beijing
):
    at = beijing("2026-11-27T10:00:00+08:00")
    case_rate(
        case=finished,
        actor=mother,
        given=[Given("", 3), Given("birth_certificate", 1), Given("birth_registration", 2)],
        now=at,
    )
    start, end = beijing("2026-11-01T00:00:00+08:00"), beijing("2026-12-01T00:00:00+08:00")
    before = summary(finished.division[:2], start, end, now=at)
    assert before.total == Rating.objects.count() == 3
    for grade in range(1, 6):
        assert before.grades[grade] == Rating.objects.filter(grade=grade).count()
    assert before.whole_service == {3: 1}
    hospital = row(finished, "birth_certificate").department
    assert before.departments[hospital] == {1: 1}
    assert (before.follow_ups_open, before.follow_ups_overdue, before.bad) == (2, 0, 2)
    later = summary(finished.division[:2], start, end, now=at + timedelta(days=30))
    assert later.follow_ups_overdue == FollowUp.objects.filter(status="open").count() == 2
    assert summary("62", start, end, now=at).total == 0
    assert (
        summary("", beijing("2026-12-01T00:00:00+08:00"), end + timedelta(days=30), now=at).total
        == 0
    )


def test_on_postgresql_a_rating_cannot_be_deleted_either(finished, mother):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the DELETE trigger is PostgreSQL's (SQLite test databases are emptied by DELETE)"
        )
    case_rate(case=finished, actor=mother, given=[Given("", 5)])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ratings_rating")
    assert Rating.objects.count() == 1


def test_supervisors_filter_by_period_and_status_and_see_overdue_ones(
    finished, mother, monkeypatch, settings
):
    settings.RATING_FOLLOW_UP_WORKING_DAYS = 2
    now = timezone.now()
    case_rate(
        case=finished,
        actor=mother,
        given=[Given("birth_certificate", 1), Given("birth_registration", 2)],
        now=now,
    )
    first, second = FollowUp.objects.order_by("pk")
    assert (first.due_at - now) < timedelta(days=7)  # two working days, whatever the week
    police = item_officer(finished, "birth_registration")
    client_for(police).post(f"/work/ratings/{second.pk}/", {"text": "已整改"})
    boss = staff(Role.SUPERVISOR, kind="division", code=finished.division[:2])
    supervisor = client_for(boss)
    today = now.astimezone(BEIJING).date()
    period = f"from={today.isoformat()}&to={(today + timedelta(days=1)).isoformat()}"

    def shown(status: str) -> dict[int, str]:
        page = supervisor.get(f"/supervise/ratings/?{period}&status={status}").content.decode()
        found = {}
        for f in (first, second):
            marker = f'<tr data-follow-up="{f.pk}" data-status="'
            if marker in page:
                found[f.pk] = page.split(marker)[1].split('"')[0]
        return found

    assert shown("all") == {first.pk: "open", second.pk: "replied"}
    assert shown("overdue") == {}
    assert shown("replied") == {second.pk: "replied"}
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(days=20))
    supervisor = client_for(boss)  # a new session (the old one timed out in those 20 days)
    assert shown("overdue") == {first.pk: "overdue"}  # replied ones are not overdue
    assert shown("all") == {first.pk: "overdue", second.pk: "replied"}
    later = (today + timedelta(days=2)).isoformat()
    page = supervisor.get(f"/supervise/ratings/?from={later}&status=all").content.decode()
    assert f'data-follow-up="{first.pk}"' not in page


def test_the_dashboard_panels_equal_direct_counts(finished, mother, beijing):
    """Issue 12 part 4: the supervisors' picture shows ratings and follow-ups; its numbers
    equal counts taken straight from the rating rows, within the supervisor's division."""
    at = beijing("2026-11-27T10:00:00+08:00")
    case_rate(
        case=finished,
        actor=mother,
        given=[Given("", 5), Given("birth_certificate", 1), Given("birth_registration", 2)],
        now=at,
    )
    client = Client()
    client.force_login(staff("supervisor", kind="division", code=finished.division[:4]))
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    answer = client.get("/supervise/dashboards/export/ratings.csv", period)
    assert answer.status_code == 200
    rows = [line.split(",") for line in answer.content.decode("utf-8-sig").splitlines()]
    total = next(r for r in rows[1:] if r[0] == "合计")
    by_grade = [Rating.objects.filter(grade=g).count() for g in (5, 4, 3, 2, 1)]
    assert [int(x) for x in total[1:]] == [*by_grade, Rating.objects.count()] == [
        1, 0, 0, 1, 1, 3
    ]  # fmt: skip
    assert any(r[0] == "整体服务" and r[1] == "1" for r in rows)
    follow = client.get("/supervise/dashboards/export/follow-ups.csv", period)
    lines = dict(
        line.split(",", 1)
        for line in follow.content.decode("utf-8-sig").splitlines()
        if line.count(",") == 1
    )
    assert int(lines["待答复（未超期）"]) == FollowUp.objects.filter(status="open").count() == 2
    page = client.get("/supervise/dashboards/", period).content.decode()
    assert "好差评" in page and "差评整改" in page
    # Another region's supervisor sees none of these ratings.
    other = Client()
    other.force_login(staff("supervisor", kind="division", code="22"))
    elsewhere = other.get("/supervise/dashboards/export/ratings.csv", period)
    assert "合计,0,0,0,0,0,0" in elsewhere.content.decode("utf-8-sig")


def test_an_overdue_follow_up_is_told_once_per_round(finished, mother, beijing):
    """A bad rating's follow-up past its due time: the job tells the step's officers and the
    nearest supervisors once (work messages); a second run sends nothing more."""
    from onestop.ratings.overdue import follow_ups_overdue_notify

    at = beijing("2026-11-27T10:00:00+08:00")
    case_rate(case=finished, actor=mother, given=[Given("birth_certificate", 1)], now=at)
    follow_up = FollowUp.objects.get()
    chief = staff("supervisor", kind="division", code=finished.division[:4])
    assert follow_ups_overdue_notify(now=follow_up.due_at - timedelta(hours=1)) == {"notified": 0}
    late = follow_up.due_at + timedelta(hours=1)
    assert follow_ups_overdue_notify(now=late) == {"notified": 1}
    assert follow_ups_overdue_notify(now=late + timedelta(days=1)) == {"notified": 0}
    told = StaffMessage.objects.filter(body__contains="差评整改超期")
    bmc = row(finished, "birth_certificate")
    officers = {u.pk for u in item_officers(bmc)}
    assert officers and set(told.values_list("user_id", flat=True)) == officers | {chief.pk}
    assert all(finished.number in m.body for m in told)


def _follow_up_csv(client: Client, period: dict[str, str]) -> dict[str, int]:
    answer = client.get("/supervise/dashboards/export/follow-ups.csv", period)
    assert answer.status_code == 200
    return {
        k: int(v)
        for k, v in (
            line.split(",", 1)
            for line in answer.content.decode("utf-8-sig").splitlines()
            if line.count(",") == 1 and not line.startswith("差评整改,")
        )
    }


def _ratings_total(client: Client, period: dict[str, str]) -> list[int]:
    answer = client.get("/supervise/dashboards/export/ratings.csv", period)
    rows = [line.split(",") for line in answer.content.decode("utf-8-sig").splitlines()]
    return [int(x) for x in next(r for r in rows[1:] if r[0] == "合计")[1:]]


def _direct_follow_ups() -> dict[str, int]:
    return {
        "超期未答复": 0,
        "待答复（未超期）": FollowUp.objects.filter(status="open").count(),
        "已答复待确认": FollowUp.objects.filter(status="replied").count(),
        "申请人确认办结": FollowUp.objects.filter(status="closed", closed_how="confirmed").count(),
        "逾期未确认视为认可": FollowUp.objects.filter(
            status="closed", closed_how="silence"
        ).count(),
        "合计": FollowUp.objects.count(),
    }


def test_the_panels_read_the_daily_roll_up_and_a_stale_day_is_redone(finished, mother, beijing):
    """Issue 12: "The numbers come from roll-ups kept up to date, not from scanning every
    row, and equal counts computed directly from the database in the tests." The ratings
    of a rolled-up day are read from ``RatingDay``; a follow-up that changes state marks
    its day stale in the same transaction (counted from the rows until the job rolls it
    up again); every time the panels equal direct counts."""
    from onestop.ratings.models import RatingDay
    from onestop.ratings.rollups import ratings_rollup

    at = beijing("2026-11-27T10:00:00+08:00")
    case_rate(
        case=finished,
        actor=mother,
        given=[Given("", 4), Given("birth_certificate", 1), Given("birth_registration", 2)],
        now=at,
    )
    client = client_for(staff("supervisor", kind="division", code=finished.division[:4]))
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    direct = [*(Rating.objects.filter(grade=g).count() for g in (5, 4, 3, 2, 1))]
    assert _ratings_total(client, period) == [*direct, 3] == [0, 1, 0, 1, 1, 3]
    assert _follow_up_csv(client, period) == _direct_follow_ups()

    # The job rolls the day up once; a second run does nothing.
    assert ratings_rollup(now=at + timedelta(days=1))["days"] >= 1
    assert ratings_rollup(now=at + timedelta(days=1)) == {"days": 0, "rows": 0}
    marker = RatingDay.objects.get(day=at.date(), grade=0)
    assert not marker.stale
    rolled = RatingDay.objects.filter(day=at.date(), grade__gt=0)
    assert sum(r.ratings for r in rolled) == Rating.objects.count()
    assert _ratings_total(client, period) == [*direct, 3]
    assert _follow_up_csv(client, period) == _direct_follow_ups()
    # The panels read the roll-up rows, not the ratings: a roll-up row changed by hand
    # shows (and is put back) once the month's kept figures are gone (they are kept under
    # its markers, which a hand edit does not change).
    one = rolled.get(whole=True)
    RatingDay.objects.filter(pk=one.pk).update(ratings=one.ratings + 10)
    cache.clear()
    assert _ratings_total(client, period)[-1] == 13
    RatingDay.objects.filter(pk=one.pk).update(ratings=one.ratings)
    cache.clear()

    # The department replies: the day is stale at once and counted from the rows.
    follow_up = FollowUp.objects.get(rating__step="birth_registration")
    police = item_officer(finished, "birth_registration")
    assert (
        client_for(police).post(f"/work/ratings/{follow_up.pk}/", {"text": "已整改"}).status_code
        == 302
    )
    marker.refresh_from_db()
    assert marker.stale
    counted = _follow_up_csv(client, period)
    assert counted == _direct_follow_ups() and counted["已答复待确认"] == 1
    # The job redoes the stale day: the same numbers, from the roll-up again.
    assert ratings_rollup(now=timezone.now() + timedelta(days=2))["days"] >= 1
    marker = RatingDay.objects.get(day=at.date(), grade=0)
    assert not marker.stale
    assert sum(r.follow_ups_replied for r in RatingDay.objects.filter(day=at.date())) == 1
    assert _follow_up_csv(client, period) == _direct_follow_ups()
    assert _ratings_total(client, period) == [*direct, 3]


# --- the 12345 hotline rates too (issue 12 gap 2) -------------------------------------------


def _operator(code: str):
    return staff(Role.OPERATOR, kind="division", code=code)


def _lookup(client: Client, number: str, answer: str):
    return client.post("/hotline/lookup/", {"number": number, "method": "phone4", "answer": answer})


def _hotline_rate_url(case: Case) -> str:
    return f"/hotline/cases/{case.number}/rate/"


def test_the_operator_cannot_rate_without_a_verified_caller_for_that_case(finished, mother):
    """国办发〔2019〕51号: hotlines are rated too — but the operator records a rating only for
    a caller verified in this session for this very case (403, stable code, nothing
    recorded otherwise)."""
    operator = _operator(finished.division[:4])
    client = client_for(operator)
    grades = {"grade-service": "1", "comment-service": "电话打不通"}
    # No lookup at all.
    for answer in (
        client.get(_hotline_rate_url(finished)),
        client.post(_hotline_rate_url(finished), grades),
    ):
        assert answer.status_code == 403
        assert 'data-code="hotline_not_verified"' in answer.content.decode()
    # A wrong answer does not verify.
    assert _lookup(client, finished.number, "1234").status_code == 403
    answer = client.post(_hotline_rate_url(finished), grades)
    assert answer.status_code == 403 and Rating.objects.count() == 0
    # Staff who are not operators, and parents, are refused too.
    clerk = staff(Role.SUPERVISOR, kind="division", code=finished.division[:4])
    for other in (clerk, mother):
        refused = client_for(other).post(_hotline_rate_url(finished), grades)
        assert refused.status_code == 403
        assert 'data-code="hotline_operator_only"' in refused.content.decode()
    # Verified in another operator's session only: this one still cannot.
    colleague = client_for(_operator(finished.division[:4]))
    assert _lookup(colleague, finished.number, "0000").status_code == 200
    assert client.post(_hotline_rate_url(finished), grades).status_code == 403
    assert Rating.objects.count() == 0 and FollowUp.objects.count() == 0
    assert AccessRecord.objects.filter(
        actor=operator, what="hotline_rating:hotline_not_verified", granted=False
    ).exists()


def test_a_verified_caller_rates_through_the_operator_and_a_bad_grade_is_followed_up(
    finished, mother
):
    operator = _operator(finished.division[:4])
    client = client_for(operator)
    page = _lookup(client, finished.number, "0000").content.decode()
    assert f'href="/hotline/cases/{finished.number}/rate/"' in page
    form = client.get(_hotline_rate_url(finished))
    assert form.status_code == 200 and "12345热线评价" in form.content.decode()
    answer = client.post(
        _hotline_rate_url(finished),
        {
            "grade-service": "4",
            "grade-birth_certificate": "1",
            "comment-birth_certificate": "排队太久",
        },
    )
    assert answer.status_code == 302
    rows = {r.step: r for r in Rating.objects.all()}
    assert set(rows) == {"", "birth_certificate"}
    assert {r.channel for r in rows.values()} == {"hotline"}
    assert {r.rater_id for r in rows.values()} == {operator.pk}
    assert rows["birth_certificate"].comment == "排队太久"
    follow_up = FollowUp.objects.get()
    assert follow_up.rating == rows["birth_certificate"] and follow_up.status == "open"
    audit = AuditRecord.objects.filter(stream=finished.number, action="case_rated")
    assert {a.detail["channel"] for a in audit} == {"hotline"} and audit.count() == 2
    assert any("12345热线" in t.message for t in TimelineEntry.objects.filter(case=finished))
    # One rating per case and step, whichever channel: the parent cannot rate it again.
    again = client_for(mother).post(rate_url(finished), {"grade-service": "5"}, follow=True)
    assert "只能评价一次" in again.content.decode()
    assert Rating.objects.count() == 2 and Rating.objects.get(step="").grade == 4
    # The channel panel shows the hotline.
    boss = client_for(staff("supervisor", kind="division", code=finished.division[:4]))
    today = timezone.now().astimezone(BEIJING).date()
    period = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    csv = boss.get("/supervise/dashboards/export/ratings-channel.csv", period)
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert any(line == "12345热线,0,1,0,0,1,2" for line in lines), lines


def test_a_locked_case_number_cannot_be_rated_even_after_a_verified_lookup(finished, settings):
    settings.HOTLINE_LOOKUP_FAILURE_LIMIT = 2
    operator = _operator(finished.division[:4])
    client = client_for(operator)
    assert _lookup(client, finished.number, "0000").status_code == 200
    prankster = client_for(_operator(finished.division[:4]))
    for _ in range(2):
        _lookup(prankster, finished.number, "9999")
    answer = client.post(_hotline_rate_url(finished), {"grade-service": "5"})
    assert answer.status_code == 403 and 'data-code="hotline_locked"' in answer.content.decode()
    assert Rating.objects.count() == 0


# --- a reply the parent leaves unanswered (issue 12 gap 3) -----------------------------------


def _replied(finished, mother, beijing):
    from onestop.ratings.services import follow_up_reply

    at = beijing("2026-11-27T10:00:00+08:00")  # a Friday
    case_rate(case=finished, actor=mother, given=[Given("birth_registration", 1)], now=at)
    follow_up = FollowUp.objects.get()
    replied_at = beijing("2026-11-30T10:00:00+08:00")  # the Monday after
    follow_up_reply(
        follow_up_id=follow_up.pk,
        actor=item_officer(finished, "birth_registration"),
        text="已约谈窗口人员并整改",
        now=replied_at,
    )
    return follow_up, replied_at


def test_a_reply_left_unanswered_closes_after_the_working_days_exactly_once(
    finished, mother, beijing
):
    """Issue 12 gap 3 (国办发〔2019〕51号: every bad rating is answered and closed): the
    parent neither confirms nor complains again within RATING_CONFIRM_WORKING_DAYS (5)
    working days of the reply — the job closes it as 逾期未确认，视为认可, with a timeline
    line, an audit record and a message to the parents; a second run does nothing."""
    from onestop.ops.schedule import SCHEDULE
    from onestop.ratings.services import silence_deadline
    from onestop.ratings.silence import follow_ups_silence_close

    jobs = {job.name: job for job in SCHEDULE}
    assert jobs["follow_ups_silence"].every == jobs["ratings_rollup"].every == timedelta(hours=1)
    follow_up, replied_at = _replied(finished, mother, beijing)
    deadline = silence_deadline(replied_at)
    # 5 working days on the calendar, standard clock rule: to the end of the next Monday.
    assert deadline == beijing("2026-12-07T23:59:59+08:00")
    assert follow_ups_silence_close(now=deadline - timedelta(hours=1)) == {"closed": 0}
    assert FollowUp.objects.get().status == "replied"
    assert follow_ups_silence_close(now=deadline + timedelta(hours=1)) == {"closed": 1}
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.closed_how) == ("closed", "silence")
    assert follow_up.closed_at == deadline + timedelta(hours=1)
    assert follow_ups_silence_close(now=deadline + timedelta(days=3)) == {"closed": 0}
    assert FollowUpEntry.objects.filter(follow_up=follow_up, kind="closed_silence").count() == 1
    audit = AuditRecord.objects.filter(stream=finished.number, action="follow_up_closed_silence")
    assert audit.count() == 1 and audit.get().detail["working_days"] == 5
    lines = [t.message for t in TimelineEntry.objects.filter(case=finished)]
    assert sum("逾期未确认，视为认可" in line for line in lines) == 1
    told = [n for n in Notification.objects.filter(case=finished) if "视为认可" in n.body]
    assert {n.channel for n in told} == {"sms", "in_app"}
    assert [n.phone_index for n in told if n.channel == "sms"] == [mother.phone_index]
    # The parent can no longer confirm or complain about a closed follow-up.
    answer = client_for(mother).post(
        f"/my/cases/{finished.number}/rate/follow-ups/{follow_up.pk}/", {"answer": "confirm"}
    )
    assert answer.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.closed_how == "silence"
    # Supervisors see how each closed, and the panel counts it apart.
    boss = client_for(staff("supervisor", kind="division", code=finished.division[:4]))
    page = boss.get("/supervise/ratings/?from=2026-11-01&to=2026-11-30&status=closed")
    assert 'data-closed-how="silence"' in page.content.decode()
    assert "逾期未确认，视为认可" in page.content.decode()
    counted = _follow_up_csv(boss, {"from": "2026-11-01", "to": "2026-11-30"})
    assert counted == _direct_follow_ups() and counted["逾期未确认视为认可"] == 1


def test_a_re_complaint_wins_over_the_silence_job(finished, mother, beijing):
    """The job reads the follow-up again under the case's row lock: a re-complaint that came
    first (even after the job listed it) leaves it open; the next reply starts a new
    period."""
    from onestop.ratings.services import (
        follow_up_close_after_silence,
        follow_up_recomplain,
        follow_up_reply,
        silence_deadline,
    )
    from onestop.ratings.silence import follow_ups_silence_close

    follow_up, replied_at = _replied(finished, mother, beijing)
    deadline = silence_deadline(replied_at)
    follow_up_recomplain(
        follow_up_id=follow_up.pk, parent=mother, text="还是没有解决", now=deadline
    )
    # The job had listed it before the re-complaint: under the lock it sees it open.
    assert follow_up_close_after_silence(follow_up_id=follow_up.pk, now=deadline) is False
    assert follow_ups_silence_close(now=deadline + timedelta(days=1)) == {"closed": 0}
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.round, follow_up.closed_how) == ("open", 2, "")
    second = deadline + timedelta(days=1)
    follow_up_reply(
        follow_up_id=follow_up.pk,
        actor=item_officer(finished, "birth_registration"),
        text="再次整改",
        now=second,
    )
    assert follow_ups_silence_close(now=deadline + timedelta(days=3)) == {"closed": 0}
    assert follow_ups_silence_close(now=silence_deadline(second)) == {"closed": 1}
    assert FollowUp.objects.get().closed_how == "silence"


# --- the scale generator writes ratings (issue 12 gap 4) -------------------------------------


def test_gen_cases_adds_ratings_to_a_generated_database_idempotently(finished, beijing):
    """``onestop gen-cases`` (and ``--ratings-only`` on a database generated before) adds
    ratings to a deterministic share of the completed cases with set-based SQL: the whole
    service and some steps, grades mostly 5/4 with a few bad ones, each bad one with its
    follow-up; run again it adds nothing; the roll-up job then gives the same numbers as
    direct counts."""
    if connection.vendor != "postgresql":
        pytest.skip("the generator writes PostgreSQL SQL (md5 hashes, ON CONFLICT, COPY)")
    from onestop.ops.gencases import generate_ratings
    from onestop.ratings.models import RatingDay
    from onestop.ratings.rollups import ratings_rollup

    # A few hundred completed cases: copies of the one worked through the product.
    base = timezone.now() - timedelta(days=20)
    items = list(CaseItem.objects.filter(case=finished))
    copies = []
    for n in range(300):
        copy = Case.objects.get(pk=finished.pk)
        copy.pk = None
        copy.number = f"{finished.number}-{n}"
        copy.idempotency_key = None
        copy.completed_at = base + timedelta(hours=n)
        copies.append(copy)
    made_cases = Case.objects.bulk_create(copies)
    rows = []
    for case in made_cases:
        for item in items:
            item.pk = None
            item.case = case
            rows.append(
                CaseItem(
                    **{f.attname: getattr(item, f.attname) for f in CaseItem._meta.concrete_fields}
                )
            )
    CaseItem.objects.bulk_create(rows)
    now = timezone.now()
    made = generate_ratings(connection, now=now, commit=False, chunk=97)
    completed = Case.objects.filter(status="completed").count()
    rated = Rating.objects.values("case_id").distinct().count()
    assert made["ratings"] == Rating.objects.count() > rated
    assert 0.25 * completed < rated < 0.45 * completed  # 35 % of the completed cases
    assert Rating.objects.filter(step="").count() == rated  # the whole service each time
    assert set(Rating.objects.exclude(step="").values_list("step", flat=True)) <= set(STEPS)
    assert set(Rating.objects.values_list("channel", flat=True)) <= {"online", "counter", "hotline"}
    good = Rating.objects.filter(grade__gte=4).count()
    assert good > 0.8 * Rating.objects.count()
    bad = Rating.objects.filter(grade__lte=2)
    assert FollowUp.objects.count() == bad.count() == made["follow_ups"] > 0
    assert not FollowUp.objects.exclude(rating__grade__lte=2).exists()
    assert all(r.comment == "" for r in Rating.objects.all()[:20])  # a real empty ciphertext
    assert FollowUpEntry.objects.filter(kind="opened").count() == FollowUp.objects.count()
    assert all(r.at <= now for r in Rating.objects.all())
    # Every day with ratings is to be rolled up by the job.
    assert RatingDay.objects.filter(grade=0, stale=True).exists()
    # Run again (resumed, or from the start): nothing more.
    again = generate_ratings(connection, now=now, commit=False)
    assert again["ratings"] == 0
    with connection.cursor() as cursor:
        cursor.execute("UPDATE onestop_genratings SET last_case_id = 0, finished = false")
    assert generate_ratings(connection, now=now, commit=False)["ratings"] == 0
    assert Rating.objects.count() == made["ratings"]
    # The job rolls the generated days up; the summary equals direct counts.
    while ratings_rollup(now=now)["days"]:
        pass
    assert not RatingDay.objects.filter(grade=0, stale=True).exists()
    found = summary("", base - timedelta(days=1), now)
    assert found.total == Rating.objects.filter(at__lt=now).count()
    for grade in range(1, 6):
        assert found.grades[grade] == Rating.objects.filter(grade=grade).count()
    assert found.channels.get("hotline", {}) and sum(found.channels["hotline"].values()) == (
        Rating.objects.filter(channel="hotline").count()
    )
    assert found.follow_ups_closed == FollowUp.objects.filter(status="closed").count()
    assert found.follow_ups_closed_silent == FollowUp.objects.filter(closed_how="silence").count()


# --- what a rating and its follow-up cost the database -----------------------------------
# Each locks its case with the one case lock (`cases.services.case_locked`), which reads
# the audit stream's last record in the same statement: the records follow it without a
# read of the chain of their own (issue 10, session 24). Real transactions: the test's
# own would keep the last record the setup wrote known. Budgets: statements measured on
# SQLite and PostgreSQL (the larger), one fewer each than before the case lock.
RATING_BUDGET = 25
REPLY_BUDGET = 16
CONFIRM_BUDGET = 13


@pytest.mark.django_db(transaction=True)
def test_a_rating_and_its_follow_up_read_no_chain_of_their_own(
    finished, mother, beijing, django_assert_max_num_queries
):
    from onestop.ratings.services import follow_up_confirm, follow_up_reply

    at = beijing("2026-11-27T10:00:00+08:00")
    given = [Given("birth_registration", 1, "派出所让我跑了两次")]
    with django_assert_max_num_queries(RATING_BUDGET) as queries:
        case_rate(case=finished, actor=mother, given=given, now=at)
    assert audit_chain_reads(queries.captured_queries) == 0
    follow_up = FollowUp.objects.get()
    police = item_officer(finished, "birth_registration")
    with django_assert_max_num_queries(REPLY_BUDGET) as queries:
        follow_up_reply(follow_up_id=follow_up.pk, actor=police, text="已约谈窗口人员", now=at)
    assert audit_chain_reads(queries.captured_queries) == 0
    with django_assert_max_num_queries(CONFIRM_BUDGET) as queries:
        follow_up_confirm(follow_up_id=follow_up.pk, parent=mother, now=at)
    assert audit_chain_reads(queries.captured_queries) == 0
    assert FollowUp.objects.get().status == "closed"
    assert verify_chain(finished.number) == []
